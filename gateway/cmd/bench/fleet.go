package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// The fleet command loads the reference backbone (docs/nats: a 3-node NATS
// cluster with JetStream and its MQTT listener, started from the same
// configuration by internal/natstest) with N gateways' publishing, and
// measures what comes out of the stream each publisher's acknowledgements
// stand for: $MQTT_msgs for the MQTT publishers (the MQTT listener stores a
// QoS 1 message there before its PUBACK; the OFFICEGATE stream takes it
// from a plain NATS publish and misses what is published while it changes
// leader, docs/nats/README.md), OFFICEGATE for the native JetStream
// publisher (its PubAck is OFFICEGATE's). Three publishers carry
// the same messages to the same cluster in one run, each in a child process
// of its own so that its CPU is its alone:
//
//   - officegate: N real uplinks (gateway/uplink), each publishing its own
//     real journal's records at QoS 1 over MQTT, a gateway's nodes in turn
//     as its [mqtt] urls;
//   - raw paho: N plain paho clients publishing the same topics and
//     payloads at QoS 1 with the same window;
//   - JetStream: N native NATS clients publishing the same payloads to the
//     subjects the MQTT listener maps the topics to, each acknowledged by
//     the stream (PubAck): the cluster's own ceiling, no MQTT in between.
//
// Each publisher runs twice: saturated (every gateway's events at once, as
// fast as the window allows: events/s) and paced (-rate events/s in total
// for -latency-for: latency from the event's due time to a JetStream
// consumer of that stream). In each, the child first sets its N sessions
// up (-ramp at a time) and says so, then waits for the go: the sessions'
// setup (the nodes' CPU per session) is measured apart, and before the
// saturated load, with -idle-for, what the N sessions cost the cluster
// connected and idle (the nodes' CPU and their RSS growth per session),
// once the cluster is done with the previous phase; the cluster with no
// session is measured first, for reference. The load's figures start at
// the go.

// fleetConfig is the fleet command's flags.
type fleetConfig struct {
	Gateways   int           // simulated gateways, one MQTT session each
	Devices    int           // devices per gateway the events come from
	Events     int           // events per gateway in the saturated phase
	Inflight   int           // publishes awaiting their acknowledgement, per gateway
	CommandQoS int           // the officegate uplinks' command subscriptions (mqtt.command_qos)
	SyncWindow time.Duration // the gateways' journals'
	Rate       float64       // events/s offered in total in the paced phase
	LatencyFor time.Duration // how long to offer Rate
	IdleFor    time.Duration // how long each publisher's sessions sit idle before its saturated load; 0 measures no idle cost
	Publishers string        // the publishers to run, comma-separated: some of fleetPaths
	Ramp       int           // sessions being set up at once, per publisher
	Dir        string        // parent of the cluster's and the journals' directories
	Connect    bool          // end with one officegate connect replica taking the MQTT publishers' events from $MQTT_msgs into PostgreSQL
	JSON       bool

	// Internal: a child's own flags.
	Child string // "officegate", "raw" or "jetstream"
	Nodes string // the nodes' MQTT URLs (officegate, raw) or NATS URLs (jetstream), comma-separated
	Phase int    // 1.. : makes the phase's event ids its own
	Paced bool   // the paced phase (else saturated)
	State string // officegate: where the journals go
}

// fleetPaths are the three publishers, in the order they run and print.
var fleetPaths = []string{"officegate", "raw", "jetstream"}

// fleetPathNames are their names in the table.
var fleetPathNames = map[string]string{
	"officegate": "officegate uplinks",
	"raw":        "raw paho",
	"jetstream":  "JetStream native",
}

// fleetResult is the comparison, one row per publisher.
type fleetResult struct {
	Gateways       int          `json:"gateways"`
	Devices        int          `json:"devices_per_gateway"`
	EventsPerPhase int          `json:"saturated_events"`
	PayloadBytes   int          `json:"payload_bytes"`
	Inflight       int          `json:"inflight"`
	CommandQoS     int          `json:"command_qos"`
	Rate           float64      `json:"offered_per_s"`
	Paths          []fleetRow   `json:"paths"`
	Stream         streamFigure `json:"stream"`
	// Connect is one officegate connect replica taking every event of the
	// MQTT publishers out of $MQTT_msgs into PostgreSQL (-connect).
	Connect *connectFigure `json:"connect,omitempty"`
	// IdleBase is the cluster idle with no session, before the first
	// publisher (-idle-for): what every idle figure includes.
	IdleBase *sessionFigure `json:"idle_base,omitempty"`
	// NodePeakRSSMB is each nats-server's peak resident memory over the
	// whole run (VmHWM), n1 to n3.
	NodePeakRSSMB []float64 `json:"node_peak_rss_mb"`
	// Load is the machine's load average (1, 5, 15 min) at the start and
	// at the end of the run: on a shared machine, what the figures shared
	// it with.
	Load [2][3]float64 `json:"load_avg_start_end"`
}

// fleetRow is one publisher's figures.
type fleetRow struct {
	Path string `json:"path"`
	// Saturated phase.
	PublishedPerS float64   `json:"published_per_s"`          // acknowledged to the publishers (PUBACK, PubAck)
	StoredPerS    float64   `json:"stored_per_s"`             // into the stream: its last sequence reaching the phase's last event
	DeliveredPerS float64   `json:"delivered_per_s"`          // out of the stream to the consumer, every event once
	CPUUs         float64   `json:"cpu_us_per_event"`         // the publisher process's
	ClusterCPUUs  float64   `json:"cluster_cpu_us_per_event"` // the three nats-server processes', together, from the load's start (every session up) to the consumer's last event
	NodeRSSMB     []float64 `json:"node_rss_mb"`              // each node's resident memory at the load's end, the sessions still up
	Duplicates    int       `json:"duplicates"`               // events the consumer received more than once, both phases
	// Paced phase.
	OfferedPerS float64 `json:"paced_offered_per_s"`
	P50Ms       float64 `json:"p50_ms"` // due time → the consumer
	P99Ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	// PacedClusterCPUUs is the cluster's CPU per event in the paced phase,
	// everything it did then included; PacedClusterCPUPct the same as a
	// share of one core; PacedMarginalUs the part above what the same
	// sessions cost idle (Sessions.IdleCPUPct), per event: the events' own
	// cost at this many sessions (0 without -idle-for).
	PacedClusterCPUUs  float64 `json:"paced_cluster_cpu_us_per_event"`
	PacedClusterCPUPct float64 `json:"paced_cluster_cpu_pct"`
	PacedMarginalUs    float64 `json:"paced_marginal_cluster_cpu_us_per_event"`
	// Sessions is what the saturated phase's sessions cost the cluster
	// before any load: their setup and, with -idle-for, their idle cost.
	Sessions sessionFigure `json:"sessions"`
}

// sessionFigure is what N connected sessions (MQTT) or connections (native
// NATS) cost the cluster before they publish anything.
type sessionFigure struct {
	SetupS          float64   `json:"setup_s"`                // the child's start → every session up
	SetupCPUMs      float64   `json:"setup_cluster_cpu_ms"`   // the three nodes' CPU over that, per session
	QuietS          float64   `json:"quiet_wait_s,omitempty"` // waited for the cluster to be done with the previous phase
	IdleS           float64   `json:"idle_s,omitempty"`       // how long the idle cost was measured
	IdleCPUPct      float64   `json:"idle_cluster_cpu_pct"`   // the three nodes' CPU while idle, % of one core
	IdleCPUPerKSess float64   `json:"idle_cpu_pct_per_1000"`  // the same per 1 000 sessions
	NodeRSSBeforeMB []float64 `json:"node_rss_before_mb"`     // each node's before the child started
	NodeRSSIdleMB   []float64 `json:"node_rss_idle_mb"`       // and with the sessions up, idle
	RSSPerSessKB    float64   `json:"rss_kb_per_session"`     // the three nodes' growth together, per session
}

// streamFigure is what the OFFICEGATE stream held at the end of the run.
type streamFigure struct {
	Messages   uint64  `json:"messages"`
	Bytes      uint64  `json:"bytes"`
	BytesPerEv float64 `json:"bytes_per_message"` // on one node, JetStream's overhead included
}

func fleetMain(ctx context.Context, args []string) error {
	var cfg fleetConfig
	fs := flag.NewFlagSet("fleet", flag.ContinueOnError)
	fs.IntVar(&cfg.Gateways, "gateways", 16, "simulated gateways, one MQTT session (or NATS connection) each")
	fs.IntVar(&cfg.Devices, "devices", 64, "devices per gateway the events come from")
	fs.IntVar(&cfg.Events, "events", 1000, "events per gateway in the saturated phase")
	fs.IntVar(&cfg.Inflight, "inflight", 64, "publishes awaiting acknowledgement at once, per gateway, for every publisher")
	fs.IntVar(&cfg.CommandQoS, "command-qos", 1, "QoS of the officegate uplinks' command subscriptions, 0 or 1 (mqtt.command_qos; on NATS a QoS 1 subscription is a JetStream consumer)")
	fs.DurationVar(&cfg.SyncWindow, "sync-window", 10*time.Millisecond, "the gateways' journals' sync window (the configuration's default)")
	fs.Float64Var(&cfg.Rate, "rate", 300, "events/s offered in total in the paced (latency) phase: below every publisher's saturated rate, or the latency measured is a queue's")
	fs.DurationVar(&cfg.LatencyFor, "latency-for", 10*time.Second, "how long to offer -rate")
	fs.DurationVar(&cfg.IdleFor, "idle-for", 0, "how long each publisher's sessions sit connected and idle before its saturated load, to measure their idle cost to the cluster (0: not measured)")
	fs.IntVar(&cfg.Ramp, "ramp", 32, "sessions a publisher sets up at once (all of them at once is a reconnect storm, which the cluster may not carry: docs/SCALING.md)")
	fs.StringVar(&cfg.Publishers, "publishers", strings.Join(fleetPaths, ","), "the publishers to run, comma-separated")
	fs.StringVar(&cfg.Dir, "dir", "", "where to make the cluster's and the journals' directories (default: the current directory; never tmpfs)")
	fs.BoolVar(&cfg.Connect, "connect", true, "end with one officegate connect replica taking every event of the MQTT publishers from $MQTT_msgs into PostgreSQL (needs PostgreSQL's binaries)")
	fs.BoolVar(&cfg.JSON, "json", false, "print one JSON object")
	fs.StringVar(&cfg.Child, "child", "", "internal: run one publisher in this process")
	fs.StringVar(&cfg.Nodes, "nodes", "", "internal: the cluster's URLs")
	fs.IntVar(&cfg.Phase, "phase", 0, "internal: the phase number")
	fs.BoolVar(&cfg.Paced, "paced", false, "internal: the paced phase")
	fs.StringVar(&cfg.State, "state", "", "internal: the journals' directory")
	setUsage(fs, "usage: bench fleet [flags]\n\n"+
		"Runs a 3-node NATS cluster (JetStream, MQTT) with the OFFICEGATE stream, and N\n"+
		"gateways' uplinks publishing from real journals to it, against raw paho and native\n"+
		"JetStream publishing the same messages, in one run. Needs nats-server 2.10 or later.\n\n",
		"child", "nodes", "phase", "paced", "state")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	if cfg.Child != "" {
		return childJSON(os.Stdout, func() (fleetChildResult, error) { return fleetChild(ctx, cfg) })
	}
	var progress io.Writer = os.Stderr
	if cfg.JSON {
		progress = io.Discard
	}
	r, err := runFleetBench(ctx, cfg, progress)
	if err != nil {
		return err
	}
	if cfg.JSON {
		return json.NewEncoder(os.Stdout).Encode(r)
	}
	printFleet(os.Stdout, r)
	return nil
}

func (c *fleetConfig) validate() error {
	switch {
	case c.Gateways < 1 || c.Gateways > 1000:
		return fmt.Errorf("fleet: -gateways %d: must be 1..1000", c.Gateways)
	case c.Devices < 1 || c.Devices > 256:
		return fmt.Errorf("fleet: -devices %d: must be 1..256", c.Devices)
	case c.Events < 1:
		return fmt.Errorf("fleet: -events %d: must be positive", c.Events)
	case c.CommandQoS != 0 && c.CommandQoS != 1:
		return fmt.Errorf("fleet: -command-qos %d: must be 0 or 1", c.CommandQoS)
	case c.Inflight < 1 || c.Inflight > 65535:
		return fmt.Errorf("fleet: -inflight %d: must be 1..65535", c.Inflight)
	case c.SyncWindow <= 0 || c.SyncWindow > time.Second:
		return fmt.Errorf("fleet: -sync-window %v: must be in (0, 1s]", c.SyncWindow)
	case c.Rate <= 0 || c.Rate > 1e6:
		return fmt.Errorf("fleet: -rate %g: must be in (0, 1e6]", c.Rate)
	case c.LatencyFor <= 0:
		return fmt.Errorf("fleet: -latency-for %v: must be positive", c.LatencyFor)
	case c.Ramp < 1:
		return fmt.Errorf("fleet: -ramp %d: must be positive", c.Ramp)
	case c.IdleFor < 0:
		return fmt.Errorf("fleet: -idle-for %v: must not be negative", c.IdleFor)
	case c.Child != "" && !slices.Contains(fleetPaths, c.Child):
		return fmt.Errorf("fleet: -child %q: one of %v", c.Child, fleetPaths)
	case c.Child != "" && (c.Nodes == "" || c.Phase < 1):
		return fmt.Errorf("fleet: -child %s needs -nodes and -phase", c.Child)
	case c.Child == "officegate" && c.State == "":
		return fmt.Errorf("fleet: -child officegate needs -state")
	}
	for _, p := range c.publishers() {
		if !slices.Contains(fleetPaths, p) {
			return fmt.Errorf("fleet: -publishers %q: %q is not one of %v", c.Publishers, p, fleetPaths)
		}
	}
	return nil
}

// publishers are the publishers the run has, in the order given; all of
// them when none is.
func (c *fleetConfig) publishers() []string {
	if strings.TrimSpace(c.Publishers) == "" {
		return fleetPaths
	}
	var out []string
	for _, p := range strings.Split(c.Publishers, ",") {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}
