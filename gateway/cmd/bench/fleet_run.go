package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/officegate/officegate/gateway/connect"
	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/internal/natstest"
)

// fleetStream is the OFFICEGATE stream of docs/nats/officegate-stream.json
// (every message of the contract, replicas 3, file storage, limits
// retention), its byte limit cut to what the bench's nodes hold.
func fleetStream() jetstream.StreamConfig {
	return jetstream.StreamConfig{Name: "OFFICEGATE", Subjects: []string{fleetRoot + ".>"},
		Retention: jetstream.LimitsPolicy, Storage: jetstream.FileStorage, Replicas: 3,
		MaxAge: 8 * 24 * time.Hour, MaxBytes: 4 << 30, MaxMsgSize: 1 << 20, Discard: jetstream.DiscardOld,
		MaxMsgs: -1, MaxMsgsPerSubject: -1, MaxConsumers: -1, Duplicates: 2 * time.Minute}
}

// fleetEnv is what every phase of a run shares.
type fleetEnv struct {
	cfg     fleetConfig
	exe     string
	state   string // the journals' parent
	cluster *natstest.Cluster
	nc      *nats.Conn
	stream  jetstream.Stream // OFFICEGATE
	mqtt    jetstream.Stream // $MQTT_msgs, the MQTT listener's store
	base    *sessionFigure   // the cluster idle with no session, if measured
	// progress is where the run says how far it is.
	progress io.Writer
	// mqttEvents is the events the MQTT publishers put in $MQTT_msgs so
	// far, every phase's: what the connect phase takes.
	mqttEvents int
}

// fleetPhaseHook, when set (by a test), runs while a phase's publisher
// child runs: from its start until it has printed its result, when ctx
// ends.
var fleetPhaseHook func(ctx context.Context, path string, phase int, nc *nats.Conn)

// phaseStream is the stream a publisher's events are read from, and the
// subjects they have there. An MQTT publisher's PUBACK says the message is
// in $MQTT_msgs (docs/nats/README.md, "Where the cluster keeps what it
// PUBACKed"); OFFICEGATE takes the same message from a plain NATS publish
// not tied to the PUBACK, and misses every message published while it has
// no leader (a leader election, which a loaded machine makes). A native
// JetStream publish is acknowledged by OFFICEGATE itself.
func (e *fleetEnv) phaseStream(path string) (jetstream.Stream, string) {
	if path == "jetstream" {
		return e.stream, fleetEventsFilter
	}
	return e.mqtt, connect.MQTTSubjectPrefix + fleetEventsFilter
}

// fleetConnectSource is the connect phase's source: connect's defaults,
// the stream $MQTT_msgs among them, with the bench's consumer.
func fleetConnectSource(urls []string, log zerolog.Logger) *connect.JetStream {
	return &connect.JetStream{URLs: urls, Consumer: "bench", Log: log}
}

func runFleetBench(ctx context.Context, cfg fleetConfig, progress io.Writer) (fleetResult, error) {
	if cfg.Ramp < 1 {
		cfg.Ramp = 32
	}
	r := fleetResult{Gateways: cfg.Gateways, Devices: cfg.Devices, EventsPerPhase: cfg.Gateways * cfg.Events,
		Inflight: cfg.Inflight, CommandQoS: cfg.CommandQoS, Rate: cfg.Rate}
	r.Load[0] = loadAvg()
	base := cmp.Or(cfg.Dir, ".")
	if err := checkRealDisk(base); err != nil {
		return r, err
	}
	exe, err := os.Executable()
	if err != nil {
		return r, err
	}
	work, err := os.MkdirTemp(base, "bench-fleet-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(work)
	fmt.Fprintf(progress, "bench fleet: starting a 3-node NATS cluster (JetStream, MQTT) in %s\n", work)
	// The documented configuration's window per MQTT subscriber (docs/nats),
	// not the test harness's one message.
	cluster, err := natstest.New(filepath.Join(work, "nats"), &natstest.Opts{MaxFileStore: "8GB", MaxAckPending: 1024})
	if err != nil {
		return r, err
	}
	defer cluster.Close()
	nc, err := nats.Connect(strings.Join(cluster.NATSURLs(), ","))
	if err != nil {
		return r, fmt.Errorf("bench: connect to the cluster: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return r, err
	}
	sctx, cancel := context.WithTimeout(ctx, phaseTimeout)
	defer cancel()
	st, err := js.CreateStream(sctx, fleetStream())
	if err != nil {
		return r, fmt.Errorf("bench: create the OFFICEGATE stream: %w", err)
	}
	// The MQTT listener made $MQTT_msgs on the first session (natstest
	// opens one on every node).
	mst, err := js.Stream(sctx, connect.MQTTStream)
	if err != nil {
		return r, fmt.Errorf("bench: the MQTT listener's stream %s: %w", connect.MQTTStream, err)
	}
	if cfg.Connect {
		// $MQTT_msgs keeps a message only for the consumers that exist
		// when it is stored: connect's, before any publisher, as
		// docs/nats/README.md has it created with the cluster.
		cc := fleetConnectSource(cluster.NATSURLs(), zerolog.Nop()).ConsumerConfig()
		if _, err := js.CreateOrUpdateConsumer(sctx, connect.MQTTStream, cc); err != nil {
			return r, fmt.Errorf("bench: create connect's consumer %q of %s: %w", cc.Durable, connect.MQTTStream, err)
		}
	}
	cancel()
	env := &fleetEnv{cfg: cfg, exe: exe, state: filepath.Join(work, "gateways"), cluster: cluster, nc: nc, stream: st, mqtt: mst,
		progress: progress}
	if cfg.IdleFor > 0 {
		// The cluster with its streams and no session: what every idle
		// figure below includes.
		fmt.Fprintf(progress, "bench fleet: the cluster idle, no session, for %v\n", cfg.IdleFor)
		var base sessionFigure
		rss, err := env.nodesRSS()
		if err != nil {
			return r, err
		}
		if err := env.idle(ctx, &base, rss, 0); err != nil {
			return r, err
		}
		r.IdleBase, env.base = &base, &base
	}
	phase := 0
	for _, path := range cfg.publishers() {
		row := fleetRow{Path: path}
		phase++
		fmt.Fprintf(progress, "bench fleet: %s: %d gateways × %d events, saturated\n", fleetPathNames[path], cfg.Gateways, cfg.Events)
		sat, err := env.phase(ctx, path, phase, false)
		if err != nil {
			return r, fmt.Errorf("bench: %s, saturated: %w", fleetPathNames[path], err)
		}
		row.PublishedPerS, row.StoredPerS, row.DeliveredPerS = sat.published, sat.stored, sat.delivered
		row.CPUUs, row.ClusterCPUUs, row.Duplicates = sat.cpuUs, sat.clusterUs, sat.dups
		row.NodeRSSMB, row.Sessions = sat.nodeRSS, sat.sessions
		phase++
		fmt.Fprintf(progress, "bench fleet: %s: %.0f events/s for %v, paced\n", fleetPathNames[path], cfg.Rate, cfg.LatencyFor)
		pc, err := env.phase(ctx, path, phase, true)
		if err != nil {
			return r, fmt.Errorf("bench: %s, paced: %w", fleetPathNames[path], err)
		}
		row.OfferedPerS, row.Duplicates, row.PacedClusterCPUUs = pc.offered, row.Duplicates+pc.dups, pc.clusterUs
		row.PacedClusterCPUPct = pc.pacedPct
		if sat.sessions.IdleS > 0 && pc.offered > 0 {
			// Above what the same sessions cost idle: the events' own.
			row.PacedMarginalUs = math.Round((pc.pacedPct-sat.sessions.IdleCPUPct)/100*1e6/pc.offered*10) / 10
		}
		row.P50Ms, row.P99Ms, row.MaxMs = ms(quantile(pc.lat, 0.5)), ms(quantile(pc.lat, 0.99)), ms(quantile(pc.lat, 1))
		r.Paths = append(r.Paths, row)
	}
	if cfg.Connect {
		fig, err := env.connectPhase(ctx, work, env.mqttEvents, progress)
		if err != nil {
			return r, fmt.Errorf("bench: %w", err)
		}
		r.Connect = &fig
	}
	for _, s := range cluster.Nodes {
		peak, err := peakRSSOf(s.Pid())
		if err != nil {
			return r, fmt.Errorf("bench: nats-server %s: %w", s.Name, err)
		}
		r.NodePeakRSSMB = append(r.NodePeakRSSMB, mb(peak))
	}
	ictx, cancel := context.WithTimeout(ctx, phaseTimeout)
	info, err := st.Info(ictx)
	cancel()
	if err != nil {
		return r, err
	}
	r.Stream = streamFigure{Messages: info.State.Msgs, Bytes: info.State.Bytes}
	if info.State.Msgs > 0 {
		r.Stream.BytesPerEv = math.Round(float64(info.State.Bytes) / float64(info.State.Msgs))
	}
	r.PayloadBytes = samplePayload()
	r.Load[1] = loadAvg()
	return r, nil
}

// phaseFigures is one phase of one publisher.
type phaseFigures struct {
	published, stored, delivered float64 // events/s
	cpuUs                        float64 // the child's, per event
	clusterUs                    float64 // the three nodes', per event
	offered                      float64 // events/s the paced phase achieved
	lat                          []time.Duration
	dups                         int
	pacedPct                     float64   // the three nodes' CPU over the paced phase, % of one core
	nodeRSS                      []float64 // MB, each node's at the load's end
	sessions                     sessionFigure
}

// phase runs one publisher child for one phase and measures it at the
// stream its acknowledgements stand for (phaseStream): when its last event
// was stored, and when the consumer had every one.
func (e *fleetEnv) phase(ctx context.Context, path string, phase int, paced bool) (phaseFigures, error) {
	var f phaseFigures
	cfg := e.cfg
	st, filter := e.phaseStream(path)
	nodes := e.cluster.MQTTURLs()
	if path == "jetstream" {
		nodes = e.cluster.NATSURLs()
	}
	args := []string{"-child", path, "-nodes", strings.Join(nodes, ","), "-phase", strconv.Itoa(phase),
		"-gateways", strconv.Itoa(cfg.Gateways), "-devices", strconv.Itoa(cfg.Devices), "-events", strconv.Itoa(cfg.Events),
		"-inflight", strconv.Itoa(cfg.Inflight), "-command-qos", strconv.Itoa(cfg.CommandQoS), "-sync-window", cfg.SyncWindow.String(),
		"-rate", strconv.FormatFloat(cfg.Rate, 'g', -1, 64), "-latency-for", cfg.LatencyFor.String(), "-state", e.state,
		"-ramp", strconv.Itoa(cfg.Ramp)}
	if paced {
		args = append(args, "-paced")
	}
	setup0, err := e.clusterCPU()
	if err != nil {
		return f, err
	}
	rss0, err := e.nodesRSS()
	if err != nil {
		return f, err
	}
	c, stdin, err := startCommandChild(e.exe, "fleet", args...)
	if err != nil {
		return f, err
	}
	defer stdin.Close()
	defer c.kill()
	// The child says when every session is up, then waits for its stdin
	// to close: the sessions' setup and idle cost are measured apart from
	// the load's.
	upLine, err := c.line(ctx, setupTimeout(cfg.Gateways))
	if err != nil {
		return f, err
	}
	var up fleetUp
	if err := json.Unmarshal([]byte(upLine), &up); err != nil || up.Up == 0 {
		return f, fmt.Errorf("%s child printed %q, not its sessions being up: %v", path, upLine, err)
	}
	setup1, err := e.clusterCPU()
	if err != nil {
		return f, err
	}
	f.sessions.SetupS = math.Round(time.Unix(0, up.Up).Sub(c.start).Seconds()*100) / 100
	f.sessions.SetupCPUMs = math.Round(float64((setup1-setup0).Microseconds())/float64(cfg.Gateways)) / 1000
	f.sessions.NodeRSSBeforeMB = mbs(rss0)
	if !paced && cfg.IdleFor > 0 {
		if err := e.idle(ctx, &f.sessions, rss0, cfg.Gateways); err != nil {
			return f, err
		}
		ss := f.sessions
		fmt.Fprintf(e.progress, "bench fleet: %s: %d sessions up in %.1f s (%.1f ms of cluster CPU each); idle: cluster CPU %.2f %% of a core, nodes' RSS %s MB (%.0f KB a session)\n",
			fleetPathNames[path], cfg.Gateways, ss.SetupS, ss.SetupCPUMs, ss.IdleCPUPct, mbList(ss.NodeRSSIdleMB), ss.RSSPerSessKB)
	}
	// The phase's consumer, and in the saturated phase the poller of the
	// stream's last sequence, from here: not in the idle figures.
	cons, err := startFleetConsumer(ctx, st, filter)
	if err != nil {
		return f, err
	}
	defer cons.stop()
	var seqs *seqPoller
	if !paced {
		seqs = startSeqPoller(ctx, st)
		defer seqs.stop()
	}
	cpu0, err := e.clusterCPU()
	if err != nil {
		return f, err
	}
	stdin.Close() // go
	stopHook := func() {}
	if fleetPhaseHook != nil {
		hctx, hcancel := context.WithCancel(ctx)
		hdone := make(chan struct{})
		go func() {
			defer close(hdone)
			fleetPhaseHook(hctx, path, phase, e.nc)
		}()
		stopHook = func() { hcancel(); <-hdone }
	}
	defer stopHook()
	line, err := c.line(ctx, 2*phaseTimeout+cfg.LatencyFor)
	stopHook()
	if err != nil {
		return f, err
	}
	// The child has printed its result and still holds its sessions.
	rss, err := e.nodesRSS()
	if err != nil {
		return f, err
	}
	f.nodeRSS = mbs(rss)
	if err := c.stop(); err != nil {
		return f, fmt.Errorf("%s child: %w", path, err)
	}
	var cr fleetChildResult
	if err := json.Unmarshal([]byte(line), &cr); err != nil {
		return f, fmt.Errorf("%s child printed %q: %w", path, line, err)
	}
	want := map[string]struct{}{}
	for g, n := range cr.Counts {
		for k := range n {
			want[fleetID(g, k, cfg.Devices, phase)] = struct{}{}
		}
	}
	got, err := cons.await(ctx, want, phaseTimeout)
	if err != nil {
		return f, err
	}
	cpu1, err := e.clusterCPU()
	if err != nil {
		return f, err
	}
	storedAt := got.doneAt
	if seqs != nil {
		if storedAt, err = seqs.reached(ctx, got.lastSeq, phaseTimeout); err != nil {
			return f, err
		}
	}
	if path != "jetstream" {
		e.mqttEvents += len(want)
	}
	start, end := time.Unix(0, cr.Start), time.Unix(0, cr.End)
	n := float64(len(want))
	if n == 0 {
		return f, fmt.Errorf("%s child published no event: raise -rate or -latency-for", path)
	}
	f.published = rate(n, end.Sub(start))
	f.stored = rate(n, storedAt.Sub(start))
	f.delivered = rate(n, got.doneAt.Sub(start))
	f.cpuUs = math.Round(cr.CPUSec*1e6/n*10) / 10
	// The nodes' CPU from the load's start (every session up, the idle
	// measurement done) to the consumer's last event: the sessions' setup,
	// a few JetStream requests per gateway, is not in it (sessions).
	f.clusterUs = math.Round(float64((cpu1-cpu0).Microseconds())/n*10) / 10
	if paced {
		f.offered = rate(n, cfg.LatencyFor)
		el := got.doneAt.Sub(start)
		f.pacedPct = math.Round(float64(cpu1-cpu0)/float64(el)*100*100) / 100
	}
	f.lat, f.dups = got.lat, got.dups
	return f, nil
}

// idleSettle is how long the sessions are left once up before their idle
// cost is measured: the cluster's work for their setup (consumers'
// replicas catching up) ends first.
const idleSettle = 5 * time.Second

// The wait for the cluster to be quiet before an idle measurement: windows
// of idleQuietWindow until one where the nodes used at most the no-session
// figure + 1 % of a core + idleQuietPct per 1 000 sessions, for at most
// idleQuietMax.
const (
	idleQuietWindow = 3 * time.Second
	idleQuietPct    = 50.0
	idleQuietMax    = 2 * time.Minute
)

// idle measures what the sessions, all up, cost the cluster while they
// publish nothing for cfg.IdleFor: the nodes' CPU and their resident
// memory's growth since rss0 (before the child started).
func (e *fleetEnv) idle(ctx context.Context, s *sessionFigure, rss0 []uint64, sessions int) error {
	wait := func(d time.Duration) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
			return nil
		}
	}
	if err := wait(idleSettle); err != nil {
		return err
	}
	// The cluster may still be busy with the previous phase (its sessions'
	// consumers being deleted, acknowledged messages removed): wait, up to
	// idleQuietMax, for a window of idleQuietWindow in which the nodes
	// used at most idleQuietPct points more than with no session
	// (IdleBase), or 1 % of a core without it.
	quiet := time.Now()
	limit := 1.0
	if e.base != nil {
		limit += e.base.IdleCPUPct
	}
	for time.Since(quiet) < idleQuietMax {
		c0, err := e.clusterCPU()
		if err != nil {
			return err
		}
		t0 := time.Now()
		if err := wait(idleQuietWindow); err != nil {
			return err
		}
		c1, err := e.clusterCPU()
		if err != nil {
			return err
		}
		if float64(c1-c0)/float64(time.Since(t0))*100 <= limit+idleQuietPct*float64(sessions)/1000 {
			break
		}
	}
	s.QuietS = math.Round(time.Since(quiet).Seconds()*10) / 10
	cpu0, err := e.clusterCPU()
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := wait(e.cfg.IdleFor); err != nil {
		return err
	}
	cpu1, err := e.clusterCPU()
	if err != nil {
		return err
	}
	el := time.Since(t0)
	rss, err := e.nodesRSS()
	if err != nil {
		return err
	}
	s.IdleS = math.Round(el.Seconds()*10) / 10
	pct := float64(cpu1-cpu0) / float64(el) * 100
	s.IdleCPUPct = math.Round(pct*100) / 100
	s.NodeRSSIdleMB = mbs(rss)
	if sessions == 0 {
		return nil
	}
	s.IdleCPUPerKSess = math.Round(pct*1000/float64(sessions)*100) / 100
	var grew float64
	for i := range rss {
		grew += float64(rss[i]) - float64(rss0[i])
	}
	s.RSSPerSessKB = math.Round(grew/1024/float64(sessions)*10) / 10
	return nil
}

// setupTimeout is how long a publisher child may take to bring its
// sessions up: a minute, and a second more a session (on the test VM
// 1 000 uplink sessions came up at a few a second: docs/SCALING.md).
func setupTimeout(sessions int) time.Duration {
	return phaseTimeout + time.Duration(sessions)*time.Second
}

// nodesRSS is each node's resident memory now (VmRSS), n1 to n3.
func (e *fleetEnv) nodesRSS() ([]uint64, error) {
	var out []uint64
	for _, s := range e.cluster.Nodes {
		v, err := statusField(fmt.Sprintf("/proc/%d/status", s.Pid()), "VmRSS")
		if err != nil {
			return nil, fmt.Errorf("bench: nats-server %s: %w", s.Name, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func mbs(bs []uint64) []float64 {
	out := make([]float64, len(bs))
	for i, b := range bs {
		out[i] = mb(b)
	}
	return out
}

// loadAvg is the machine's load average (1, 5, 15 minutes); zeros if
// /proc/loadavg cannot be read.
func loadAvg() [3]float64 {
	var l [3]float64
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return l
	}
	f := strings.Fields(string(b))
	for i := 0; i < 3 && i < len(f); i++ {
		l[i], _ = strconv.ParseFloat(f[i], 64)
	}
	return l
}

// clusterCPU is the three nodes' CPU time so far.
func (e *fleetEnv) clusterCPU() (time.Duration, error) {
	var sum time.Duration
	for _, s := range e.cluster.Nodes {
		cpu, err := procCPU(s.Pid())
		if err != nil {
			return 0, fmt.Errorf("bench: nats-server %s: %w", s.Name, err)
		}
		sum += cpu
	}
	return sum, nil
}

func rate(n float64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return math.Round(n / d.Seconds())
}

// samplePayload is the size of one event's JSON payload as the consumer
// receives it.
func samplePayload() int {
	ev, err := fleetEvent(0, 0, 1, 1, time.Now())
	if err != nil {
		return 0
	}
	_, p, err := ev.Message(fleetTopics(0), envelope.JSON)
	if err != nil {
		return 0
	}
	return len(p)
}
