package daemon_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/firmware-bridge/fwemu"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/gateway/uplink"
)

// slowRoom is a room that takes its panel's events only when let: a room
// whose state file's disk stalls.
type slowRoom struct {
	panel string
	gate  chan struct{} // closed: take events

	mu      sync.Mutex
	buttons []uint64 // guarded by mu; in the order taken
}

func (r *slowRoom) Describe() devices.Description {
	return devices.Description{ID: "room-slow", Kind: "room"}
}

func (r *slowRoom) Run(ctx context.Context, _ devices.Sink) error {
	<-ctx.Done()
	return nil
}

func (r *slowRoom) PanelID() string { return r.panel }

func (r *slowRoom) PanelEvent(ctx context.Context, typ string, data map[string]any, at time.Time) {
	select {
	case <-r.gate:
	case <-ctx.Done():
	}
	n, _ := data["button"].(uint64)
	r.mu.Lock()
	r.buttons = append(r.buttons, n)
	r.mu.Unlock()
}

func (r *slowRoom) taken() []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]uint64(nil), r.buttons...)
}

// TestPanelQueueFull: a panel sends more events than the queue to its room
// holds while the room is stalled. Every event, already durable, still
// reaches the room, in order, once the room moves again: the panel waits
// (its events stay in its own memory, unacknowledged) instead of the gateway
// dropping what the queue cannot hold.
func TestPanelQueueFull(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	const n = 300 // more than the queue holds
	b := mqtttest.Start(t, nil)
	dir := t.TempDir()
	panel, err := fwemu.StartPTY("panel-q", fwemu.Options{StatePath: filepath.Join(dir, "panel"),
		HardwareID: "EMU-panel-q", Kind: msg.KindRoomPanel, RTC: true, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { panel.Stop() })
	room := &slowRoom{panel: "panel-q", gate: make(chan struct{})}
	events := newCollector(t, b.URL, "officegate/gw-q/devices/panel-q/events/#")
	runGateway(t, daemon.Options{
		Gateway: "gw-q", StateDir: filepath.Join(dir, "gw"),
		Uplink:  uplink.Options{Broker: b.URL, ClientID: "officegate-gw-q"},
		Devices: []daemon.Device{{ID: "panel-q", Kind: "panel", Port: panel.Path, Baud: 115200}},
		Drivers: []devices.Driver{room}, Log: zerolog.Nop(),
	})
	want := make([]uint64, n)
	bodies := make([]map[string]any, n)
	for i := range want {
		want[i] = uint64(i%32 + 1)
		bodies[i] = fwemu.PanelButton(want[i])
	}
	if _, err := panel.Emu.EmitMany("button", bodies); err != nil {
		t.Fatal(err)
	}
	// More are durable (published) than the stalled room's queue holds.
	waitUntil(t, 30*time.Second, "more panel events published than the queue holds", func() bool {
		return len(eventsOf(t, events, "panel-q")) > 256+1
	})
	close(room.gate)
	waitUntil(t, 30*time.Second, "every panel event published", func() bool {
		return len(eventsOf(t, events, "panel-q")) >= n && panel.Emu.Held() == 0
	})
	waitUntil(t, 30*time.Second, "every panel event taken by the room", func() bool {
		return len(room.taken()) >= n
	})
	got := room.taken()
	if len(got) != n {
		t.Fatalf("the room took %d events, want %d", len(got), n)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("event %d: button %d, want %d (out of order)", i, got[i], want[i])
		}
	}
}
