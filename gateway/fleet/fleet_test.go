package fleet_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/officegate/officegate/gateway/connect"
	"github.com/officegate/officegate/internal/natstest"
	"github.com/officegate/officegate/internal/pgtest"
)

// The fleet (doc.go).
const (
	gateways  = 8
	terminals = 3 // per gateway
	// tick is how often each terminal records a punch: 24 terminals at 4
	// punches a second, about 100 events a second into the fleet.
	tick = 250 * time.Millisecond
	// stream is the JetStream stream connect reads (its default): its
	// leader is the node killed.
	stream = connect.MQTTStream
	// ackWait is connect's: a message a killed replica held comes back
	// after it.
	ackWait = 5 * time.Second
	// leaseBucket and leaseKey hold which connect replica fetches.
	leaseBucket = connect.LeaseBucket
	leaseKey    = "_MQTT_msgs.connect" // gateway/connect leaseKey(stream, "connect")
)

// officegate is the binary TestMain built; buildTime how long that took.
var (
	officegate string
	buildTime  time.Duration
)

// TestMain builds the officegate binary once, for every process of the
// fleet; -short builds nothing (TestFleet is skipped).
func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(func() int {
		if testing.Short() {
			return m.Run()
		}
		dir, err := os.MkdirTemp("", "fleet-officegate-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "fleet:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		officegate = filepath.Join(dir, "officegate")
		t0 := time.Now()
		// go test puts its toolchain's bin first on PATH: this go is it.
		cmd := exec.Command("go", "build", "-o", officegate, "github.com/officegate/officegate/gateway/cmd/officegate")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "fleet: go build officegate: %v\n%s", err, out)
			return 1
		}
		buildTime = time.Since(t0)
		return m.Run()
	}())
}

func TestFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the fleet runs some 20 processes for a minute or more")
	}
	began := time.Now()
	cluster := natstest.Start(t)
	pg := pgtest.Start(t, nil)
	createConsumer(t, cluster)
	dir := t.TempDir()
	pw := filepath.Join(dir, "db.password")
	if err := os.WriteFile(pw, []byte(pgtest.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	var terms []*terminal
	gws := make([]*proc, gateways)
	for g := range gws {
		name := fmt.Sprintf("gw-%d", g+1)
		var mine []*terminal
		for k := range terminals {
			mine = append(mine, startTerminal(t, dir, name, fmt.Sprintf("t%d", k+1), uint64(g*terminals+k+1)))
		}
		terms = append(terms, mine...)
		// Gateway g starts on node g mod 3, the others after it.
		urls := cluster.MQTTURLs()
		urls = append(urls[g%len(urls):], urls[:g%len(urls)]...)
		gws[g] = newProc(t, dir, name, "run", "--config", gatewayConfig(t, dir, name, urls, mine))
	}
	cons := make([]*proc, 2)
	for i := range cons {
		name := fmt.Sprintf("connect-%d", i+1)
		cons[i] = newProc(t, dir, name, "connect", "--config", connectConfig(t, dir, name, cluster.NATSURLs(), pg, pw))
	}
	for _, p := range append(gws, cons...) {
		p.start(t)
	}
	db := dbConn(t, pg)

	// Every terminal punches once; all of them in PostgreSQL is the whole
	// path up, from every gateway, before anything is killed.
	l := time.Now() // the load's start: the times of the steps and the punches are from it
	for _, d := range terms {
		if err := d.punch(l); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, 3*time.Minute, "every terminal's first punch is in PostgreSQL", func() bool {
		return punchRows(db) >= len(terms)
	})
	upAt := time.Since(began)

	// The load, and the kills during it, each after so many punches per
	// terminal (so many ticks of load, whatever the machine's speed).
	load := startLoad(terms, tick, l)
	var steps []step
	at := func(punches int, what string, do func()) {
		t.Helper()
		waitUntil(t, time.Minute, fmt.Sprintf("%d punches per terminal (before: %s)", punches, what), func() bool {
			return minCount(terms) >= punches
		})
		steps = append(steps, step{time.Since(l), what})
		t.Logf("%6.1fs  %s", time.Since(l).Seconds(), what)
		do()
	}
	var node *natstest.Server
	at(12, "kill -9 the nats node leading stream "+stream, func() {
		node = streamLeader(t, cluster, stream)
		node.Kill()
	})
	at(20, "kill -9 gateways gw-2 and gw-6", func() { gws[1].kill(); gws[5].kill() })
	var victim *proc
	at(28, "kill -9 the connect replica that fetches", func() {
		victim = fetching(t, cluster, cons)
		t.Logf("        (%s)", victim.name)
		victim.kill()
	})
	at(36, "start the nats node again", func() {
		// Its process runs; it catches up with the cluster meanwhile.
		if err := node.Spawn(); err != nil {
			t.Fatalf("nats node %s: %v", node.Name, err)
		}
	})
	at(44, "start gw-2 and gw-6 again", func() { gws[1].start(t); gws[5].start(t) })
	at(52, "start the killed connect replica again", func() { victim.start(t) })
	// Long enough after the replica's kill that its lease expires (10 s)
	// and a standby takes over under load.
	at(96, "the terminals stop punching", func() {})
	loadFor, errs := load.end()
	for _, err := range errs {
		t.Error(err)
	}
	recorded := 0
	for _, d := range terms {
		recorded += d.count()
	}
	t.Logf("%d terminals recorded %d punches in %.1fs (%.0f/s)", len(terms), recorded, loadFor.Seconds(), float64(recorded)/loadFor.Seconds())

	// Drained: every terminal's store empty (its gateway has every punch
	// in its journal), and PostgreSQL holds as many punches as were
	// recorded. Bounded: a loss never reaches the count.
	drained := waitFor(3*time.Minute, func() bool {
		for _, d := range terms {
			if d.pty.Emu.Held() > 0 {
				return false
			}
		}
		return punchRows(db) >= recorded
	})
	drainedAt := time.Since(l)
	// Whether the node caught up is the cluster's business, not the
	// fleet's guarantees: said, not asserted (on a loaded machine a node
	// can report a consumer "not current" for minutes).
	var health string
	if waitFor(20*time.Second, func() bool { health = healthz(node); return health == "" }) {
		t.Logf("the restarted nats node %s is healthy (JetStream current) at %.1fs", node.Name, time.Since(l).Seconds())
	} else {
		t.Logf("the restarted nats node %s is not healthy 20s after the drain: %s", node.Name, health)
	}
	for _, p := range append(gws, cons...) {
		if err := p.failures(); err != nil {
			t.Error(err)
		}
	}
	rows := readRows(t, db)
	r := check(terms, rows)
	t.Logf("cluster and PostgreSQL up, fleet started, first punches through: %.1fs; drained %v at %.1fs; test %.1fs (officegate built in %.1fs)",
		upAt.Seconds(), drained, drainedAt.Seconds(), time.Since(began).Seconds(), buildTime.Seconds())
	r.report(t, steps)
}

// step is one thing the test did to the fleet, and when (from the load's start).
type step struct {
	at   time.Duration
	what string
}

func gatewayConfig(t *testing.T, dir, name string, urls []string, terms []*terminal) string {
	t.Helper()
	state := filepath.Join(dir, name)
	var b strings.Builder
	fmt.Fprintf(&b, "[gateway]\nid = %q\n\n", name)
	fmt.Fprintf(&b, "[mqtt]\nurls = [%s]\n", quoteList(urls))
	// As docs/nats recommends for a cluster: command subscriptions that are
	// no JetStream consumers.
	b.WriteString("command_qos = 0\n")
	// Quick to come back after a kill, on a loaded machine.
	b.WriteString("backoff_min = \"50ms\"\nbackoff_max = \"1s\"\nconnect_timeout = \"5s\"\nkeepalive = \"5s\"\n\n")
	fmt.Fprintf(&b, "[journal]\ndir = %q\n\n", filepath.Join(state, "journal"))
	b.WriteString("[http]\nlisten = \"127.0.0.1:0\"\n\n")
	fmt.Fprintf(&b, "[provisioning]\nsocket = %q\n\n", filepath.Join(state, "admin.sock"))
	b.WriteString("[log]\nlevel = \"warn\"\nformat = \"json\"\n")
	for _, d := range terms {
		fmt.Fprintf(&b, "\n[[devices]]\nid = %q\nkind = \"terminal\"\nport = %q\n", d.id, d.pty.Path)
	}
	return writeConfig(t, dir, name, b.String())
}

func connectConfig(t *testing.T, dir, name string, natsURLs []string, pg *pgtest.Cluster, pw string) string {
	t.Helper()
	state := filepath.Join(dir, name)
	var b strings.Builder
	fmt.Fprintf(&b, "[connect]\nstate_dir = %q\nsocket = %q\n\n", state, filepath.Join(dir, name+".sock"))
	fmt.Fprintf(&b, "[connect.jetstream]\nurls = [%s]\nack_wait = %q\n\n", quoteList(natsURLs), ackWait.String())
	b.WriteString("[http]\nlisten = \"127.0.0.1:0\"\n\n[log]\nlevel = \"warn\"\nformat = \"json\"\n\n")
	b.WriteString("[[sinks]]\nname = \"db\"\nkind = \"postgres\"\nstreams = [\"attendance\"]\n\n[sinks.settings]\n")
	fmt.Fprintf(&b, "host = \"127.0.0.1\"\nport = %q\ndatabase = \"postgres\"\nuser = %q\npassword_file = %q\nsslmode = \"disable\"\n",
		strconv.Itoa(pg.Port), pgtest.User, pw)
	return writeConfig(t, dir, name, b.String())
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}

func writeConfig(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name+".toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// createConsumer creates connect's consumer of the MQTT listener's
// stream as docs/nats says, before any gateway publishes (the stream keeps
// a message only for a consumer that exists), with the test's ack wait
// (connect would set it so anyway).
func createConsumer(t *testing.T, c *natstest.Cluster) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "nats", "connect-consumer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg jetstream.ConsumerConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatalf("connect-consumer.json: %v", err)
	}
	cfg.AckWait = ackWait
	js, closeNC := jsConn(t, c)
	defer closeNC()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := js.CreateConsumer(ctx, stream, cfg); err != nil {
		t.Fatalf("create connect's consumer of %s: %v", stream, err)
	}
}

// streamLeader is the node leading a stream's replicas.
func streamLeader(t *testing.T, c *natstest.Cluster, name string) *natstest.Server {
	t.Helper()
	js, closeNC := jsConn(t, c)
	defer closeNC()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatalf("stream %s: %v", name, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatalf("stream %s: %v", name, err)
	}
	for _, n := range c.Nodes {
		if info.Cluster != nil && n.Name == info.Cluster.Leader {
			return n
		}
	}
	t.Fatalf("stream %s: no leader among the nodes (%+v)", name, info.Cluster)
	return nil
}

// healthz is "" when a node's /healthz says it is healthy (JetStream
// current with the cluster), else why not.
func healthz(n *natstest.Server) string {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + n.HTTP + "/healthz")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("%s: %s", resp.Status, body)
	}
	return ""
}

// fetching is the connect replica that fetches: the one holding the
// lease of connect's consumer (its value names the holder's process id),
// or the first when there is no lease (every replica fetches).
func fetching(t *testing.T, c *natstest.Cluster, cons []*proc) *proc {
	t.Helper()
	js, closeNC := jsConn(t, c)
	defer closeNC()
	var holder *proc
	waitUntil(t, 30*time.Second, "the lease names a running replica", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		kv, err := js.KeyValue(ctx, leaseBucket)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			holder = cons[0]
			return true
		}
		if err != nil {
			return false
		}
		e, err := kv.Get(ctx, leaseKey)
		if err != nil {
			return false
		}
		var v struct {
			Replica string `json:"replica"` // host/pid
		}
		if json.Unmarshal(e.Value(), &v) != nil {
			return false
		}
		pid, err := strconv.Atoi(v.Replica[strings.LastIndexByte(v.Replica, '/')+1:])
		if err != nil {
			return false
		}
		for _, p := range cons {
			if p.pid() == pid {
				holder = p
				return true
			}
		}
		return false
	})
	return holder
}

func jsConn(t *testing.T, c *natstest.Cluster) (jetstream.JetStream, func()) {
	t.Helper()
	nc, err := nats.Connect(strings.Join(c.NATSURLs(), ","))
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		t.Fatal(err)
	}
	return js, nc.Close
}

func dbConn(t *testing.T, pg *pgtest.Cluster) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(context.Background()) })
	return db
}

// punchRows counts the punches in PostgreSQL; 0 before the sink made its
// table.
func punchRows(db *pgx.Conn) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var n int
	if db.QueryRow(ctx, `SELECT count(*) FROM events WHERE type = 'attendance.punch'`).Scan(&n) != nil {
		return 0
	}
	return n
}

// waitFor polls cond until it holds or timeout passes; the conditions
// (a device's store, a table's count) have nothing to wait on.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !waitFor(timeout, cond) {
		t.Fatalf("not within %v: %s", timeout, what)
	}
}
