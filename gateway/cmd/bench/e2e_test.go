package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/mqtttest"
)

// TestMain lets the e2e and terminals smoke tests run this test binary as
// their children ("e2e -child …", "fleet -child …"), as the bench
// command runs itself.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && (os.Args[1] == "e2e" || os.Args[1] == "terminals" || os.Args[1] == "zkpush" || os.Args[1] == "fleet") {
		os.Exit(mainWith(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// TestE2ESmoke runs every phase of the e2e command with tiny counts against
// a real mosquitto. It checks delivery only (runE2E fails a phase in which
// an event is missing or an unknown one arrives; here nothing may arrive
// twice either), never a timing.
func TestE2ESmoke(t *testing.T) {
	bin := mqtttest.Binary(t) // skips without mosquitto, fails under CI=true
	cfg := e2eConfig{
		Devices: 3, DeviceMode: deviceWire, Inflight: 8, Rate: 150, LatencyFor: 200 * time.Millisecond,
		Warmup: 100 * time.Millisecond, SaturateFor: 300 * time.Millisecond,
		Backlog: 50, RestartBacklog: 120, Dir: diskTempDir(t), Mosquitto: bin, SyncWindow: 10 * time.Millisecond,
	}
	r, err := runE2E(t.Context(), cfg, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", r)
	if r.LatencyEvents != 30 {
		t.Errorf("latency phase: %d events carried their emit time, want 30 (150/s for 200 ms)", r.LatencyEvents)
	}
	// The peer published the same 30 messages, paced alike, each stamped:
	// the subscriber timed every one.
	if r.RawLatencyEvents != r.LatencyEvents || r.RawOfferedPerS <= 0 || r.RawP50Ms <= 0 || r.RawMaxMs < r.RawP99Ms {
		t.Errorf("raw paho's latency: %d events at %g/s, p50 %g, p99 %g, max %g ms; want the gateway's %d events timed",
			r.RawLatencyEvents, r.RawOfferedPerS, r.RawP50Ms, r.RawP99Ms, r.RawMaxMs, r.LatencyEvents)
	}
	if r.DrainEvents != cfg.Backlog {
		t.Errorf("drain: %d events, want %d", r.DrainEvents, cfg.Backlog)
	}
	if r.RestartEvents != cfg.RestartBacklog {
		t.Errorf("restart: %d events, want %d", r.RestartEvents, cfg.RestartBacklog)
	}
	if r.Duplicates != 0 {
		t.Errorf("%d events arrived more than once without any connection lost mid-flight", r.Duplicates)
	}
	if r.DeviceLink.Sessions < cfg.Devices {
		t.Errorf("the devices opened %d sessions, want at least one each (%d)", r.DeviceLink.Sessions, cfg.Devices)
	}
	if r.GatewayEventsPerS <= 0 || r.RawMsgsPerS <= 0 || r.RSSMB <= 0 || r.RestartMs <= 0 {
		t.Errorf("figures missing: %+v", r)
	}
	// The gateway's CPU by stage came from its profile of the window (a
	// map, empty only if the profiler took no sample), and the bench's own
	// CPU is measured apart from it.
	if r.StagesCPUUs == nil || r.BenchCPUUs <= 0 || r.BenchSidesCPUUs == nil {
		t.Errorf("CPU breakdown missing: stages %v, bench %v µs %v", r.StagesCPUUs, r.BenchCPUUs, r.BenchSidesCPUUs)
	}
}

// TestE2EIdleSmoke runs the idle phase alone: the devices' links up, then
// the gateway measured while they only exchange heartbeats. It checks that
// every figure is there, never its value.
func TestE2EIdleSmoke(t *testing.T) {
	bin := mqtttest.Binary(t) // skips without mosquitto, fails under CI=true
	cfg := e2eConfig{
		Devices: 3, DeviceMode: deviceFwemu, Inflight: 8, Rate: 150, LatencyFor: 200 * time.Millisecond,
		Warmup: 100 * time.Millisecond, SaturateFor: 300 * time.Millisecond, Idle: 500 * time.Millisecond, IdleOnly: true,
		Backlog: 50, RestartBacklog: 120, Dir: diskTempDir(t), Mosquitto: bin, SyncWindow: 10 * time.Millisecond,
	}
	r, err := runE2E(t.Context(), cfg, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", r.Idle)
	if i := r.Idle; i == nil || i.Seconds <= 0 || i.RSSMB <= 0 || i.StagesCPUPct == nil {
		t.Fatalf("idle figures missing: %+v", i)
	}
	if r.GatewayEventsPerS != 0 || r.DrainEvents != 0 {
		t.Errorf("-idle-only ran the other phases too: %+v", r)
	}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) { l.t.Log(string(b)); return len(b), nil }

func TestMessagesRoundTrip(t *testing.T) {
	msgs := []message{{"a/b", []byte(`{"id":"x"}`)}, {"officegate/bench/devices/d/events/e", nil}, {"t", make([]byte, 300)}}
	path := filepath.Join(t.TempDir(), "m")
	if err := writeMessages(path, msgs); err != nil {
		t.Fatal(err)
	}
	got, err := readMessages(path)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(msgs) {
		t.Errorf("read %v, wrote %v", got, msgs)
	}
	b, _ := os.ReadFile(path)
	if err := os.WriteFile(path, b[:len(b)-1], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readMessages(path); err == nil {
		t.Error("a truncated file read without error")
	}
}

func TestProcCPU(t *testing.T) {
	before, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn CPU until the 10 ms ticks move; a wait on a condition, bounded.
	deadline := time.Now().Add(10 * time.Second)
	for x := 0; time.Now().Before(deadline); x++ {
		if x%1_000_000 == 0 {
			if now, _ := procCPU(os.Getpid()); now > before {
				return
			}
		}
	}
	t.Error("CPU time of this process did not move in 10 s of spinning")
}
