package connect_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/officegate/officegate/gateway/connect"
	"github.com/officegate/officegate/gateway/journal"
)

var parseCases = []struct {
	name, topic, payload string
	bad                  string // a substring of Message.Bad; "" readable
	notForSinks          bool
}{
	{name: "punch", topic: "officegate/gw-1/devices/t1/events/attendance.punch",
		payload: `{"v":1,"id":"e1","type":"attendance.punch","gateway":"gw-1","device":"t1","boot":2,"seq":9,"data":{}}`},
	{name: "device result", topic: "officegate/gw-1/devices/t1/results", payload: `{"v":1,"id":"c1","gateway":"gw-1","device":"t1","command":"door.pulse","status":"ok"}`},
	{name: "gateway result", topic: "officegate/gw-1/results", payload: `{"v":1,"id":"c2","gateway":"gw-1","command":"ping","status":"ok"}`},
	{name: "status", topic: "officegate/gw-1/status", payload: `{}`, notForSinks: true},
	{name: "device status", topic: "officegate/gw-1/devices/t1/status", payload: `{}`, notForSinks: true},
	{name: "command", topic: "officegate/gw-1/devices/t1/commands/door.pulse", payload: `{}`, notForSinks: true},
	{name: "other root", topic: "acme/gw-1/devices/t1/events/x", payload: `{}`, notForSinks: true},
	{name: "no id", topic: "officegate/gw-1/devices/t1/events/attendance.punch", payload: `{"type":"attendance.punch","gateway":"gw-1","device":"t1"}`, bad: "no id"},
	{name: "garbage", topic: "officegate/gw-1/devices/t1/events/attendance.punch", payload: "\xff\x00garbage", bad: "neither a JSON nor a CBOR"},
	{name: "other device", topic: "officegate/gw-1/devices/t1/events/attendance.punch", payload: `{"id":"e2","type":"attendance.punch","gateway":"gw-1","device":"t9"}`, bad: "not its topic's"},
	{name: "other gateway", topic: "officegate/gw-1/devices/t1/events/attendance.punch", payload: `{"id":"e2","type":"attendance.punch","gateway":"gw-2","device":"t1"}`, bad: "gateway"},
	{name: "not an object", topic: "officegate/gw-1/results", payload: `{"id": 5}`, bad: "not an envelope"},
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases {
		m, err := connect.Parse("officegate", tc.topic, []byte(tc.payload))
		switch {
		case tc.notForSinks:
			if !errors.Is(err, connect.ErrNotSinkMessage) {
				t.Errorf("%s: error %v, want ErrNotSinkMessage", tc.name, err)
			}
			continue
		case err != nil:
			t.Errorf("%s: %v", tc.name, err)
			continue
		case tc.bad != "" && !strings.Contains(m.Bad, tc.bad):
			t.Errorf("%s: Bad %q, want it to say %q", tc.name, m.Bad, tc.bad)
		case tc.bad == "" && (m.Bad != "" || m.ID == "" || m.Key == [16]byte{}):
			t.Errorf("%s: %+v, want a readable message with its id and key", tc.name, m)
		}
	}
	m, _ := connect.Parse("officegate", parseCases[0].topic, []byte(parseCases[0].payload))
	if m.Stream != "attendance" || m.Gateway != "gw-1" || m.Device != "t1" || m.Boot != 2 || m.Seq != 9 || m.Type != "attendance.punch" {
		t.Errorf("punch: %+v", m.Record)
	}
	r, _ := connect.Parse("officegate", parseCases[2].topic, []byte(parseCases[2].payload))
	if r.Stream != "results" || r.Type != "result" || r.Key != connect.Key("result", "gw-1", "c2") {
		t.Errorf("gateway result: %+v", r.Record)
	}
}

// TestParseCBOR: an envelope published as CBOR (mqtt.format = "cbor")
// reaches the sinks as the same fields in JSON.
func TestParseCBOR(t *testing.T) {
	p, _ := cbor.Marshal(map[string]any{"v": 1, "id": "e1", "type": "attendance.punch", "gateway": "gw-1", "device": "t1",
		"boot": 1, "seq": 3, "data": map[string]any{"person": "p1", "n": 1.5}})
	m, err := connect.Parse("officegate", "officegate/gw-1/devices/t1/events/attendance.punch", p)
	if err != nil || m.Bad != "" {
		t.Fatalf("%v %q", err, m.Bad)
	}
	var back map[string]any
	if err := json.Unmarshal(m.Payload, &back); err != nil || back["id"] != "e1" || back["data"].(map[string]any)["person"] != "p1" {
		t.Fatalf("payload %s: %v", m.Payload, err)
	}
}

// FuzzParse: no input panics Parse, and what it accepts decodes back from
// the local journal as the sinks read it.
func FuzzParse(f *testing.F) {
	for _, tc := range parseCases {
		f.Add(tc.topic, []byte(tc.payload))
	}
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		m, err := connect.Parse("officegate", topic, payload)
		if err != nil {
			return
		}
		body, err := connect.EncodeRecord(&m.Record)
		if err != nil {
			t.Fatal(err)
		}
		ev, _, err := connect.Decode(journal.Record{Body: body})
		if (err != nil) != (m.Bad != "") || ev.Topic != topic {
			t.Fatalf("decode of a parsed message: %v (bad %q), topic %q", err, m.Bad, ev.Topic)
		}
	})
}
