// Package natstest runs a real 3-node NATS cluster for tests and the benchmark.
//
// Each node has JetStream and the MQTT listener on free loopback ports,
// configured from the text docs/nats recommends; nodes can be killed
// (SIGKILL) and restarted. Start is for tests, New for a program.
package natstest

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Size is the number of nodes: the smallest cluster where JetStream's
// replicas 3 keep a quorum with one node down.
const Size = 3

// Cluster is three nodes routed to each other.
type Cluster struct {
	Nodes [Size]*Server
}

// Server is one node's process (and its restarts).
type Server struct {
	// Immutable.
	Name    string
	MQTTURL string // tcp://127.0.0.1:PORT, for MQTT 3.1.1 clients
	NATSURL string // nats://127.0.0.1:PORT
	HTTP    string // 127.0.0.1:PORT, the monitoring endpoint
	bin     string
	conf    string
	mqtt    string
	t       testing.TB // the test that started it; nil for New's clusters

	cluster *Cluster // the nodes it is routed to, itself included
	logf    func(string, ...any)

	mu sync.Mutex
	// Guarded by mu.
	cmd     *exec.Cmd
	started time.Time // when cmd was started
	probes  int       // MQTT probes made, for their client ids
	// firstConf, when set, is the configuration of the next start only
	// (a test's fault, see faultConf).
	firstConf string
}

// Pinned is the nats-server the tests want when the system's is too old;
// .ci/test installs it with `go install` into GOPATH/bin.
const Pinned = "github.com/nats-io/nats-server/v2@v2.10.24"

// MinVersion is the oldest nats-server whose MQTT listener takes the
// contract's topics: before 2.10 (nats-server#4243, merged June 2023) a '.'
// in a topic, as in every event type (events/attendance.punch), made the
// server drop the publisher's connection. Debian bookworm ships 2.9.10.
var MinVersion = [3]int{2, 10, 0}

// Binary finds a nats-server of MinVersion or later (Find). Outside CI a
// missing one skips the test; under CI=true it fails it, so a missing
// install step cannot pass unnoticed.
func Binary(t testing.TB) string {
	t.Helper()
	path, err := Find()
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(err.Error() + ": backbone tests cannot run")
	}
	t.Skip(err.Error())
	return ""
}

// Find returns a nats-server of MinVersion or later: on PATH, then in
// GOPATH/bin (where .ci/test installs Pinned), then the system's.
func Find() (string, error) {
	cands := []string{"nats-server"}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, p := range filepath.SplitList(strings.TrimSpace(string(out))) {
			cands = append(cands, filepath.Join(p, "bin", "nats-server"))
		}
	}
	cands = append(cands, "/usr/local/bin/nats-server", "/usr/sbin/nats-server")
	var old []string
	for _, c := range cands {
		path, err := exec.LookPath(c)
		if err != nil {
			continue
		}
		v, err := version(path)
		if err != nil {
			old = append(old, fmt.Sprintf("%s: %v", path, err))
			continue
		}
		if !less(v, MinVersion) {
			return path, nil
		}
		old = append(old, fmt.Sprintf("%s is v%d.%d.%d", path, v[0], v[1], v[2]))
	}
	why := "nats-server is not installed"
	if len(old) > 0 {
		why = fmt.Sprintf("no nats-server v%d.%d or later (%s): older ones reject the contract's topics", MinVersion[0], MinVersion[1], strings.Join(old, "; "))
	}
	return "", errors.New(why + " (go install " + Pinned + ")")
}

// version runs `nats-server --version` ("nats-server: v2.9.10").
func version(path string) ([3]int, error) {
	var v [3]int
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return v, fmt.Errorf("--version: %w", err)
	}
	s := strings.TrimSpace(string(out))
	if i := strings.LastIndex(s, "v"); i >= 0 {
		s = s[i+1:]
	}
	if _, err := fmt.Sscanf(s, "%d.%d.%d", &v[0], &v[1], &v[2]); err != nil {
		return v, fmt.Errorf("version %q: %w", out, err)
	}
	return v, nil
}

func less(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// Start runs a cluster for the test's lifetime and returns once every node
// reports itself healthy (JetStream current with the cluster's meta leader),
// the meta leader counts all three as current peers, and every node takes
// an MQTT session. A node the leader does not hear although it follows it
// (nats-server 2.10's start-up race, member.go) is restarted, and so are two
// such nodes, which leave no meta leader at all. A cluster that
// does not form in time (a port taken between choosing it and binding it, a
// starved machine) is killed and started afresh on new ports, twice at most.
func Start(t testing.TB) *Cluster {
	t.Helper()
	bin := Binary(t)
	c, err := launch(bin, t.TempDir(), &Opts{}, t.Logf)
	if err != nil {
		t.Fatalf("natstest: no cluster: %v", err)
	}
	for _, s := range c.Nodes {
		s.t, s.logf = t, t.Logf
		t.Cleanup(s.Stop)
		t.Cleanup(s.dumpLogOnFailure)
	}
	return c
}

// Opts configure New; the zero value is the test harness's settings.
type Opts struct {
	// MaxFileStore is each node's JetStream disk cap; default 1GB.
	MaxFileStore string
	// MaxAckPending bounds the QoS 1 messages in flight to one MQTT
	// subscriber; default 1 (Start's: the tests check the gateways' order
	// on MQTT subscribers, and NATS sends a redelivered message after
	// later ones). docs/nats recommends 1024.
	MaxAckPending int
}

// New runs a cluster for a program (the benchmark) in dir, as Start does
// for a test; Close stops it. Each node's log is in dir, beside its
// configuration.
func New(dir string, o *Opts) (*Cluster, error) {
	bin, err := Find()
	if err != nil {
		return nil, err
	}
	if o == nil {
		o = &Opts{}
	}
	return launch(bin, dir, o, func(string, ...any) {})
}

// Close stops every node gracefully.
func (c *Cluster) Close() {
	for _, s := range c.Nodes {
		s.Stop()
	}
}

func launch(bin, dir string, o *Opts, logf func(string, ...any)) (*Cluster, error) {
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		var c *Cluster
		if c, err = startOnce(bin, filepath.Join(dir, fmt.Sprintf("try%d", attempt)), o, logf); err == nil {
			return c, nil
		}
		logf("natstest: cluster attempt %d: %v", attempt, err)
	}
	return nil, err
}

func startOnce(bin, dir string, o *Opts, logf func(string, ...any)) (*Cluster, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	maxStore, maxAck := cmp.Or(o.MaxFileStore, "1GB"), cmp.Or(o.MaxAckPending, 1)
	// A name of this cluster's own (Node.ClusterName says why).
	clusterName := fmt.Sprintf("%s-%016x", ClusterName, rand.Uint64())
	var routes []string
	nodes := make([]Node, Size)
	// Every port is held until all are chosen: a port closed at once may
	// be handed out again for the next, and a node given the same port
	// twice dies at start ("address already in use").
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for i := range nodes {
		var a [4]string
		for k := range a {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return nil, fmt.Errorf("natstest: no free loopback port: %w", err)
			}
			held = append(held, l)
			a[k] = l.Addr().String()
		}
		nodes[i] = Node{
			Name:          fmt.Sprintf("n%d", i+1),
			Client:        a[0],
			Cluster:       a[1],
			MQTT:          a[2],
			HTTP:          a[3],
			StoreDir:      filepath.Join(dir, fmt.Sprintf("n%d", i+1), "jetstream"),
			MaxFileStore:  maxStore,
			MaxAckPending: maxAck,
			ClusterName:   clusterName,
		}
		routes = append(routes, nodes[i].Cluster)
	}
	for _, l := range held {
		l.Close()
	}
	held = nil
	c := &Cluster{}
	for i, n := range nodes {
		n.Routes = routes
		conf := filepath.Join(dir, n.Name+".conf")
		text := Render(n)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			return nil, err
		}
		c.Nodes[i] = &Server{Name: n.Name, MQTTURL: "tcp://" + n.MQTT, NATSURL: "nats://" + n.Client,
			HTTP: n.HTTP, bin: bin, conf: conf, mqtt: n.MQTT, cluster: c, logf: logf}
		if faultConf != nil {
			if f := faultConf(n.Name, text); f != "" {
				c.Nodes[i].firstConf = strings.TrimSuffix(conf, ".conf") + "-fault.conf"
				if err := os.WriteFile(c.Nodes[i].firstConf, []byte(f), 0o600); err != nil {
					return nil, err
				}
			}
		}
	}
	// The MQTT listener creates its streams with replicas 3 on a node's
	// first session: that fails ("no suitable peers") until the meta
	// leader counts every node as a current peer, so no session before
	// that (awaitMember, which also restarts a node whose raft messages
	// are lost).
	deadline := time.Now().Add(60 * time.Second)
	err := func() error {
		for _, s := range c.Nodes {
			if err := s.start(); err != nil {
				return err
			}
		}
		if err := c.awaitHealthy(deadline); err != nil {
			return err
		}
		for _, s := range c.Nodes {
			if err := s.awaitMember(deadline); err != nil {
				return err
			}
		}
		if err := c.awaitMetaSize(deadline); err != nil {
			return err
		}
		for _, s := range c.Nodes {
			if err := s.await("MQTT", deadline, s.probeMQTT); err != nil {
				return err
			}
		}
		return nil
	}()
	if err != nil {
		for _, s := range c.Nodes {
			s.Kill()
			s.logTail(logf, 2<<10)
		}
		return nil, err
	}
	return c, nil
}

// MQTTURLs are the nodes' MQTT URLs, in node order.
// JetStream connects to the node's NATS port and returns JetStream's API
// on that connection, which closes when tb ends.
func (s *Server) JetStream(tb testing.TB) jetstream.JetStream {
	tb.Helper()
	nc, err := nats.Connect(s.NATSURL)
	if err != nil {
		tb.Fatalf("natstest: connect to %s: %v", s.Name, err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatalf("natstest: JetStream on %s: %v", s.Name, err)
	}
	return js
}

func (c *Cluster) MQTTURLs() []string {
	var u []string
	for _, s := range c.Nodes {
		u = append(u, s.MQTTURL)
	}
	return u
}

// NATSURLs are the nodes' NATS client URLs, in node order.
func (c *Cluster) NATSURLs() []string {
	var u []string
	for _, s := range c.Nodes {
		u = append(u, s.NATSURL)
	}
	return u
}

// Node returns the server whose MQTT URL is url, or nil.
func (c *Cluster) Node(mqttURL string) *Server {
	for _, s := range c.Nodes {
		if s.MQTTURL == mqttURL {
			return s
		}
	}
	return nil
}

func (s *Server) start() error {
	s.mu.Lock()
	conf := s.conf
	if s.firstConf != "" {
		conf, s.firstConf = s.firstConf, ""
	}
	s.mu.Unlock()
	cmd := exec.Command(s.bin, "-c", conf)
	// The server's log goes to a file beside its configuration, shown when
	// the test fails (a cluster logs too much to print every run).
	logf, err := os.OpenFile(strings.TrimSuffix(s.conf, ".conf")+".log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	// The node dies with the process that started it, even one that
	// cannot run its cleanups (a test binary killed at its -timeout): no
	// node outlives it holding ports and a store.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start nats-server %s: %w", s.Name, err)
	}
	s.mu.Lock()
	s.cmd, s.started = cmd, started
	s.mu.Unlock()
	return nil
}

// awaitReady waits until the node is healthy, the meta leader hears it,
// and its MQTT listener takes a session: /healthz can pass before the MQTT
// listener's own streams exist, and a client connecting then is refused.
func (s *Server) awaitReady() error {
	deadline := time.Now().Add(90 * time.Second) // a node catching up on a loaded CI machine
	if err := s.awaitHealthy(deadline); err != nil {
		return err
	}
	if err := s.awaitMember(deadline); err != nil {
		return err
	}
	return s.await("MQTT", deadline, s.probeMQTT)
}

// awaitHealthy waits until /healthz answers OK: JetStream current with the
// cluster's meta leader.
func (s *Server) awaitHealthy(deadline time.Time) error {
	client := &http.Client{Timeout: time.Second}
	return s.await("healthz", deadline, func() error { return s.health(client) })
}

func (s *Server) await(what string, deadline time.Time, ready func() error) error {
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nats-server %s not ready (%s): %w", s.Name, what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// probeMQTT opens and closes a clean MQTT 3.1.1 session.
func (s *Server) probeMQTT() error {
	c, err := net.DialTimeout("tcp", s.mqtt, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	// CONNECT [MQTT-3.1]: protocol "MQTT" level 4, clean session, keep
	// alive 10 s. Every probe has its own client id: the cluster tracks
	// ids across nodes, and a probe reusing the last one's id while its
	// session is being removed is refused.
	s.mu.Lock()
	s.probes++
	id := fmt.Sprintf("natstest-probe-%s-%d", s.Name, s.probes)
	s.mu.Unlock()
	pkt := []byte{0x10, byte(10 + 2 + len(id)), 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 10, 0, byte(len(id))}
	if _, err := c.Write(append(pkt, id...)); err != nil {
		return fmt.Errorf("mqtt probe: %w", err)
	}
	ack := make([]byte, 4)
	if _, err := io.ReadFull(c, ack); err != nil {
		return fmt.Errorf("mqtt probe: CONNACK: %w", err)
	}
	if ack[0] != 0x20 || ack[3] != 0 {
		return fmt.Errorf("mqtt probe: CONNACK % x", ack)
	}
	c.Write([]byte{0xE0, 0}) // DISCONNECT
	return nil
}

func (s *Server) health(client *http.Client) error {
	resp, err := client.Get("http://" + s.HTTP + "/healthz")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/healthz: %s: %s", resp.Status, body)
	}
	return nil
}

func (s *Server) dumpLogOnFailure() {
	if s.t.Failed() {
		s.logTail(s.t.Logf, 8<<10)
	}
}

// logTail logs the last n bytes of the node's log.
func (s *Server) logTail(logf func(string, ...any), n int) {
	b, err := os.ReadFile(strings.TrimSuffix(s.conf, ".conf") + ".log")
	if err != nil {
		return
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	logf("nats-server %s log (tail):\n%s", s.Name, b)
}

// Pid is the running node's process id; 0 when it is stopped.
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Kill stops the node with SIGKILL: no clean disconnects, nothing flushed.
func (s *Server) Kill() { s.signal(syscall.SIGKILL) }

// Stop stops the node gracefully (SIGTERM).
func (s *Server) Stop() { s.signal(syscall.SIGTERM) }

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(sig)
	cmd.Wait()
}

// Restart starts a killed or stopped node of Start's cluster again with
// its store directory and ports, and waits until it is healthy (caught up
// with the cluster), the meta leader hears the new process (a process it
// does not hear is started again, member.go) and its MQTT listener takes a
// session; it fails the test if that does not happen in time.
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.Relaunch(); err != nil {
		s.t.Fatal(err)
	}
}

// Relaunch is Restart returning its error, for any cluster.
func (s *Server) Relaunch() error {
	if err := s.Spawn(); err != nil {
		return err
	}
	return s.awaitReady()
}

// Spawn starts a killed or stopped node again with its store directory and
// ports, and returns once the process runs: a node catching up after a
// kill can take minutes to be healthy on a loaded machine, and a test may
// go on meanwhile and wait for what it needs of the node (a stream's
// replica current again, say). Unlike Relaunch it does not check that the
// new process's raft messages arrive (member.go): a test that needs the
// node back in its raft groups waits for that itself.
func (s *Server) Spawn() error {
	s.Kill()
	return s.start()
}
