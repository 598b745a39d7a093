package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/officegate/officegate/internal/natstest"
	"github.com/officegate/officegate/internal/pgtest"
)

// TestFleetSmoke runs the fleet command with two gateways and a few events
// against a real 3-node NATS cluster: every publisher's children (this test
// binary, through TestMain) must have every event of both phases come out
// of the stream once (runFleetBench fails a phase with a missing or unknown
// event), every row must carry its figures, and the output must parse. It
// asserts no timing.
func TestFleetSmoke(t *testing.T) {
	natstest.Binary(t) // skips without nats-server 2.10+, fails under CI=true
	cfg := fleetConfig{Gateways: 2, Devices: 3, Events: 40, Inflight: 8, SyncWindow: 10 * time.Millisecond,
		Rate: 100, LatencyFor: 300 * time.Millisecond, Dir: diskTempDir(t), Connect: true}
	if _, err := pgtest.BinDir(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Logf("no connect phase: %v", err)
		cfg.Connect = false
	}
	r, err := runFleetBench(t.Context(), cfg, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back fleetResult
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("result does not round-trip through JSON: %v\n%s", err, b)
	}
	t.Logf("%s", b)
	if len(back.Paths) != len(fleetPaths) {
		t.Fatalf("%d rows, want %d", len(back.Paths), len(fleetPaths))
	}
	for i, p := range back.Paths {
		if p.Path != fleetPaths[i] || p.PublishedPerS <= 0 || p.StoredPerS <= 0 || p.DeliveredPerS <= 0 || p.CPUUs <= 0 || p.ClusterCPUUs <= 0 || p.P99Ms <= 0 {
			t.Errorf("row %d: figures missing: %+v", i, p)
		}
		if p.Duplicates != 0 {
			t.Errorf("%s: %d duplicates without a failure", p.Path, p.Duplicates)
		}
		// 100/s for 300 ms from 2 gateways: 15 each.
		if p.OfferedPerS < 90 || p.OfferedPerS > 110 {
			t.Errorf("%s: paced phase offered %.0f events/s, want 100", p.Path, p.OfferedPerS)
		}
	}
	// OFFICEGATE holds both phases of the native JetStream publisher, which
	// it acknowledged itself (the MQTT publishers' too, unless it changed
	// leader while they published).
	if events := uint64(2*40 + 30); back.Stream.Messages < events {
		t.Errorf("the stream holds %d messages, want at least the native publisher's %d events", back.Stream.Messages, events)
	}
	// Both phases of both MQTT publishers, from $MQTT_msgs.
	if mqtt := 2 * (2*40 + 30); cfg.Connect && (back.Connect == nil || back.Connect.Events != mqtt || back.Connect.PerS <= 0) {
		t.Errorf("connect phase: %+v, want every event the MQTT publishers were PUBACKed for (%d) at a rate", back.Connect, mqtt)
	}
	var out bytes.Buffer
	printFleet(&out, back)
	for _, want := range []string{"officegate uplinks", "raw paho", "JetStream native", "p99 ms"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table without %q:\n%s", want, out.String())
		}
	}
}

// TestFleetOfficegateLeaderElections runs the fleet command while the
// OFFICEGATE stream changes leader again and again under the MQTT
// publishers, as a loaded machine makes it do: OFFICEGATE then misses
// PUBACKed messages (docs/nats/README.md), and a bench reading it failed
// with events that "never came out of the stream". Every event of an MQTT
// publisher must still come out, once, of $MQTT_msgs.
func TestFleetOfficegateLeaderElections(t *testing.T) {
	natstest.Binary(t)
	cfg := fleetConfig{Gateways: 2, Devices: 3, Events: 40, Inflight: 8, SyncWindow: 10 * time.Millisecond,
		Rate: 100, LatencyFor: 300 * time.Millisecond, Dir: diskTempDir(t)}
	var mu sync.Mutex
	elections := map[int]int{} // phase → leader step-downs the cluster accepted
	fleetPhaseHook = func(ctx context.Context, path string, phase int, nc *nats.Conn) {
		if path == "jetstream" { // OFFICEGATE acknowledges its publishes: an election is a retry there
			return
		}
		// A step-down every 100 ms until the child has printed: the
		// leader steps down and the next one elected does too. Without a
		// leader the request has no answer: it gives up after a second.
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for ctx.Err() == nil {
			rctx, cancel := context.WithTimeout(ctx, time.Second)
			m, err := nc.RequestWithContext(rctx, "$JS.API.STREAM.LEADER.STEPDOWN.OFFICEGATE", nil)
			cancel()
			var resp struct {
				Success bool `json:"success"`
			}
			if err == nil && json.Unmarshal(m.Data, &resp) == nil && resp.Success {
				mu.Lock()
				elections[phase]++
				mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
	}
	t.Cleanup(func() { fleetPhaseHook = nil })
	r, err := runFleetBench(t.Context(), cfg, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	// Phases 1-4: officegate and raw paho, saturated and paced.
	t.Logf("OFFICEGATE leader step-downs accepted per phase: %v", elections)
	if len(elections) == 0 {
		t.Error("no leader step-down accepted while an MQTT publisher ran: the test tested nothing")
	}
	for _, p := range r.Paths {
		if p.Duplicates != 0 {
			t.Errorf("%s: %d duplicates", p.Path, p.Duplicates)
		}
	}
}

func TestFleetConfigRefused(t *testing.T) {
	good := fleetConfig{Gateways: 16, Devices: 64, Events: 1000, Inflight: 64, SyncWindow: 10 * time.Millisecond,
		Rate: 1000, LatencyFor: 10 * time.Second, Ramp: 32}
	if err := good.validate(); err != nil {
		t.Fatalf("defaults refused: %v", err)
	}
	for _, bad := range []func(*fleetConfig){
		func(c *fleetConfig) { c.Gateways = 0 },
		func(c *fleetConfig) { c.Devices = 0 },
		func(c *fleetConfig) { c.Events = 0 },
		func(c *fleetConfig) { c.Inflight = 0 },
		func(c *fleetConfig) { c.SyncWindow = 0 },
		func(c *fleetConfig) { c.Rate = 0 },
		func(c *fleetConfig) { c.LatencyFor = 0 },
		func(c *fleetConfig) { c.Ramp = 0 },
		func(c *fleetConfig) { c.IdleFor = -time.Second },
		func(c *fleetConfig) { c.Publishers = "officegate,mosquitto" },
		func(c *fleetConfig) { c.Child = "mosquitto" },
		func(c *fleetConfig) { c.Child = "raw" }, // without -nodes and -phase
	} {
		c := good
		bad(&c)
		if err := c.validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

// TestFleetStreamIsDocumented holds the bench's stream to the one
// docs/nats/officegate-stream.json recommends, but for its byte limit.
func TestFleetStreamIsDocumented(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "nats", "officegate-stream.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc jetstream.StreamConfig
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	got := fleetStream()
	doc.Description, doc.MaxBytes, got.MaxBytes = "", 0, 0
	if !reflect.DeepEqual(got, doc) {
		t.Fatalf("fleetStream() = %+v\ndocs/nats/officegate-stream.json = %+v", got, doc)
	}
}
