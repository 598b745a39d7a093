package daemon_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/officegate/officegate/firmware-bridge/fwemu"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/gateway/contract"
	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/gateway/uplink"
)

// TestTerminals runs two emulated attendance terminals on real PTYs through
// the whole gateway to a real mosquitto, as HR and the admin service see it:
//   - a morning rush of 600 punches, with the lobby terminal power-cycled
//     twice in the middle, arrives complete, in order, and without one
//     duplicate id;
//   - a terminal whose battery clock is 5 minutes behind delivers the
//     punches it recorded meanwhile flagged drifted with the offset, raises a
//     clock_drift alarm, is stepped, and punches synced afterwards;
//   - the terminal commands: user.upsert (biometric args refused with an
//     alarm), door.pulse executed once for a QoS 1 duplicate, time.set,
//     attendance.fetch replaying punches under their first ids.
func TestTerminals(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	b := mqtttest.Start(t, nil)
	dir := t.TempDir()
	lobby := startTerminal(t, "term-lobby", fwemu.Options{StatePath: filepath.Join(dir, "lobby"), Door: true, Seed: 1})
	back := startTerminal(t, "term-back", fwemu.Options{StatePath: filepath.Join(dir, "back"), Seed: 2,
		ClockSkew: -5 * time.Minute})
	// The back terminal records punches before the gateway is up, with its
	// clock 5 minutes behind.
	early, err := back.Emu.EmitMany("punch", punches(0, 20))
	if err != nil {
		t.Fatal(err)
	}

	events := newCollector(t, b.URL, "officegate/gw-t/devices/+/events/#")
	results := newCollector(t, b.URL, "officegate/gw-t/devices/+/results")
	runGateway(t, daemon.Options{
		Gateway: "gw-t", StateDir: filepath.Join(dir, "gw"),
		Uplink: uplink.Options{Broker: b.URL, ClientID: "officegate-gw-t"},
		Devices: []daemon.Device{
			{ID: "term-lobby", Kind: "terminal", Port: lobby.Path, Baud: 115200},
			{ID: "term-back", Kind: "terminal", Port: back.Path, Baud: 115200},
		},
		TimeSync: link.TimeSync{Spacing: 100 * time.Millisecond},
		Log:      zerolog.Nop(),
	})

	// The morning rush at the lobby: 12 bursts of 50, two power cycles.
	var rush []msg.EventID
	for i := 0; i < 12; i++ {
		ids, err := lobby.Emu.EmitMany("punch", punches(i*50, 50))
		if err != nil {
			t.Fatal(err)
		}
		rush = append(rush, ids...)
		if i == 4 || i == 8 {
			boot := lobby.Emu.Boot()
			lobby.Emu.Reboot()
			waitUntil(t, 10*time.Second, "the lobby terminal rebooted", func() bool { return lobby.Emu.Boot() > boot })
		}
	}
	if first, last := rush[0].Boot, rush[len(rush)-1].Boot; last != first+2 {
		t.Fatalf("the rush spans boots %d..%d: the power cycles did not happen", first, last)
	}
	waitUntil(t, 60*time.Second, "the rush and the early punches at the subscriber", func() bool {
		got := eventsOf(t, events, "")
		return hasAll(got, "term-lobby", rush) && hasAll(got, "term-back", early)
	})
	all := eventsOf(t, events, "")
	var lobbyPunches []published
	seen := map[string]bool{}
	for _, e := range all {
		if e.Device != "term-lobby" || e.Type != "attendance.punch" {
			continue
		}
		if seen[e.ID] {
			t.Errorf("punch %s [%d %d] published twice", e.ID, e.Boot, e.Seq)
		}
		seen[e.ID] = true
		lobbyPunches = append(lobbyPunches, e)
	}
	if len(lobbyPunches) != len(rush) {
		t.Fatalf("%d lobby punches published, %d recorded", len(lobbyPunches), len(rush))
	}
	for i, e := range lobbyPunches {
		if w := rush[i]; e.Boot != w.Boot || e.Seq != uint64(w.Seq) || e.ID != envelope.EventID("EMU-term-lobby", w.Boot, uint64(w.Seq)) {
			t.Fatalf("lobby punch %d is [%d %d], want [%d %d]: lost or reordered", i, e.Boot, e.Seq, w.Boot, w.Seq)
		}
		if person := e.Data["person"]; person != fmt.Sprintf("%05d", i) {
			t.Fatalf("lobby punch %d is person %v", i, person)
		}
	}

	// The back terminal's clock.
	for _, e := range eventsOf(t, events, "term-back") {
		if e.Type != "attendance.punch" {
			continue
		}
		if e.Clock != envelope.ClockDrifted || e.ClockOffsetMS == nil || *e.ClockOffsetMS > -299_000 || *e.ClockOffsetMS < -301_000 {
			t.Errorf("early punch [%d %d]: clock %s offset %v, want drifted by about -300000 ms", e.Boot, e.Seq, e.Clock, e.ClockOffsetMS)
		}
	}
	waitUntil(t, 30*time.Second, "a clock_drift alarm and the device.status history", func() bool {
		var alarm, drifted, synced bool
		for _, e := range eventsOf(t, events, "term-back") {
			switch {
			case e.Type == "device.alarm" && e.Data["alarm"] == "clock_drift":
				off, _ := e.Data["clock_offset_ms"].(float64)
				alarm = off < -299_000 && off > -301_000
			case e.Type == "device.status" && e.Data["clock"] == "drifted":
				drifted = true
			case e.Type == "device.status" && e.Data["clock"] == "synced" && alarm:
				synced = true
			}
		}
		return alarm && drifted && synced
	})
	late, err := back.Emu.Emit("punch", punches(900, 1)[0])
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 20*time.Second, "a punch after the step", func() bool {
		return hasAll(eventsOf(t, events, "term-back"), "term-back", []msg.EventID{late})
	})
	for _, e := range eventsOf(t, events, "term-back") {
		if e.Seq == uint64(late.Seq) && e.Boot == late.Boot && (e.Clock != envelope.ClockSynced || e.ClockOffsetMS != nil) {
			t.Errorf("punch after the step: clock %s offset %v, want synced", e.Clock, e.ClockOffsetMS)
		}
	}

	// Commands.
	admin := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL).SetClientID("admin-svc"))
	if tok := admin.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("admin: %v", tok.Error())
	}
	defer admin.Disconnect(0)
	send := func(device, name, id string, args any) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"id": id, "args": args})
		tok := admin.Publish("officegate/gw-t/devices/"+device+"/commands/"+name, 1, false, body)
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", name, tok.Error())
		}
	}
	send("term-lobby", "user.upsert", "c-1", map[string]any{"user": "10042", "name": "李伟", "card": "12:4660"})
	send("term-lobby", "user.upsert", "c-2", map[string]any{"user": "10043", "face_template": "AAEC"})
	send("term-lobby", "door.pulse", "c-3", map[string]any{"duration_ms": 500})
	send("term-lobby", "door.pulse", "c-3", map[string]any{"duration_ms": 500}) // QoS 1 duplicate
	send("term-back", "time.set", "c-4", nil)
	since := time.Now().Add(-time.Hour).Format(time.RFC3339)
	send("term-lobby", "attendance.fetch", "c-5", map[string]any{"since": since, "limit": 10})
	want := map[string]string{"c-1": "ok", "c-2": "error", "c-3": "ok", "c-4": "ok", "c-5": "ok"}
	var res map[string]map[string]any
	waitUntil(t, 30*time.Second, "five results", func() bool {
		res = resultsOf(t, results)
		return len(res) == len(want)
	})
	for id, status := range want {
		if res[id]["status"] != status {
			t.Errorf("command %s: %v, want %s", id, res[id], status)
		}
	}
	if d, _ := res["c-3"]["data"].(map[string]any); d["duration_ms"] != float64(500) {
		t.Errorf("door.pulse result data %v", res["c-3"]["data"])
	}
	if p := lobby.Emu.DoorPulses(); len(p) != 1 {
		t.Errorf("door pulsed %d times for one command id sent twice", len(p))
	}
	if u := lobby.Emu.Users(); u["10042"].Name != "李伟" || len(u) != 1 {
		t.Errorf("users on the terminal: %+v", u)
	}
	// The refused upsert raised an alarm; the fetch replays the first ten
	// punches of the rush under their first ids.
	waitUntil(t, 30*time.Second, "the biometric alarm and ten replays", func() bool {
		var alarm bool
		count := map[string]int{}
		for _, e := range eventsOf(t, events, "term-lobby") {
			if e.Type == "device.alarm" && e.Data["alarm"] == "biometric_refused" {
				alarm = true
			}
			count[e.ID]++
		}
		for _, id := range rush[:10] {
			if count[envelope.EventID("EMU-term-lobby", id.Boot, uint64(id.Seq))] != 2 {
				return false
			}
		}
		return alarm
	})
}

func startTerminal(t *testing.T, id string, o fwemu.Options) *fwemu.PTYDevice {
	t.Helper()
	o.HardwareID, o.Kind, o.RTC = "EMU-"+id, msg.KindAttendance, true
	d, err := fwemu.StartPTY(id, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Stop() })
	return d
}

// punches are n punch bodies for persons from, from+1, …
func punches(from, n int) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = map[string]any{"user": fmt.Sprintf("%05d", from+i), "verify": []string{"finger", "card", "face"}[i%3],
			"state": uint64(i % 2)}
	}
	return out
}

type published struct {
	ID            string         `json:"id"`
	Type          string         `json:"type"`
	Device        string         `json:"device"`
	Boot          uint32         `json:"boot"`
	Seq           uint64         `json:"seq"`
	Clock         string         `json:"clock"`
	ClockOffsetMS *int64         `json:"clock_offset_ms"`
	Data          map[string]any `json:"data"`
}

var contractChecked sync.Map // payloads already validated

// eventsOf decodes what c holds (of one device, or all), checking each
// message against the contract once.
func eventsOf(t *testing.T, c *collector, device string) []published {
	t.Helper()
	c.mu.Lock()
	msgs := append([][]byte(nil), c.msgs...)
	c.mu.Unlock()
	var out []published
	for _, m := range msgs {
		if _, done := contractChecked.LoadOrStore(string(m), true); !done {
			if err := contract.Strict(contract.Event, m); err != nil {
				t.Fatalf("event breaks the contract: %v\n%s", err, m)
			}
		}
		var e published
		if err := json.Unmarshal(m, &e); err != nil {
			t.Fatal(err)
		}
		if device == "" || e.Device == device {
			out = append(out, e)
		}
	}
	return out
}

func hasAll(got []published, device string, ids []msg.EventID) bool {
	have := map[[2]uint64]bool{}
	for _, e := range got {
		if e.Device == device && e.Type == "attendance.punch" {
			have[[2]uint64{uint64(e.Boot), e.Seq}] = true
		}
	}
	for _, id := range ids {
		if !have[[2]uint64{uint64(id.Boot), uint64(id.Seq)}] {
			return false
		}
	}
	return true
}

func resultsOf(t *testing.T, c *collector) map[string]map[string]any {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]map[string]any{}
	for _, m := range c.msgs {
		if err := contract.Strict(contract.Result, m); err != nil {
			t.Fatalf("result breaks the contract: %v\n%s", err, m)
		}
		var r map[string]any
		json.Unmarshal(m, &r)
		out[r["id"].(string)] = r
	}
	return out
}
