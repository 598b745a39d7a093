package demo_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/officegate/officegate/firmware-bridge/fwemu"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/gateway/contract"
	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/gateway/demo"
	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/gateway/uplink"
)

// published is one message seen on the broker.
type published struct {
	topic    string
	payload  []byte
	retained bool
}

// recorder keeps every message under the demo gateway's topics.
type recorder struct {
	mu      sync.Mutex
	msgs    []published   // guarded by mu
	changed chan struct{} // guarded by mu; closed and replaced on every message
}

func (r *recorder) take(_ paho.Client, m paho.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, published{topic: m.Topic(), payload: bytes.Clone(m.Payload()), retained: m.Retained()})
	close(r.changed)
	r.changed = make(chan struct{})
}

// seen returns what was received so far and a channel closed at the next.
func (r *recorder) seen() ([]published, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs), r.changed
}

// TestEveryPublishedMessageKeepsTheContract runs every kind of device the
// gateway has through the daemon, against a real mosquitto, as the demo
// wires them: link terminals (fwemu attendance terminals, one with a
// drifted clock), a link room panel (fwemu, its buttons and its own
// occupancy sensor), a link kiosk panel (fwemu), a Wiegand reader
// (wiegandsim pulse trains), a ZKTeco PUSH terminal (zkpushsim over HTTP),
// the reception kiosk (QR scanner on a PTY,
// escpossim printer, gpiosim door) and the meeting room (gpiosim PIR and
// LEDs). It waits until each expected event type and every device's status
// has been published, then checks every message under the gateway's topics
// against the schema its topic selects (contract.CheckPublished): by kind
// from its place, an event by the type level of its topic, with all schemas
// compiled together so their $refs resolve. An event type without a schema
// fails, as does any topic outside the contract.
func TestEveryPublishedMessageKeepsTheContract(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the demo runs in real time")
	}
	b := mqtttest.Start(t, nil)
	root := "officegate/" + demo.Gateway
	rec := &recorder{changed: make(chan struct{})}
	c := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL).SetClientID("conformance").SetCleanSession(true).
		SetOrderMatters(false))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(100)
	if tok := c.Subscribe(root+"/#", 1, rec.take); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}

	// What the demo's devices must have published before the check is
	// worth anything: every device's status, and each event type the demo
	// makes, from the device that makes it.
	devicesWanted := []string{"t-lobby-1", "t-lobby-2", demo.Panel, demo.LobbyPanel, "reader-lobby", demo.PushTerminal, demo.Terminal4370, demo.Lobby, demo.Room}
	eventsWanted := []string{
		"t-lobby-1/attendance.punch", "t-lobby-2/attendance.punch", "t-lobby-2/device.alarm",
		"reader-lobby/attendance.punch", demo.PushTerminal + "/attendance.punch", demo.Terminal4370 + "/attendance.punch",
		demo.Panel + "/room.button", demo.Panel + "/room.occupancy",
		demo.Room + "/room.checkin", demo.Room + "/room.occupancy", demo.Room + "/room.led", demo.Room + "/room.release_suggested",
		demo.Lobby + "/visitor.checked_in", demo.Lobby + "/visitor.scan_rejected", demo.Lobby + "/visitor.checked_out",
		demo.Lobby + "/badge.print_result", demo.Lobby + "/door.state",
	}
	missing := func(msgs []published) []string {
		have := map[string]bool{}
		for _, m := range msgs {
			tp, err := contract.ParseTopic("officegate", demo.Gateway, m.topic)
			switch {
			case err != nil:
			case tp.Kind == contract.DeviceStatus:
				have["status:"+tp.Device] = true
			case tp.Kind == contract.Event:
				have[tp.Device+"/"+tp.Type] = true
			}
		}
		var out []string
		for _, d := range devicesWanted {
			if !have["status:"+d] {
				out = append(out, "status of "+d)
			}
		}
		for _, e := range eventsWanted {
			if !have[e] {
				out = append(out, e)
			}
		}
		return out
	}

	var out bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	badges := t.TempDir()
	go func() {
		done <- demo.Run(ctx, demo.Options{Broker: b.URL, Out: &out, BadgeDir: badges, Version: "test"})
	}()

	// The demo's script runs in real time (its release suggestion comes
	// about 15 s in); the deadline only bounds a run that went wrong.
	deadline := time.After(3 * time.Minute)
	for {
		msgs, next := rec.seen()
		if len(missing(msgs)) == 0 {
			break
		}
		select {
		case <-next:
			continue
		case err := <-done:
			t.Fatalf("the demo stopped early: %v\n%s", err, out.String())
		case <-deadline:
		}
		cancel()
		<-done
		t.Fatalf("after 3 min the demo has not published %v\n%s", missing(msgs), out.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}

	msgs, _ := rec.seen()
	kinds := map[contract.Kind]int{}
	types := map[string]int{}
	for _, m := range msgs {
		if err := contract.CheckPublished("officegate", demo.Gateway, m.topic, m.payload); err != nil {
			t.Errorf("%s: %v\n\t%s", m.topic, err, m.payload)
			continue
		}
		tp, _ := contract.ParseTopic("officegate", demo.Gateway, m.topic)
		kinds[tp.Kind]++
		if tp.Kind == contract.Event {
			types[tp.Type]++
		}
	}
	for _, k := range []contract.Kind{contract.Event, contract.Result, contract.Command, contract.GatewayStatus, contract.DeviceStatus} {
		if kinds[k] == 0 {
			t.Errorf("no %s message checked", k)
		}
	}
	var summary []string
	for typ, n := range types {
		summary = append(summary, fmt.Sprintf("%s=%d", typ, n))
	}
	slices.Sort(summary)
	t.Logf("%d messages checked: %v; events %s", len(msgs), kinds, strings.Join(summary, " "))
}

// TestGeneratedEventsKeepTheContract: what the emulated firmware generates
// by itself (fwemu's Rate: punches at a terminal, key presses and occupancy
// changes at a room panel with no room, nothing at a kiosk's panel) is
// published by the gateway in the contract's shapes, in JSON and in CBOR
// (MQTT.md §9), each message checked against the schema its topic selects.
func TestGeneratedEventsKeepTheContract(t *testing.T) {
	for _, f := range []struct {
		name   string
		format envelope.Format
	}{{"json", envelope.JSON}, {"cbor", envelope.CBOR}} {
		t.Run(f.name, func(t *testing.T) { generatedEvents(t, "gen-"+f.name, f.format) })
	}
}

func generatedEvents(t *testing.T, gw string, format envelope.Format) {
	b := mqtttest.Start(t, nil)
	rec := &recorder{changed: make(chan struct{})}
	c := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL).SetClientID("conformance-gen").SetCleanSession(true))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(100)
	if tok := c.Subscribe("officegate/"+gw+"/#", 1, rec.take); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	dir := t.TempDir()
	var devs []daemon.Device
	for i, d := range []struct {
		id, kind string
		k        msg.Kind
	}{{"t-gen", "terminal", msg.KindAttendance}, {"p-gen", "panel", msg.KindRoomPanel}, {"k-gen", "kiosk", msg.KindKiosk}} {
		e, err := fwemu.StartPTY(d.id, fwemu.Options{StatePath: filepath.Join(dir, d.id), HardwareID: "GEN-" + d.id,
			Kind: d.k, Rate: 50, Seed: uint64(i + 1), RTC: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Stop() })
		devs = append(devs, daemon.Device{ID: d.id, Kind: d.kind, Port: e.Path, Baud: 115200})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, daemon.Options{Gateway: gw, StateDir: filepath.Join(dir, "gw"),
			Uplink:  uplink.Options{Broker: b.URL, ClientID: "officegate-" + gw, Format: format},
			Devices: devs, Log: zerolog.Nop(), Version: "test"})
	}()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	}

	// Enough of each to have met both kinds of panel event and both
	// occupancy states many times over (a third of the panel's events are
	// occupancy changes, by the emulator's generator).
	count := func(msgs []published) map[string]int {
		n := map[string]int{}
		for _, m := range msgs {
			tp, err := contract.ParseTopic("officegate", gw, m.topic)
			switch {
			case err != nil:
			case tp.Kind == contract.Event:
				n[tp.Device+"/"+tp.Type]++
			case tp.Kind == contract.DeviceStatus:
				n["status:"+tp.Device]++
			}
		}
		return n
	}
	enough := func(n map[string]int) bool {
		return n["t-gen/attendance.punch"] >= 100 && n["p-gen/room.button"] >= 60 && n["p-gen/room.occupancy"] >= 30 &&
			n["status:k-gen"] > 0
	}
	deadline := time.After(2 * time.Minute)
	for {
		msgs, next := rec.seen()
		if enough(count(msgs)) {
			break
		}
		select {
		case <-next:
			continue
		case <-deadline:
		}
		stop()
		t.Fatalf("after 2 min the gateway has published %v", count(msgs))
	}
	stop()
	msgs, _ := rec.seen()
	for _, m := range msgs {
		if err := contract.CheckPublished("officegate", gw, m.topic, m.payload); err != nil {
			t.Errorf("%s: %v\n\t%s", m.topic, err, m.payload)
		}
		if json := len(m.payload) > 0 && m.payload[0] == '{'; json != (format == envelope.JSON) {
			t.Errorf("%s: JSON %v in format %v: %q", m.topic, json, format, m.payload)
		}
	}
	n := count(msgs)
	for k := range n {
		if strings.HasPrefix(k, "k-gen/") && !strings.HasPrefix(k, "k-gen/device.") {
			t.Errorf("a kiosk's panel generated %s", k)
		}
	}
	t.Logf("%d messages checked: %v", len(msgs), n)
}
