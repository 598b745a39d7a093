package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/gpio"
	"github.com/officegate/officegate/devices/gpio/gpiosim"
	"github.com/officegate/officegate/devices/roomdrv"
	"github.com/officegate/officegate/firmware-bridge/fwemu"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/gateway/uplink"
)

// TestRoom: a meeting room whose panel is an emulated device on a real PTY
// and whose LEDs are simulated pins, run by the whole gateway against a real
// mosquitto. The booking system pushes a schedule by MQTT; the booking whose
// window already closed with nobody there is suggested for release; a press
// of the panel's check-in button (an event on the serial link, routed by the
// gateway to the room) checks in the next booking, lights the red LED and
// changes the panel's display line (a command the room sends through the
// gateway to the panel).
func TestRoom(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	b := mqtttest.Start(t, nil)
	dir := t.TempDir()
	panel, err := fwemu.StartPTY("panel-aurora", fwemu.Options{StatePath: filepath.Join(dir, "panel"),
		HardwareID: "EMU-panel-aurora", Kind: msg.KindRoomPanel, RTC: true, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { panel.Stop() })
	board := gpiosim.NewBoard(nil)
	red, _ := board.Pin("GPIO22")
	sender := &daemon.Sender{}
	factory := roomdrv.Factory(board.Open, nil, func(ctx context.Context, p, name string, args map[string]any) error {
		res, err := sender.Send(ctx, p, devices.Command{Name: name, Args: args})
		if err == nil && res.Status != devices.StatusOK {
			err = fmt.Errorf("%s: %s", res.Status, res.Error)
		}
		return err
	})
	section := fmt.Sprintf("state_file = %q\npanel = \"panel-aurora\"\nname = \"Aurora\"\ncheckin_before = \"2s\"\ncheckin_after = \"60s\"\ntick = \"1s\"\nled_green = \"GPIO17\"\nled_yellow = \"GPIO27\"\nled_red = \"GPIO22\"\n",
		filepath.Join(dir, "room.json"))
	rm, err := factory("room-aurora", devices.Options{Config: tomlSection(section)})
	if err != nil {
		t.Fatal(err)
	}
	events := newCollector(t, b.URL, "officegate/gw-r/devices/room-aurora/events/#")
	status := newCollector(t, b.URL, "officegate/gw-r/status")
	results := newCollector(t, b.URL, "officegate/gw-r/devices/room-aurora/results")
	runGateway(t, daemon.Options{
		Gateway: "gw-r", StateDir: filepath.Join(dir, "gw"),
		Uplink:  uplink.Options{Broker: b.URL, ClientID: "officegate-gw-r"},
		Devices: []daemon.Device{{ID: "panel-aurora", Kind: "panel", Port: panel.Path, Baud: 115200}},
		Drivers: []devices.Driver{rm}, Sender: sender, Log: zerolog.Nop(),
	})

	waitUntil(t, 20*time.Second, "the gateway online", func() bool {
		status.mu.Lock()
		defer status.mu.Unlock()
		return len(status.msgs) > 0 && strings.Contains(string(status.msgs[len(status.msgs)-1]), `"online"`)
	})
	// The booking system's schedule: "standup" began 90 s ago and nobody
	// came (its window is over); "review" starts in 2 s (its window is open).
	now := time.Now()
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339Nano) }
	admin := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL).SetClientID("booking-svc"))
	if tok := admin.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer admin.Disconnect(0)
	body, _ := json.Marshal(map[string]any{"id": "sched-1", "args": map[string]any{"version": 1, "bookings": []any{
		map[string]any{"id": "standup", "start": at(-90 * time.Second), "end": at(time.Second), "organizer": "Li Na"},
		map[string]any{"id": "review", "start": at(2 * time.Second), "end": at(time.Hour), "title": "Design review"},
	}}})
	if tok := admin.Publish("officegate/gw-r/devices/room-aurora/commands/room.schedule_set", 1, false, body); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	var res map[string]any
	waitUntil(t, 20*time.Second, "the schedule's result", func() bool {
		res = resultsOf(t, results)["sched-1"]
		return res != nil
	})
	if res["status"] != "ok" {
		t.Fatalf("room.schedule_set: %v", res)
	}
	waitUntil(t, 20*time.Second, "standup suggested for release", func() bool {
		return len(roomEvents(t, events, "room.release_suggested", "standup")) == 1
	})
	// Someone arrives for the review and presses check-in on the panel.
	if _, err := panel.Emu.Emit("button", map[string]any{"button": uint64(1)}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 20*time.Second, "review checked in from the panel, red LED, display line", func() bool {
		return len(roomEvents(t, events, "room.checkin", "review")) == 1 && red.Read() == gpio.High &&
			strings.Contains(panel.Emu.PanelLine(), "Aurora")
	})
	if c := roomEvents(t, events, "room.checkin", "review")[0]; c["source"] != "panel" {
		t.Errorf("check-in %v", c)
	}
	if n := len(roomEvents(t, events, "room.release_suggested", "")); n != 1 {
		t.Errorf("%d release suggestions, want 1", n)
	}
	t.Logf("panel shows %q, LED %q", panel.Emu.PanelLine(), panel.Emu.PanelLED())
}

// roomEvents returns the data of the room's events of typ (for booking, if
// not "").
func roomEvents(t *testing.T, c *collector, typ, booking string) []map[string]any {
	var out []map[string]any
	for _, e := range eventsOf(t, c, "room-aurora") {
		if e.Type == typ && (booking == "" || e.Data["booking"] == booking) {
			out = append(out, e.Data)
		}
	}
	return out
}
