package contract

import (
	"encoding/json"
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/officegate/officegate/gateway/envelope"
)

// rawLayout is how the gateway writes time_raw for devices on its serial
// protocol: the device's reading as local time without an offset.
const rawLayout = "2006-01-02T15:04:05.000"

var (
	cst = time.FixedZone("CST", 8*3600)
	t0  = time.Date(2026, 11, 24, 9, 1, 2, 123e6, cst)
)

func punchEvent(t *testing.T) *envelope.Event {
	t.Helper()
	data, err := envelope.EncodeData(map[string]any{
		"person":     "10234",
		"credential": "fingerprint",
		"state":      "in",
		"raw":        map[string]any{"verify": 1, "state": 0},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &envelope.Event{
		V: envelope.Version, ID: envelope.EventID("ZK-00A1B2C3", 17, 4211), Type: "attendance.punch",
		Gateway: "hq-3f", Device: "term-lobby-1", Boot: 17, Seq: 4211,
		Time:    envelope.StampOf(t0),
		TimeRaw: t0.Format(rawLayout),
		Clock:   envelope.ClockSynced, Received: envelope.StampOf(t0.Add(17 * time.Millisecond).UTC()),
		Data: data,
	}
}

// gatewayOutput is one of everything the envelope package renders.
func gatewayOutput(t *testing.T) map[string]struct {
	kind Kind
	f    func(envelope.Format) ([]byte, error)
} {
	t.Helper()
	punch := punchEvent(t)

	cardData, err := envelope.EncodeData(map[string]any{
		"card_hash": strings.Repeat("ab", 32), "credential": "card", "state": "unknown",
	})
	if err != nil {
		t.Fatal(err)
	}
	wiegand := &envelope.Event{ // a read on GPIO: the gateway originates it
		V: envelope.Version, ID: envelope.NewID(), Type: "attendance.punch", Gateway: "hq-3f", Device: "reader-door-2",
		Time: envelope.StampOf(t0), TimeRaw: t0.Format(rawLayout), Clock: envelope.ClockSynced,
		Received: envelope.StampOf(t0.UTC()), Data: cardData,
	}
	unknownType := &envelope.Event{ // a type the contract does not specify yet: envelope only
		V: envelope.Version, ID: envelope.EventID("P-1", 3, 9), Type: "room.occupancy", Gateway: "hq-3f", Device: "panel-a",
		Boot: 3, Seq: 9, Time: envelope.StampOf(t0), TimeRaw: "2026-11-24 09:01:02", Clock: envelope.ClockUnknown,
		Received: envelope.StampOf(t0.UTC()),
	}
	lostData, err := envelope.EncodeData(map[string]any{"boot": uint32(17), "lost": uint32(3), "before_seq": uint32(4214)})
	if err != nil {
		t.Fatal(err)
	}
	lost := &envelope.Event{ // as the gateway's intake builds it
		V: envelope.Version, ID: envelope.EventID("ZK-00A1B2C3", 17, 4211), Type: "device.events_lost", Gateway: "hq-3f",
		Device: "term-lobby-1", Boot: 17, Seq: 4214, Time: envelope.StampOf(t0), TimeRaw: t0.Format(rawLayout),
		Clock: envelope.ClockSynced, Received: envelope.StampOf(t0.UTC()), Data: lostData,
	}
	okData, err := envelope.EncodeData(map[string]any{"pulsed_ms": 3000})
	if err != nil {
		t.Fatal(err)
	}
	ok := &envelope.Result{V: envelope.Version, ID: "4f7c2a9e-door-1", Gateway: "hq-3f", Device: "kiosk-1",
		Command: "door.pulse", Status: envelope.StatusOK, Time: envelope.StampOf(t0.UTC()), Data: okData}
	expired := &envelope.Result{V: envelope.Version, ID: "c-2", Gateway: "hq-3f", Device: "kiosk-1",
		Command: "door.pulse", Status: envelope.StatusExpired, Error: "expired at 2026-11-24T01:00:00.000Z",
		Time: envelope.StampOf(t0.UTC())}
	gwErr := &envelope.Result{V: envelope.Version, ID: "c-3", Gateway: "hq-3f", Command: "device.approve",
		Status: envelope.StatusUnsupported, Error: "unknown gateway command", Time: envelope.StampOf(t0.UTC())}
	gs := envelope.GatewayStatus{V: envelope.Version, Gateway: "hq-3f", State: envelope.StateOnline,
		Boot: "b5e1c07a", Version: "0.4.0", Since: envelope.StampOf(t0.UTC()).String()}
	ds := envelope.DeviceStatus{V: envelope.Version, Gateway: "hq-3f", Device: "term-lobby-1", State: envelope.StateOnline,
		Kind: "terminal", Model: "ZK-F22", Firmware: "6.60.1", Clock: envelope.ClockDrifted,
		LastSeen: envelope.StampOf(t0.UTC()).String()}
	pending := envelope.DeviceStatus{V: envelope.Version, Gateway: "hq-3f", Device: "new-unit", State: envelope.StatePending, Kind: "panel"}
	return map[string]struct {
		kind Kind
		f    func(envelope.Format) ([]byte, error)
	}{
		"punch":           {Event, punch.Payload},
		"gpio card punch": {Event, wiegand.Payload},
		"unknown type":    {Event, unknownType.Payload},
		"events lost":     {Event, lost.Payload},
		"result ok":       {Result, ok.Payload},
		"result expired":  {Result, expired.Payload},
		"gateway result":  {Result, gwErr.Payload},
		"gateway status":  {GatewayStatus, func(f envelope.Format) ([]byte, error) { return envelope.StatusPayload(f, gs) }},
		"device status":   {DeviceStatus, func(f envelope.Format) ([]byte, error) { return envelope.StatusPayload(f, ds) }},
		"pending device":  {DeviceStatus, func(f envelope.Format) ([]byte, error) { return envelope.StatusPayload(f, pending) }},
	}
}

// TestGatewayOutputIsStrictlyValid: what the envelope package renders passes
// the schema, in both formats, and names no field the schema does not.
func TestGatewayOutputIsStrictlyValid(t *testing.T) {
	for name, c := range gatewayOutput(t) {
		for _, f := range []envelope.Format{envelope.JSON, envelope.CBOR} {
			p, err := c.f(f)
			if err != nil {
				t.Fatalf("%s %v: render: %v", name, f, err)
			}
			if err := Strict(c.kind, p); err != nil {
				t.Errorf("%s %v: %v\n%s", name, f, err, p)
			}
		}
	}
}

// TestJSONAndCBORCarryTheSameValue: the CBOR form has the same keys and
// values as the JSON form (MQTT.md "The CBOR option").
func TestJSONAndCBORCarryTheSameValue(t *testing.T) {
	for name, c := range gatewayOutput(t) {
		j, err := c.f(envelope.JSON)
		if err != nil {
			t.Fatal(err)
		}
		b, err := c.f(envelope.CBOR)
		if err != nil {
			t.Fatal(err)
		}
		if b[0] == '{' || j[0] != '{' {
			t.Errorf("%s: the formats cannot be told apart by their first byte", name)
		}
		var fromJSON, fromCBOR any
		if err := json.Unmarshal(j, &fromJSON); err != nil {
			t.Fatal(err)
		}
		var raw any
		if err := cborDec.Unmarshal(b, &raw); err != nil {
			t.Fatal(err)
		}
		again, err := json.Marshal(raw)
		if err != nil {
			t.Fatalf("%s: CBOR form has no JSON equivalent: %v", name, err)
		}
		if err := json.Unmarshal(again, &fromCBOR); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fromJSON, fromCBOR) {
			t.Errorf("%s: JSON and CBOR differ:\n%s\n%s", name, j, again)
		}
		if det, err := cbor.CoreDetEncOptions().EncMode(); err != nil {
			t.Fatal(err)
		} else if re, err := det.Marshal(raw); err != nil || string(re) != string(b) {
			t.Errorf("%s: CBOR form is not in core deterministic encoding", name)
		}
	}
}

func TestEventIDShape(t *testing.T) {
	for _, id := range []string{envelope.EventID("ZK-00A1B2C3", 17, 4211), envelope.NewID()} {
		if len(id) != 36 || id[14] != '8' || !strings.ContainsRune("89ab", rune(id[19])) {
			t.Errorf("id %s is not a version 8, RFC 9562 variant UUID", id)
		}
	}
	if envelope.EventID("a", 1, 2) != envelope.EventID("a", 1, 2) || envelope.EventID("a", 1, 2) == envelope.EventID("a", 1, 3) {
		t.Error("EventID is not a function of (hardware id, boot, seq)")
	}
}

func mustJSON(t *testing.T, p []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(p, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func with(t *testing.T, p []byte, edit func(m map[string]any)) []byte {
	t.Helper()
	m := mustJSON(t, p)
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBadPayloadsFailUsefully: each violation is refused and the error names
// the offending place and the rule.
func TestBadPayloadsFailUsefully(t *testing.T) {
	punch, err := punchEvent(t).Payload(envelope.JSON)
	if err != nil {
		t.Fatal(err)
	}
	out := gatewayOutput(t)
	result, _ := out["result ok"].f(envelope.JSON)
	gs, _ := out["gateway status"].f(envelope.JSON)
	ds, _ := out["device status"].f(envelope.JSON)
	data := func(edit func(d map[string]any)) func(m map[string]any) {
		return func(m map[string]any) { edit(m["data"].(map[string]any)) }
	}
	cases := []struct {
		name    string
		kind    Kind
		payload []byte
		want    []string // all must appear in the error
	}{
		{"missing id", Event, with(t, punch, func(m map[string]any) { delete(m, "id") }), []string{"/:", "missing property", "id"}},
		{"id not UUID-shaped", Event, with(t, punch, func(m map[string]any) { m["id"] = "42" }), []string{"/id:", "pattern"}},
		{"time without offset", Event, with(t, punch, func(m map[string]any) { m["time"] = "2026-11-24T09:01:02.123" }), []string{"/time:", "pattern"}},
		{"time without milliseconds", Event, with(t, punch, func(m map[string]any) { m["time"] = "2026-11-24T09:01:02+08:00" }), []string{"/time:"}},
		{"received not UTC", Event, with(t, punch, func(m map[string]any) { m["received"] = "2026-11-24T09:01:02.140+08:00" }), []string{"/received:"}},
		{"wrong v", Event, with(t, punch, func(m map[string]any) { m["v"] = 2 }), []string{"/v:", "1"}},
		{"bad clock", Event, with(t, punch, func(m map[string]any) { m["clock"] = "ntp" }), []string{"/clock:", "synced"}},
		{"seq without boot", Event, with(t, punch, func(m map[string]any) { m["boot"] = 0 }), []string{"/seq:"}},
		{"topic-unsafe device", Event, with(t, punch, func(m map[string]any) { m["device"] = "term/+" }), []string{"/device:"}},
		{"punch without state", Event, with(t, punch, data(func(d map[string]any) { delete(d, "state") })), []string{"/data:", "state"}},
		{"punch with bad state", Event, with(t, punch, data(func(d map[string]any) { d["state"] = "check_in" })), []string{"/data/state:", "break_out"}},
		{"punch with card and card_hash", Event, with(t, punch, data(func(d map[string]any) {
			d["card"], d["card_hash"] = "1234", strings.Repeat("0", 64)
		})), []string{"/data:"}},
		{"punch naming nobody", Event, with(t, punch, data(func(d map[string]any) { delete(d, "person") })), []string{"/data:", "person"}},
		{"template in data", Event, with(t, punch, data(func(d map[string]any) {
			d["raw"] = map[string]any{"fp_template": "TVRQ..."}
		})), []string{"/data/raw/fp_template:", "templates"}},
		{"photo deep in an unknown type", Event, with(t, punch, func(m map[string]any) {
			m["type"], m["data"] = "visitor.checked_in", map[string]any{"visitor": map[string]any{"photo": "…"}}
		}), []string{"/data/visitor/photo:"}},
		{"bad status", Result, with(t, result, func(m map[string]any) { m["status"] = "failed" }), []string{"/status:", "unsupported"}},
		{"error result without error text", Result, with(t, result, func(m map[string]any) { m["status"] = "error" }), []string{"/:", "error"}},
		{"result without data", Result, with(t, result, func(m map[string]any) { delete(m, "data") }), []string{"data"}},
		{"command with unknown field", Command, []byte(`{"id":"c-1","expires":"2026-11-24T09:05:00+08:00","args":{}}`), []string{"/:", "expires"}},
		{"command without id", Command, []byte(`{"args":{}}`), []string{"/:", "id"}},
		{"command id with space", Command, []byte(`{"id":"open door"}`), []string{"/id:"}},
		{"command expiry without offset", Command, []byte(`{"id":"c-1","expires_at":"2026-11-24T09:05:00"}`), []string{"/expires_at:"}},
		{"command args not an object", Command, []byte(`{"id":"c-1","args":[1]}`), []string{"/args:"}},
		{"gateway state", GatewayStatus, with(t, gs, func(m map[string]any) { m["state"] = "pending" }), []string{"/state:"}},
		{"device status without kind", DeviceStatus, with(t, ds, func(m map[string]any) { delete(m, "kind") }), []string{"kind"}},
		{"not JSON", Event, []byte(`{"v":1,`), []string{"not JSON"}},
		{"trailing garbage", Command, []byte(`{"id":"c-1"} {}`), []string{"not JSON"}},
		{"neither", Event, []byte("\xff\x00"), []string{"neither"}},
		{"empty", DeviceStatus, nil, []string{"empty"}},
	}
	for _, c := range cases {
		err := Validate(c.kind, c.payload)
		if err == nil {
			t.Errorf("%s: valid, want an error", c.name)
			continue
		}
		var ce *Error
		if !errors.Is(err, ErrInvalid) || !errors.As(err, &ce) || ce.Kind != c.kind {
			t.Errorf("%s: error %v is not a *contract.Error of kind %s", c.name, err, c.kind)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
	}
	if err := Validate("telemetry", punch); err == nil || errors.Is(err, ErrInvalid) {
		t.Errorf("unknown kind: %v", err)
	}
}

// TestStrictRefusesUnnamedFields: consumers accept fields they do not know
// (Validate); the gateway may not emit them (Strict).
func TestStrictRefusesUnnamedFields(t *testing.T) {
	punch, err := punchEvent(t).Payload(envelope.JSON)
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string][]byte{
		"envelope": with(t, punch, func(m map[string]any) { m["priority"] = 2 }),
		"data":     with(t, punch, func(m map[string]any) { m["data"].(map[string]any)["name"] = "Li Wei" }),
	} {
		if err := Validate(Event, p); err != nil {
			t.Errorf("%s: Validate: %v (an unknown field must be tolerated)", name, err)
		}
		if err := Strict(Event, p); err == nil || !strings.Contains(err.Error(), "not named by the schema") {
			t.Errorf("%s: Strict = %v", name, err)
		}
	}
}

// TestCommandSchemaAgreesWithParseCommand: what the schema accepts is what the
// gateway executes, and the reverse.
func TestCommandSchemaAgreesWithParseCommand(t *testing.T) {
	now := time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC)
	for _, p := range []string{
		`{"id":"c-1"}`,
		`{"id":"c-1","args":{"duration_ms":3000}}`,
		`{"id":"c-1","args":null}`,
		`{"id":"c-1","expires_at":"2026-11-24T09:05:00+08:00","args":{}}`,
		`{"id":"c-1","expires_at":"2026-11-24T01:05:00.5Z"}`,
		`{"id":"` + strings.Repeat("x", 128) + `"}`,
		`{"id":"` + strings.Repeat("x", 129) + `"}`,
		`{"id":""}`,
		`{"id":"a b"}`,
		`{"id":"caf\u00e9"}`,
		`{"id":7}`,
		`{"id":"c-1","args":"x"}`,
		`{"id":"c-1","args":[]}`,
		`{"id":"c-1","ttl":5}`,
		`{"id":"c-1","expires_at":"tomorrow"}`,
		`{"id":"c-1","expires_at":"2026-11-24T01:05:00"}`,
		`{"id":"c-1"} {"id":"c-2"}`,
	} {
		schemaOK := ValidateCommand([]byte(p)) == nil
		_, perr := envelope.ParseCommand([]byte(p), now)
		if schemaOK != (perr == nil) {
			t.Errorf("%s: schema valid = %v, ParseCommand error = %v", p, schemaOK, perr)
		}
	}
}

// TestSchemasMatchEnvelopeConstants: the enumerations in the schemas are the
// envelope package's.
func TestSchemasMatchEnvelopeConstants(t *testing.T) {
	read := func(name string) map[string]any {
		b, err := files.ReadFile("schemas/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return mustJSON(t, b)
	}
	enum := func(doc map[string]any, path ...string) []any {
		var v any = doc
		for _, p := range path {
			v = v.(map[string]any)[p]
		}
		return v.([]any)
	}
	same := func(what string, got []any, want ...string) {
		t.Helper()
		var w []any
		for _, s := range want {
			w = append(w, s)
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("%s: schema has %v, envelope %v", what, got, w)
		}
	}
	common := read("common.json")
	same("clock", enum(common, "$defs", "clock", "enum"), envelope.ClockSynced, envelope.ClockDrifted, envelope.ClockUnknown)
	same("result status", enum(read("result.json"), "properties", "status", "enum"),
		envelope.StatusOK, envelope.StatusError, envelope.StatusExpired, envelope.StatusUnsupported, envelope.StatusBusy)
	same("gateway state", enum(read("gateway-status.json"), "properties", "state", "enum"), envelope.StateOnline, envelope.StateOffline)
	same("device state", enum(read("device-status.json"), "properties", "state", "enum"),
		envelope.StateOnline, envelope.StateOffline, envelope.StatePending, envelope.StateDisabled, envelope.StateRetired)
	if v := common["$defs"].(map[string]any)["version"].(map[string]any)["const"]; v != float64(envelope.Version) {
		t.Errorf("schema version %v, envelope.Version %d", v, envelope.Version)
	}
}

// TestEveryEventSchemaIsWired: each event-{type}.json is applied by event.json
// to events of that type, so a consumer using only event.json gets it too.
func TestEveryEventSchemaIsWired(t *testing.T) {
	b, err := files.ReadFile("schemas/event.json")
	if err != nil {
		t.Fatal(err)
	}
	wired := map[string]bool{}
	for _, a := range mustJSON(t, b)["allOf"].([]any) {
		a := a.(map[string]any)
		typ := a["if"].(map[string]any)["properties"].(map[string]any)["type"].(map[string]any)["const"].(string)
		ref := a["then"].(map[string]any)["properties"].(map[string]any)["data"].(map[string]any)["$ref"].(string)
		if ref != "event-"+typ+".json" {
			t.Errorf("type %s wired to %s", typ, ref)
		}
		wired[typ] = true
	}
	s, err := compiled()
	if err != nil {
		t.Fatal(err)
	}
	if len(s.data) == 0 {
		t.Fatal("no event data schema found")
	}
	for typ := range s.data {
		if !wired[typ] {
			t.Errorf("event-%s.json is not applied by event.json", typ)
		}
	}
}

func TestSchemasFS(t *testing.T) {
	for _, k := range Kinds() {
		if _, err := fs.Stat(Schemas(), string(k)+".json"); err != nil {
			t.Errorf("kind %s: %v", k, err)
		}
	}
	if _, err := fs.Stat(Schemas(), "event-attendance.punch.json"); err != nil {
		t.Error(err)
	}
}
