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
	r := fleetResult{Gateways: cfg.Gateways, Devices: cfg.Devices, EventsPerPhase: cfg.Gateways * cfg.Events,
		Inflight: cfg.Inflight, Rate: cfg.Rate}
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
	env := &fleetEnv{cfg: cfg, exe: exe, state: filepath.Join(work, "gateways"), cluster: cluster, nc: nc, stream: st, mqtt: mst}
	phase := 0
	for _, path := range fleetPaths {
		row := fleetRow{Path: path}
		phase++
		fmt.Fprintf(progress, "bench fleet: %s: %d gateways × %d events, saturated\n", fleetPathNames[path], cfg.Gateways, cfg.Events)
		sat, err := env.phase(ctx, path, phase, false)
		if err != nil {
			return r, fmt.Errorf("bench: %s, saturated: %w", fleetPathNames[path], err)
		}
		row.PublishedPerS, row.StoredPerS, row.DeliveredPerS = sat.published, sat.stored, sat.delivered
		row.CPUUs, row.ClusterCPUUs, row.Duplicates = sat.cpuUs, sat.clusterUs, sat.dups
		phase++
		fmt.Fprintf(progress, "bench fleet: %s: %.0f events/s for %v, paced\n", fleetPathNames[path], cfg.Rate, cfg.LatencyFor)
		pc, err := env.phase(ctx, path, phase, true)
		if err != nil {
			return r, fmt.Errorf("bench: %s, paced: %w", fleetPathNames[path], err)
		}
		row.OfferedPerS, row.Duplicates = pc.offered, row.Duplicates+pc.dups
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
}

// phase runs one publisher child for one phase and measures it at the
// stream its acknowledgements stand for (phaseStream): when its last event
// was stored, and when the consumer had every one.
func (e *fleetEnv) phase(ctx context.Context, path string, phase int, paced bool) (phaseFigures, error) {
	var f phaseFigures
	cfg := e.cfg
	st, filter := e.phaseStream(path)
	cons, err := startFleetConsumer(ctx, st, filter)
	if err != nil {
		return f, err
	}
	defer cons.stop()
	seqs := startSeqPoller(ctx, st)
	defer seqs.stop()
	nodes := e.cluster.MQTTURLs()
	if path == "jetstream" {
		nodes = e.cluster.NATSURLs()
	}
	args := []string{"-child", path, "-nodes", strings.Join(nodes, ","), "-phase", strconv.Itoa(phase),
		"-gateways", strconv.Itoa(cfg.Gateways), "-devices", strconv.Itoa(cfg.Devices), "-events", strconv.Itoa(cfg.Events),
		"-inflight", strconv.Itoa(cfg.Inflight), "-sync-window", cfg.SyncWindow.String(),
		"-rate", strconv.FormatFloat(cfg.Rate, 'g', -1, 64), "-latency-for", cfg.LatencyFor.String(), "-state", e.state}
	if paced {
		args = append(args, "-paced")
	}
	cpu0, err := e.clusterCPU()
	if err != nil {
		return f, err
	}
	c, stdin, err := startCommandChild(e.exe, "fleet", args...)
	if err != nil {
		return f, err
	}
	stdin.Close() // the child starts by itself, once every session is up
	defer c.kill()
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
	storedAt, err := seqs.reached(ctx, got.lastSeq, phaseTimeout)
	if err != nil {
		return f, err
	}
	if path != "jetstream" {
		e.mqttEvents += len(want)
	}
	start, end := time.Unix(0, cr.Start), time.Unix(0, cr.End)
	n := float64(len(want))
	f.published = rate(n, end.Sub(start))
	f.stored = rate(n, storedAt.Sub(start))
	f.delivered = rate(n, got.doneAt.Sub(start))
	f.cpuUs = math.Round(cr.CPUSec*1e6/n*10) / 10
	// The nodes' CPU from the child's start to the consumer's last event:
	// the sessions' setup is in it, a few JetStream requests per gateway.
	f.clusterUs = math.Round(float64((cpu1-cpu0).Microseconds())/n*10) / 10
	if paced {
		f.offered = rate(n, cfg.LatencyFor)
	}
	f.lat, f.dups = got.lat, got.dups
	return f, nil
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
