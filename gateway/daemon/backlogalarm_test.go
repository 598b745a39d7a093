package daemon_test

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/gateway/uplink"
)

// TestBacklogAlarmEvent: a sink whose destination is down keeps half the
// journal's cap; the gateway publishes a device.alarm on the sinks' device
// naming the sink (MQTT.md §5.5), once, while the broker still gets every
// punch.
func TestBacklogAlarmEvent(t *testing.T) {
	b := mqtttest.Start(t, nil)
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + l.Addr().String() + "/in" // refuses: nothing accepts
	l.Close()
	events := newCollector(t, b.URL, "officegate/gw-bl/devices/+/events/+")
	o := daemon.Options{
		Gateway: "gw-bl", StateDir: filepath.Join(dir, "gw"),
		Uplink:  uplink.Options{Broker: b.URL, ClientID: "officegate-gw-bl"},
		Journal: journal.Options{SegmentSize: 16 << 10, MaxBytes: 256 << 10, MaxRecordSize: 4096, SyncWindow: time.Millisecond},
		Sinks: []daemon.Sink{{Name: "hr-hook", Kind: "webhook", Streams: []string{"attendance"},
			Settings: sinks.Settings{"url": down, "timeout": "200ms"}}},
		Log: zerolog.Nop(),
	}
	// Fill the sink's backlog to the threshold, then restart: the runner
	// checks its backlog as it starts.
	ready := make(chan *daemon.Gateway, 1)
	o1 := o
	o1.Ready = func(g *daemon.Gateway) { ready <- g }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- daemon.Run(ctx, o1) }()
	var g *daemon.Gateway
	select {
	case g = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("gateway did not start: %v", err)
	}
	start := time.Now()
	for i := 0; ; i++ {
		cs, err := g.Journal.ConsumerStats("hr-hook")
		if err != nil {
			t.Fatal(err)
		}
		var bytes int64
		for _, s := range cs {
			bytes = max(bytes, s.Bytes)
		}
		if sinks.BacklogAlarm(bytes, g.Journal.Stats().MaxBytes) {
			break
		}
		ev := devices.Event{Device: "reader-1", Type: "attendance.punch", Time: start.Add(time.Duration(i) * time.Millisecond),
			Clock: devices.ClockSynced, Data: map[string]any{"person": "P-1", "credential": "card", "state": "in"}}
		if err := g.Intake.Emit(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	runGateway(t, o)
	var alarms []published
	waitUntil(t, 30*time.Second, "the backlog alarm published on MQTT", func() bool {
		alarms = eventsOf(t, events, daemon.SinksDevice)
		return len(alarms) >= 1
	})
	a := alarms[0]
	detail, _ := a.Data["detail"].(string)
	if a.Type != "device.alarm" || a.Data["alarm"] != "other" || !strings.Contains(detail, `sink "hr-hook" backlog`) {
		t.Fatalf("alarm %+v", a)
	}
	if len(alarms) != 1 {
		t.Fatalf("%d alarms, want one: %+v", len(alarms), alarms)
	}
}
