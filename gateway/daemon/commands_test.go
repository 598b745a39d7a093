package daemon_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/officegate/officegate/firmware-bridge/fwemu"
	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/gateway/uplink"
)

// TestLinkNamesNeverReachTheTerminal: a command published under the device
// link's name of a command (user_upsert, door_pulse, set_time, time_set) is
// answered unsupported and nothing reaches the terminal, so nothing gets
// around the gateway's checks (a PIN, a face template, a typed time); the
// contract's names go through those checks. Commands left retained on the
// broker before the gateway starts are answered error and not executed.
// Real mosquitto, an emulated
// terminal on a real PTY, the whole gateway.
func TestLinkNamesNeverReachTheTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	b := mqtttest.Start(t, nil)
	dir := t.TempDir()
	term := startTerminal(t, "term-1", fwemu.Options{StatePath: filepath.Join(dir, "term"), Door: true, Seed: 3})
	results := newCollector(t, b.URL, "officegate/gw-c/devices/+/results")
	// Commands left retained on the broker while the gateway is down are
	// answered error when it starts, never executed (MQTT.md §6).
	early := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL).SetClientID("admin-early"))
	if tok := early.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("admin: %v", tok.Error())
	}
	for name, body := range map[string]string{
		"door.pulse":  `{"id":"retained-door","args":{"duration_ms":500}}`,
		"user.upsert": `{"id":"retained-user","args":{"user":"9"}}`,
	} {
		if tok := early.Publish("officegate/gw-c/devices/term-1/commands/"+name, 1, true, body); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", name, tok.Error())
		}
	}
	early.Disconnect(0)
	g := runGateway(t, daemon.Options{
		Gateway: "gw-c", StateDir: filepath.Join(dir, "gw"),
		Uplink:  uplink.Options{Broker: b.URL, ClientID: "officegate-gw-c"},
		Devices: []daemon.Device{{ID: "term-1", Kind: "terminal", Port: term.Path, Baud: 115200}},
		Log:     zerolog.Nop(),
	})
	waitUntil(t, 30*time.Second, "the terminal online and the gateway subscribed", func() bool {
		up, _ := g.Uplink.Connected() // connected means subscribed: commands published before are lost
		return up && g.Link("term-1").Status().Online
	})
	admin := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL).SetClientID("admin-c"))
	if tok := admin.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("admin: %v", tok.Error())
	}
	defer admin.Disconnect(0)
	want := map[string]string{"retained-door": "error", "retained-user": "error"}
	send := func(name, id string, args any, status string) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"id": id, "args": args})
		if tok := admin.Publish("officegate/gw-c/devices/term-1/commands/"+name, 1, false, body); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", name, tok.Error())
		}
		want[id] = status
	}
	typed := time.Now().Add(24 * time.Hour).UnixMilli()
	send("user_upsert", "a-pin", map[string]any{"user": "1", "pin": "1234"}, "unsupported")
	send("user_upsert", "a-face", map[string]any{"user": "2", "face_template": "AAEC"}, "unsupported")
	send("door_pulse", "a-door", map[string]any{"ms": 500}, "unsupported")
	send("set_time", "a-set-time", map[string]any{"ms": typed}, "unsupported")
	send("time_set", "a-time-set", map[string]any{"ms": typed}, "unsupported")
	send("time.set", "typed-time", map[string]any{"ms": typed}, "error")
	send("user.upsert", "pin", map[string]any{"user": "3", "pin": "1234"}, "error")
	send("user.upsert", "plain", map[string]any{"user": "4", "name": "Li Wei"}, "ok")
	var res map[string]map[string]any
	deadline := time.Now().Add(30 * time.Second)
	for res = resultsOf(t, results); len(res) < len(want); res = resultsOf(t, results) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d results: %v", len(res), len(want), res)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for id, status := range want {
		if res[id]["status"] != status {
			t.Errorf("%s: %v, want %s", id, res[id], status)
		}
	}
	if e, _ := res["a-pin"]["error"].(string); !strings.Contains(e, `"user.upsert"`) {
		t.Errorf("the alias's error does not name the contract's command: %q", e)
	}
	if u := term.Emu.Users(); len(u) != 1 || u["4"].Name != "Li Wei" {
		t.Errorf("users on the terminal: %+v, want only 4", u)
	}
	if p := term.Emu.DoorPulses(); len(p) != 0 {
		t.Errorf("door pulsed %v by a refused command", p)
	}
}

// TestCommandRunningAtExpiry: a command the terminal already had when its
// expires_at passed is answered with the terminal's own result, not
// "expired" (which says nothing was executed): the door did open. Real
// mosquitto, an emulated terminal on a real PTY, the whole gateway.
func TestCommandRunningAtExpiry(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	b := mqtttest.Start(t, nil)
	dir := t.TempDir()
	started, release := make(chan struct{}, 1), make(chan struct{})
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	term := startTerminal(t, "term-x", fwemu.Options{StatePath: filepath.Join(dir, "term"), Door: true, Seed: 5,
		Commands: map[string]fwemu.CommandFunc{"door_pulse": func(ctx context.Context, args map[string]any) (map[string]any, error) {
			started <- struct{}{}
			<-release // the door's motor, slower than the command's expiry
			return map[string]any{"pulsed": true}, nil
		}}})
	results := newCollector(t, b.URL, "officegate/gw-x/devices/+/results")
	g := runGateway(t, daemon.Options{
		Gateway: "gw-x", StateDir: filepath.Join(dir, "gw"),
		Uplink:  uplink.Options{Broker: b.URL, ClientID: "officegate-gw-x"},
		Devices: []daemon.Device{{ID: "term-x", Kind: "terminal", Port: term.Path, Baud: 115200}},
		Log:     zerolog.Nop(),
	})
	waitUntil(t, 30*time.Second, "the terminal online and the gateway subscribed", func() bool {
		up, _ := g.Uplink.Connected()
		return up && g.Link("term-x").Status().Online
	})
	admin := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL).SetClientID("admin-x"))
	if tok := admin.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("admin: %v", tok.Error())
	}
	defer admin.Disconnect(0)
	expires := time.Now().Add(5 * time.Second)
	body, _ := json.Marshal(map[string]any{"id": "slow-door", "args": map[string]any{"duration_ms": 500},
		"expires_at": expires.UTC().Format(time.RFC3339Nano)})
	if tok := admin.Publish("officegate/gw-x/devices/term-x/commands/door.pulse", 1, false, body); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	select {
	case <-started:
	case <-time.After(time.Until(expires)):
		t.Fatal("the terminal did not get the command before it expired")
	}
	// The expiry passes while the terminal runs it; then it finishes.
	time.Sleep(time.Until(expires) + 200*time.Millisecond)
	close(release)
	var res map[string]map[string]any
	waitUntil(t, 30*time.Second, "the command's result", func() bool {
		res = resultsOf(t, results)
		return res["slow-door"] != nil
	})
	if r := res["slow-door"]; r["status"] != "ok" {
		t.Fatalf("result %v, want the terminal's ok: it ran the command", r)
	}
}
