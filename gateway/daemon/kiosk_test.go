package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/pelletier/go-toml/v2"
	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/escpos"
	"github.com/officegate/officegate/devices/escpos/escpossim"
	"github.com/officegate/officegate/devices/gpio"
	"github.com/officegate/officegate/devices/gpio/gpiosim"
	"github.com/officegate/officegate/devices/kiosk"
	"github.com/officegate/officegate/gateway/contract"
	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/gateway/uplink"
)

const kioskKey = "0123456789abcdef0123456789abcdef"

// kioskRig is a reception kiosk on real PTYs (scanner, emulated ESC/POS
// printer) and a simulated door, run by the whole gateway against a real
// mosquitto whose sessions persist across its restarts.
type kioskRig struct {
	t       *testing.T
	b       *mqtttest.Broker
	scanner *os.File
	printer *escpossim.Printer
	relay   *gpiosim.Pin
	front   *persistentClient // the front desk's consumer: events and results
	admin   paho.Client
	cancel  context.CancelFunc
	done    chan error
}

func newKioskRig(t *testing.T) *kioskRig {
	t.Helper()
	dir := t.TempDir()
	r := &kioskRig{t: t}
	r.b = mqtttest.Start(t, &mqtttest.Options{Extra: []string{
		"persistence true", "persistence_location " + dir + "/",
	}})
	if err := os.WriteFile(filepath.Join(dir, "invite.key"), []byte(kioskKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m, s, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); m.Close() })
	r.scanner = m
	if r.printer, err = escpossim.New(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.printer.Close() })
	section := fmt.Sprintf(`scanner_port = %q
printer_port = %q
invite_key_file = %q
state_file = %q
printer_poll = "200ms"
location = "HQ 3F"
[door]
relay_pin = "GPIO17"
relay_active = "high"
max_pulse = "5s"
`, s.Name(), r.printer.Path(), filepath.Join(dir, "invite.key"), filepath.Join(dir, "kiosk.json"))
	board := gpiosim.NewBoard(nil)
	r.relay, _ = board.Pin("GPIO17")
	k, err := kiosk.NewWith("kiosk-lobby", devices.Options{Config: tomlSection(section)}, kiosk.With{Pins: board.Open})
	if err != nil {
		t.Fatal(err)
	}
	r.front = newPersistentClient(t, r.b.URL, "front-desk", "officegate/gw-k/devices/kiosk-lobby/#")
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan error, 1)
	go func() {
		r.done <- daemon.Run(ctx, daemon.Options{
			Gateway: "gw-k", StateDir: filepath.Join(dir, "gw"),
			Uplink:  uplink.Options{Broker: r.b.URL, ClientID: "officegate-gw-k", BackoffMin: 50 * time.Millisecond, BackoffMax: 500 * time.Millisecond},
			Drivers: []devices.Driver{k}, Log: zerolog.Nop(),
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-r.done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	r.admin = paho.NewClient(paho.NewClientOptions().AddBroker(r.b.URL).SetClientID("admin-svc").SetAutoReconnect(true))
	if tok := r.admin.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("admin: %v", tok.Error())
	}
	t.Cleanup(func() { r.admin.Disconnect(0) })
	waitUntil(t, 20*time.Second, "the kiosk online", func() bool {
		return slices.ContainsFunc(r.front.messages(), func(m message) bool {
			return strings.HasSuffix(m.topic, "/status") && strings.Contains(string(m.payload), `"online"`)
		})
	})
	return r
}

func (r *kioskRig) send(name, id string, args map[string]any) {
	r.t.Helper()
	body, _ := json.Marshal(map[string]any{"id": id, "args": args})
	tok := r.admin.Publish("officegate/gw-k/devices/kiosk-lobby/commands/"+name, 1, false, body)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		r.t.Fatalf("publish %s: %v", name, tok.Error())
	}
}

func (r *kioskRig) scan(text string) {
	r.t.Helper()
	if _, err := r.scanner.WriteString(text + "\r\n"); err != nil {
		r.t.Fatal(err)
	}
}

// releases counts the strike's releases on the simulated relay.
func (r *kioskRig) releases() int {
	n := 0
	for _, c := range r.relay.History() {
		if c.Output && c.Level == gpio.High {
			n++
		}
	}
	return n
}

// result waits for the result of command id.
func (r *kioskRig) result(id string) map[string]any {
	r.t.Helper()
	var res map[string]any
	waitUntil(r.t, 20*time.Second, "the result of "+id, func() bool {
		for _, m := range r.front.messages() {
			if strings.HasSuffix(m.topic, "/results") {
				var x map[string]any
				json.Unmarshal(m.payload, &x)
				if x["id"] == id {
					res = x
					return true
				}
			}
		}
		return false
	})
	return res
}

// events returns the kiosk's events of typ, checked against the contract.
func (r *kioskRig) events(typ string) []map[string]any {
	r.t.Helper()
	var out []map[string]any
	for _, m := range r.front.messages() {
		if !strings.HasSuffix(m.topic, "/events/"+typ) {
			continue
		}
		if err := contract.Strict(contract.Event, m.payload); err != nil {
			r.t.Fatalf("event breaks the contract: %v\n%s", err, m.payload)
		}
		var e map[string]any
		json.Unmarshal(m.payload, &e)
		out = append(out, e)
	}
	return out
}

// TestKiosk: a visitor's invite is pushed over MQTT; the scan checks them in
// (event, badge bytes on the printer's PTY, the strike released on its pin);
// a QoS 1 duplicate door.pulse opens the door once; with the broker down the
// kiosk still checks a visitor in from its cache, and the events arrive, in
// order, once the broker is back.
func TestKiosk(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	r := newKioskRig(t)
	now := time.Now()
	invite := func(id, token, name string) {
		r.send("invite.upsert", "up-"+id, map[string]any{"invite_id": id, "token": token, "name": name, "host": "Li Na",
			"valid_from": now.Add(-time.Hour).Format(time.RFC3339), "valid_until": now.Add(8 * time.Hour).Format(time.RFC3339)})
		if res := r.result("up-" + id); res["status"] != "ok" {
			t.Fatalf("invite.upsert %s: %v", id, res)
		}
	}
	invite("inv-1", "QR-TOKEN-ONE", "王芳")
	invite("inv-2", "QR-TOKEN-TWO", "Jonas Berg")

	r.scan("QR-TOKEN-ONE")
	waitUntil(t, 20*time.Second, "the first visitor checked in, badge printed, door released", func() bool {
		return len(r.events("visitor.checked_in")) == 1 && len(r.events("badge.print_result")) == 1 && r.releases() == 1
	})
	in := r.events("visitor.checked_in")[0]["data"].(map[string]any)
	if in["name"] != "王芳" || in["invite_id"] != "inv-1" || in["method"] != "qr" {
		t.Errorf("checked_in data %v", in)
	}
	if pr := r.events("badge.print_result")[0]["data"].(map[string]any); pr["result"] != "printed" {
		t.Errorf("badge: %v", pr)
	}
	jobs := r.printer.Jobs()
	if len(jobs) != 1 {
		t.Fatalf("%d print jobs", len(jobs))
	}
	if _, err := escpos.Render(jobs[0]); err != nil {
		t.Errorf("the badge's ESC/POS does not render: %v", err)
	}
	for _, m := range r.front.messages() {
		if !strings.Contains(m.topic, "/commands/") && strings.Contains(string(m.payload), "QR-TOKEN") {
			t.Fatalf("the gateway published a clear invite token on %s", m.topic)
		}
	}

	// The admin service's door.pulse, delivered twice (QoS 1): one release.
	waitUntil(t, 20*time.Second, "the check-in's 3 s release over", func() bool { return r.relay.Read() == gpio.Low })
	r.send("door.pulse", "door-1", map[string]any{"duration_ms": 300})
	r.send("door.pulse", "door-1", map[string]any{"duration_ms": 300})
	if res := r.result("door-1"); res["status"] != "ok" {
		t.Fatalf("door.pulse: %v", res)
	}
	time.Sleep(500 * time.Millisecond) // a second execution would release again by now
	if n := r.releases(); n != 2 {
		t.Errorf("%d releases after one check-in and one door.pulse sent twice, want 2", n)
	}

	// The uplink goes down: the broker stops. The kiosk works on.
	r.b.Stop()
	r.scan("QR-TOKEN-TWO")
	waitUntil(t, 20*time.Second, "the door released with the broker down", func() bool { return r.releases() == 3 })
	r.scan("NOT-AN-INVITE")
	r.b.Restart()
	waitUntil(t, 30*time.Second, "the offline check-in and rejection delivered after the broker came back", func() bool {
		return len(r.events("visitor.checked_in")) == 2 && len(r.events("visitor.scan_rejected")) == 1
	})
	second := r.events("visitor.checked_in")[1]["data"].(map[string]any)
	if second["name"] != "Jonas Berg" {
		t.Errorf("offline check-in: %v", second)
	}
	// In order, as they happened (first deliveries; QoS 1 may repeat one).
	var order []string
	seen := map[string]bool{}
	for _, m := range r.front.messages() {
		var e struct{ ID, Type string }
		json.Unmarshal(m.payload, &e)
		if (e.Type == "visitor.checked_in" || e.Type == "visitor.scan_rejected") && !seen[e.ID] {
			seen[e.ID] = true
			order = append(order, e.Type)
		}
	}
	if want := []string{"visitor.checked_in", "visitor.checked_in", "visitor.scan_rejected"}; !slices.Equal(order, want) {
		t.Errorf("events in order %v, want %v", order, want)
	}
}

type message struct {
	topic   string
	payload []byte
}

// persistentClient subscribes with a persistent session (clean session off)
// and reconnects by itself, so it misses nothing across a broker restart
// when the broker persists sessions.
type persistentClient struct {
	mu   sync.Mutex
	msgs []message
}

func newPersistentClient(t *testing.T, broker, id, filter string) *persistentClient {
	t.Helper()
	c := &persistentClient{}
	opts := paho.NewClientOptions().AddBroker(broker).SetClientID(id).SetCleanSession(false).
		SetAutoReconnect(true).SetMaxReconnectInterval(200 * time.Millisecond).SetOrderMatters(true)
	opts.SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { c.add(m) })
	cl := paho.NewClient(opts)
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("%s: %v", id, tok.Error())
	}
	if tok := cl.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) { c.add(m) }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("%s subscribe: %v", id, tok.Error())
	}
	t.Cleanup(func() { cl.Disconnect(0) })
	return c
}

func (c *persistentClient) add(m paho.Message) {
	c.mu.Lock()
	c.msgs = append(c.msgs, message{m.Topic(), append([]byte(nil), m.Payload()...)})
	c.mu.Unlock()
}

func (c *persistentClient) messages() []message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]message(nil), c.msgs...)
}

// tomlSection is a device's configuration section, as the gateway's
// configuration hands it to a driver.
type tomlSection string

func (s tomlSection) Decode(v any) error {
	return toml.NewDecoder(strings.NewReader(string(s))).DisallowUnknownFields().Decode(v)
}
