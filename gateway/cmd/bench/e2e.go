package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

// The e2e command runs the whole path, emulated devices on PTYs → officegate
// (the real binary, `officegate run`, in a child process) → mosquitto → a
// subscriber, and beside it, in the same run, plain paho publishing the same
// messages with the same window to the same broker (in a child process of its
// own). The devices and the subscriber live in this process, so the
// children's CPU and RSS are the gateway's and paho's alone.

// e2eConfig is the e2e command's flags.
type e2eConfig struct {
	Devices        int           // emulated devices, each on its own PTY
	DeviceMode     string        // how they are emulated: deviceWire or deviceFwemu
	Inflight       int           // publishes awaiting PUBACK, gateway and raw alike
	SyncWindow     time.Duration // the gateway journal's
	Rate           float64       // events/s offered in total for the latency figures
	LatencyFor     time.Duration // how long to offer Rate
	Warmup         time.Duration // saturated, before the throughput window opens
	SaturateFor    time.Duration // the throughput window
	Backlog        int           // events produced during the broker outage
	RestartBacklog int           // events in the journal at the restart
	Dir            string        // parent of the gateway's state directory; "" is the current directory
	Mosquitto      string        // the broker binary; "" searches
	Officegate     string        // the gateway binary; "": built by the bench
	Profile        string        // write the gateway's CPU profile here
	MemProfile     string        // write the gateway's heap profile here after the drain
	Idle           time.Duration // idle phase after the links are up; 0: none
	IdleOnly       bool          // stop after the idle phase
	GOGC           int           // the gateway's GC percent (GOGC); 0: the runtime's (100, or $GOGC)
	MemLimit       string        // the gateway's soft memory limit (GOMEMLIMIT syntax); "": the runtime's
	JSON           bool

	// Internal: the raw publisher child's own flags.
	Child    string // "raw", or childRawLatency: paced at Rate, each message stamped
	Broker   string
	Messages string // file of messages to publish
}

// phaseTimeout bounds every wait for delivery: a phase that has not
// delivered within it has lost something, and the run says so.
const phaseTimeout = 60 * time.Second

// recordCap bounds the messages kept for the raw run (≈ 400 B each).
const recordCap = 300_000

// e2eResult is the comparison. The first seven keys are the ones the goals
// are set on; the rest are what they are made of.
type e2eResult struct {
	ThroughputRatio float64 `json:"throughput_ratio"` // officegate events/s ÷ raw paho msg/s, both saturated
	P50Ms           float64 `json:"p50_ms"`           // device emit → subscriber, at Rate offered
	P99Ms           float64 `json:"p99_ms"`
	CPURatio        float64 `json:"cpu_ratio"` // gateway CPU per event ÷ raw paho CPU per message
	RSSMB           float64 `json:"rss_mb"`    // gateway peak RSS (VmHWM)
	DrainRatio      float64 `json:"drain_ratio"`
	RestartMs       float64 `json:"restart_ms"` // gateway process start → first event at the subscriber

	Devices       int    `json:"devices"`
	DeviceMode    string `json:"device_mode"`    // wire or fwemu
	GatewayBinary string `json:"gateway_binary"` // what ran as the gateway
	// DeviceLink is the devices' own link counters at the end of the
	// first gateway's run (the drain's outage included).
	DeviceLink        deviceSession `json:"device_link"`
	GatewayBinaryMB   float64       `json:"gateway_binary_mb"`
	Inflight          int           `json:"inflight"`
	GatewayEventsPerS float64       `json:"gateway_events_per_s"`
	RawMsgsPerS       float64       `json:"raw_msgs_per_s"`
	GatewayCPUUs      float64       `json:"gateway_cpu_us_per_event"`
	RawCPUUs          float64       `json:"raw_cpu_us_per_msg"`
	// StagesCPUUs is GatewayCPUUs broken down by the stage that spent it
	// (CPU profile labels, e2e_stages.go); absent with -cpuprofile.
	StagesCPUUs map[string]float64 `json:"gateway_cpu_us_by_stage,omitempty"`
	// BenchCPUUs is what the emulated devices and the subscriber (this
	// process, not the gateway's) spent per event in the same window, and
	// MachineBusyPct how busy the whole machine was meanwhile (every process,
	// 100 = every core).
	BenchCPUUs float64 `json:"bench_cpu_us_per_event"`
	// BenchSidesCPUUs splits BenchCPUUs by side (devices, subscriber,
	// unlabelled: the bench's runtime and its measuring).
	BenchSidesCPUUs map[string]float64 `json:"bench_cpu_us_by_side,omitempty"`
	MachineBusyPct  float64            `json:"machine_busy_pct"`
	RSSAnonMB       float64            `json:"rss_anon_mb"` // of the gateway after the drain: heap and stacks
	RSSFileMB       float64            `json:"rss_file_mb"` // the executable's pages, mostly
	RawRSSMB        float64            `json:"raw_rss_mb"`  // raw paho child, holding every message it publishes
	SyncWindowMs    float64            `json:"sync_window_ms"`
	OfferedPerS     float64            `json:"offered_per_s"` // achieved during the latency phase
	LatencyEvents   int                `json:"latency_events"`
	P90Ms           float64            `json:"p90_ms"`
	MaxMs           float64            `json:"max_ms"`
	// The peer's latency (e2e_peerlat.go): raw paho publishing the latency
	// phase's messages at the same rate to the same broker and subscriber,
	// publish call → subscriber; and the gateway's p50 minus the peer's, the
	// gateway's own share at the median (the p99s do not subtract).
	RawLatencyEvents  int     `json:"raw_latency_events"`
	RawOfferedPerS    float64 `json:"raw_offered_per_s"`
	RawP50Ms          float64 `json:"raw_p50_ms"`
	RawP90Ms          float64 `json:"raw_p90_ms"`
	RawP99Ms          float64 `json:"raw_p99_ms"`
	RawMaxMs          float64 `json:"raw_max_ms"`
	GatewayShareP50Ms float64 `json:"gateway_share_p50_ms"`
	DrainEvents       int     `json:"drain_events"`
	GatewayDrainPerS  float64 `json:"gateway_drain_per_s"`
	RawDrainPerS      float64 `json:"raw_drain_per_s"`
	DrainCPUUs        float64 `json:"drain_cpu_us_per_event"` // gateway, over the drain (no device traffic)
	DrainCPURatio     float64 `json:"drain_cpu_ratio"`        // that ÷ raw paho's on the same messages
	ReconnectMs       float64 `json:"reconnect_ms"`           // broker and subscriber up again → first backlog event delivered (backoff)
	RestartEvents     int     `json:"restart_events"`
	RestartDrainPerS  float64 `json:"restart_drain_per_s"`
	// RestartRSSMB is the peak RSS of the gateway that restarted on
	// RestartEvents and delivered them all: against RSSMB it says what a
	// backlog costs in memory (the journal streams it from disk).
	RestartRSSMB     float64 `json:"restart_rss_mb"`
	RestartRSSAnonMB float64 `json:"restart_rss_anon_mb"` // resident now, anonymous: heap and stacks
	Duplicates       int     `json:"duplicates"`          // redeliveries seen by the subscriber (same id again)
	// SubscriberMissing counts throughput-phase events the broker acknowledged
	// to the gateway (its journal drained, nothing shed) that never reached the
	// bench's subscriber: loss between the broker and the subscriber.
	SubscriberMissing int `json:"subscriber_missing,omitempty"`
	// Idle is the idle phase (-idle): every device connected, heartbeats only.
	Idle *idleResult `json:"idle,omitempty"`
}

func e2eMain(ctx context.Context, args []string) error {
	var cfg e2eConfig
	fs := flag.NewFlagSet("e2e", flag.ContinueOnError)
	fs.IntVar(&cfg.Devices, "devices", 64, "emulated devices, each on its own PTY")
	fs.StringVar(&cfg.DeviceMode, "device-mode", deviceWire, "how the devices are emulated: wire (hand-encoded frames, a minimal session: cheap) or fwemu (the full device firmware, flash file fsync'd at every record)")
	fs.IntVar(&cfg.Inflight, "inflight", 64, "publishes awaiting PUBACK at once, for the gateway and raw paho alike")
	fs.DurationVar(&cfg.SyncWindow, "sync-window", 10*time.Millisecond, "the gateway journal's sync window: at most one fsync per window under load (the configuration's default)")
	fs.Float64Var(&cfg.Rate, "rate", 1000, "events/s offered in total while measuring latency")
	fs.DurationVar(&cfg.LatencyFor, "latency-for", 10*time.Second, "how long to offer -rate")
	fs.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "saturated load before the throughput window opens")
	fs.DurationVar(&cfg.SaturateFor, "saturate-for", 10*time.Second, "the throughput window")
	fs.IntVar(&cfg.Backlog, "backlog", 40000, "events the devices produce while the broker is down")
	fs.IntVar(&cfg.RestartBacklog, "restart-backlog", 100000, "events in the journal when the gateway restarts")
	fs.StringVar(&cfg.Dir, "dir", "", "where to make the gateway's state directory (default: the current directory; never tmpfs)")
	fs.StringVar(&cfg.Mosquitto, "mosquitto", "", "mosquitto binary (default: from PATH or the sbin directories)")
	fs.BoolVar(&cfg.JSON, "json", false, "print one JSON object")
	fs.DurationVar(&cfg.Idle, "idle", 0, "once every link is up, measure the gateway for this long with the devices idle (heartbeats only): CPU %, wake-ups/s, RSS (0: no idle phase; 60s is the reference)")
	fs.BoolVar(&cfg.IdleOnly, "idle-only", false, "stop after the idle phase")
	fs.IntVar(&cfg.GOGC, "gogc", 0, "the gateway's GOGC (GC percent; -1 is off); 0 leaves the runtime's default")
	fs.StringVar(&cfg.MemLimit, "gomemlimit", "", "the gateway's GOMEMLIMIT (e.g. 20MiB); empty leaves the runtime's default")
	fs.StringVar(&cfg.Officegate, "officegate", "", "the officegate `binary` to measure (default: built by the bench from this module, as a release is, with -tags benchprofile for the profiles by stage; a binary without that tag is measured without them)")
	fs.StringVar(&cfg.MemProfile, "memprofile", "", "write the gateway's heap profile (after the drain, at its peak) to `file`")
	fs.StringVar(&cfg.Profile, "cpuprofile", "", "write the gateway's CPU profile (the whole run of its first process) to `file`")
	fs.StringVar(&cfg.Child, "child", "", "internal: run the raw publisher in this process")
	fs.StringVar(&cfg.Broker, "broker", "", "internal: broker URL")
	fs.StringVar(&cfg.Messages, "messages", "", "internal: messages for the raw publisher")
	setUsage(fs, "usage: bench e2e [flags]\n\n"+
		"Runs emulated devices on PTYs through officegate and mosquitto to a subscriber,\n"+
		"and raw paho QoS 1 publishing the same messages, in one run, and compares them.\n"+
		"Needs mosquitto and, unless -officegate is given, the go command.\n\n", "child", "broker", "messages")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	if cfg.Child != "" {
		go exitWithParent()
	}
	if cfg.Child != "" {
		return rawChild(ctx, cfg)
	}
	var progress io.Writer = os.Stderr
	if cfg.JSON {
		progress = io.Discard
	}
	r, err := runE2E(ctx, cfg, progress)
	if err != nil {
		return err
	}
	if cfg.JSON {
		return json.NewEncoder(os.Stdout).Encode(r)
	}
	printE2E(os.Stdout, cfg, r)
	return nil
}

func (c *e2eConfig) validate() error {
	switch {
	case c.Devices < 1 || c.Devices > 256:
		return fmt.Errorf("e2e: -devices %d: must be 1..256", c.Devices)
	case c.DeviceMode != deviceWire && c.DeviceMode != deviceFwemu:
		return fmt.Errorf("e2e: -device-mode %q: wire or fwemu", c.DeviceMode)
	case c.Inflight < 1 || c.Inflight > 65535:
		return fmt.Errorf("e2e: -inflight %d: must be 1..65535", c.Inflight)
	case c.SyncWindow <= 0 || c.SyncWindow > time.Second:
		// The configuration's range; 0 would mean the default here.
		return fmt.Errorf("e2e: -sync-window %v: must be in (0, 1s]", c.SyncWindow)
	case c.Rate <= 0 || c.Rate > 100000:
		return fmt.Errorf("e2e: -rate %g: must be in (0, 100000]", c.Rate)
	case c.Idle < 0 || (c.IdleOnly && c.Idle == 0):
		return fmt.Errorf("e2e: -idle %v: must be positive with -idle-only, and not negative", c.Idle)
	case c.LatencyFor <= 0 || c.SaturateFor <= 0 || c.Warmup < 0:
		return fmt.Errorf("e2e: -latency-for %v, -saturate-for %v, -warmup %v: must be positive", c.LatencyFor, c.SaturateFor, c.Warmup)
	case c.Backlog < 2 || c.Backlog > 10000*c.Devices:
		// 10 000 is an emulated device's store: beyond it events are dropped.
		return fmt.Errorf("e2e: -backlog %d: must be 2..%d (10 000 per device)", c.Backlog, 10000*c.Devices)
	case c.RestartBacklog < 1:
		return fmt.Errorf("e2e: -restart-backlog %d: must be positive", c.RestartBacklog)
	case c.MemLimit != "" && !validMemLimit(c.MemLimit):
		return fmt.Errorf("e2e: -gomemlimit %q: want a size like 20MiB", c.MemLimit)
	case c.Child != "" && c.Child != "raw" && c.Child != childRawLatency:
		return fmt.Errorf("e2e: -child %q: raw or %s", c.Child, childRawLatency)
	case c.Child != "" && c.Broker == "":
		return fmt.Errorf("e2e: -child %s needs -broker", c.Child)
	case c.Child != "" && c.Messages == "":
		return fmt.Errorf("e2e: -child %s needs -messages", c.Child)
	}
	return nil
}
