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

// deviceEvent is an event of the given type as the gateway renders it: from a
// device's record (boot > 0) or originated by the gateway (boot 0).
func deviceEvent(t *testing.T, typ, device string, boot uint32, seq uint64, data map[string]any) *envelope.Event {
	t.Helper()
	d, err := envelope.EncodeData(data)
	if err != nil {
		t.Fatal(err)
	}
	e := &envelope.Event{
		V: envelope.Version, ID: envelope.EventID("HW-"+device, boot, seq), Type: typ, Gateway: "hq-3f", Device: device,
		Boot: boot, Seq: seq, Time: envelope.StampOf(t0), TimeRaw: t0.Format(rawLayout), Clock: envelope.ClockSynced,
		Received: envelope.StampOf(t0.Add(4 * time.Millisecond).UTC()), Data: d,
	}
	if boot == 0 {
		e.ID = envelope.NewID()
	}
	return e
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
		V: envelope.Version, ID: envelope.EventID("P-1", 3, 9), Type: "room.temperature", Gateway: "hq-3f", Device: "panel-a",
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
	clearCard := deviceEvent(t, "attendance.punch", "reader-door-2", 0, 0, map[string]any{
		"card": "12:34567", "credential": "card", "state": "unknown",
		"raw": map[string]any{"format": "h10301", "bits": 26},
	})
	redacted := deviceEvent(t, "attendance.punch", "term-lobby-1", 17, 4212, map[string]any{
		"person": "10234", "credential": "face", "state": "out", "work_code": "7",
		"raw": map[string]any{"verify": "face", "state": 1}, "redacted": []string{"raw.face_template"},
	})
	cardRead := deviceEvent(t, "credential.read", "reader-door-2", 0, 0, map[string]any{
		"card_hash": strings.Repeat("cd", 32), "format": "w34_number", "bits": 34,
	})
	keypad := deviceEvent(t, "credential.read", "reader-door-2", 0, 0, map[string]any{
		"format": "keypad8", "pin_entered": true, "keys": 4,
	})
	offline := deviceEvent(t, "device.status", "term-lobby-1", 0, 0, map[string]any{
		"state": "offline", "reason": "link lost: no answer for 10 s", "firmware": "6.60.1", "clock": "synced",
		"clock_offset_ms": -120,
	})
	drift := deviceEvent(t, "device.alarm", "term-lobby-1", 0, 0, map[string]any{
		"alarm": "clock_drift", "detail": "device clock 184 s ahead; stepped", "clock_offset_ms": 184230,
	})
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
		"punch":            {Event, punch.Payload},
		"gpio card punch":  {Event, wiegand.Payload},
		"unknown type":     {Event, unknownType.Payload},
		"events lost":      {Event, lost.Payload},
		"clear card punch": {Event, clearCard.Payload},
		"redacted punch":   {Event, redacted.Payload},
		"card read":        {Event, cardRead.Payload},
		"keypad entry":     {Event, keypad.Payload},
		"device offline":   {Event, offline.Payload},
		"clock drift":      {Event, drift.Payload},
		"result ok":        {Result, ok.Payload},
		"result expired":   {Result, expired.Payload},
		"gateway result":   {Result, gwErr.Payload},
		"gateway status":   {GatewayStatus, func(f envelope.Format) ([]byte, error) { return envelope.StatusPayload(f, gs) }},
		"device status":    {DeviceStatus, func(f envelope.Format) ([]byte, error) { return envelope.StatusPayload(f, ds) }},
		"pending device":   {DeviceStatus, func(f envelope.Format) ([]byte, error) { return envelope.StatusPayload(f, pending) }},
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
	// Derived ids are version 8, drawn ones version 4 (MQTT.md §4).
	for id, version := range map[string]byte{envelope.EventID("ZK-00A1B2C3", 17, 4211): '8',
		envelope.NoteID(envelope.NoteEventsLost, "ZK-00A1B2C3", 17, 4211): '8', envelope.NewID(): '4'} {
		if len(id) != 36 || id[14] != version || !strings.ContainsRune("89ab", rune(id[19])) {
			t.Errorf("id %s is not a version %c, RFC 9562 variant UUID", id, version)
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
	render := func(name string) []byte {
		p, err := out[name].f(envelope.JSON)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	cardRead, keypad, offline, drift := render("card read"), render("keypad entry"), render("device offline"), render("clock drift")
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
		{"punch naming nobody", Event, with(t, punch, data(func(d map[string]any) { delete(d, "person") })), []string{"/data:", "person", "card", "card_hash"}},
		{"template in data", Event, with(t, punch, data(func(d map[string]any) {
			d["raw"] = map[string]any{"fp_template": "TVRQ..."}
		})), []string{"/data/raw/fp_template:", "templates"}},
		{"punch with a card but no card_hash, person or card", Event, with(t, punch, data(func(d map[string]any) {
			delete(d, "person")
			d["credential"] = "card"
		})), []string{"/data:", "card_hash"}},
		{"punch with a bad card_hash", Event, with(t, punch, data(func(d map[string]any) { d["card_hash"] = strings.Repeat("AB", 32) })), []string{"/data/card_hash:", "pattern"}},
		{"punch with a card in hex", Event, with(t, punch, data(func(d map[string]any) { d["card"] = "0x1F2E" })), []string{"/data/card:", "pattern"}},
		{"punch with an empty person", Event, with(t, punch, data(func(d map[string]any) { d["person"] = "" })), []string{"/data/person:"}},
		{"punch with redacted not a list", Event, with(t, punch, data(func(d map[string]any) { d["redacted"] = "raw.face_template" })), []string{"/data/redacted:"}},
		{"punch carrying a template", Event, with(t, punch, data(func(d map[string]any) { d["fingerprint_template"] = "TVRQ..." })), []string{"/data/fingerprint_template:", "biometric"}},
		{"punch carrying raw fingerprint data", Event, with(t, punch, data(func(d map[string]any) {
			d["raw"] = map[string]any{"fingerprint_raw": "AAEC"}
		})), []string{"/data/raw/fingerprint_raw:", "biometric"}},
		{"punch with a nested raw value", Event, with(t, punch, data(func(d map[string]any) { d["raw"] = map[string]any{"verify": map[string]any{"x": 1}} })), []string{"/data/raw/verify:"}},
		{"card read with card and card_hash", Event, with(t, cardRead, data(func(d map[string]any) { d["card"] = "1234" })), []string{"/data:"}},
		{"card read without a card", Event, with(t, cardRead, data(func(d map[string]any) { delete(d, "card_hash") })), []string{"/data:"}},
		{"card read without bits", Event, with(t, cardRead, data(func(d map[string]any) { delete(d, "bits") })), []string{"/data:", "bits"}},
		{"h10301 read of 34 bits", Event, with(t, cardRead, data(func(d map[string]any) { d["format"] = "h10301" })), []string{"/data/bits:", "26"}},
		{"card read with an unknown format", Event, with(t, cardRead, data(func(d map[string]any) { d["format"] = "corp1000" })), []string{"/data/format:", "h10304"}},
		{"card read claiming a PIN", Event, with(t, cardRead, data(func(d map[string]any) { d["pin_entered"] = true })), []string{"/data/pin_entered:", "not allowed here"}},
		{"keypad entry with the PIN digits", Event, with(t, keypad, data(func(d map[string]any) { d["pin"] = "4711" })), []string{"/data/pin:", "not allowed here"}},
		{"keypad entry with digits as keys", Event, with(t, keypad, data(func(d map[string]any) { d["keys"] = "4711" })), []string{"/data/keys:", "integer"}},
		{"keypad entry with the digits as a card", Event, with(t, keypad, data(func(d map[string]any) { d["card"] = "4711" })), []string{"/data/card:", "not allowed here"}},
		{"keypad entry with bits", Event, with(t, keypad, data(func(d map[string]any) { d["bits"] = 32 })), []string{"/data/bits:"}},
		{"keypad entry without keys", Event, with(t, keypad, data(func(d map[string]any) { delete(d, "keys") })), []string{"/data:", "keys"}},
		{"keypad entry not entered", Event, with(t, keypad, data(func(d map[string]any) { d["pin_entered"] = false })), []string{"/data/pin_entered:"}},
		{"card read with a photo", Event, with(t, cardRead, data(func(d map[string]any) { d["face_photo"] = "…" })), []string{"/data/face_photo:", "biometric"}},
		{"device.status pending", Event, with(t, offline, data(func(d map[string]any) { d["state"] = "pending" })), []string{"/data/state:", "offline"}},
		{"device.status without clock", Event, with(t, offline, data(func(d map[string]any) { delete(d, "clock") })), []string{"/data:", "clock"}},
		{"device.status without reason", Event, with(t, offline, data(func(d map[string]any) { delete(d, "reason") })), []string{"/data:", "reason"}},
		{"device.status fractional offset", Event, with(t, offline, data(func(d map[string]any) { d["clock_offset_ms"] = 1.5 })), []string{"/data/clock_offset_ms:", "integer"}},
		{"device.alarm unknown", Event, with(t, drift, data(func(d map[string]any) { d["alarm"] = "fire" })), []string{"/data/alarm:", "tamper"}},
		{"clock_drift without offset", Event, with(t, drift, data(func(d map[string]any) { delete(d, "clock_offset_ms") })), []string{"/data:", "clock_offset_ms"}},
		{"device.alarm without detail", Event, with(t, drift, data(func(d map[string]any) { delete(d, "detail") })), []string{"/data:", "detail"}},
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
		`{"id":"` + strings.Repeat("x", 64) + `"}`,
		`{"id":"` + strings.Repeat("x", 65) + `"}`,
		`{"id":"` + strings.Repeat("x", 128) + `"}`,
		`{"ID":"c-1"}`,
		`{"id":"c-1","Args":{}}`,
		`{"id":"c-1"}}`,
		`{"id":"c-1","expires_at":null}`,
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

// TestPrivacyPatternIsCommons: the key contract.go reports as biometric is the
// one common.json refuses.
func TestPrivacyPatternIsCommons(t *testing.T) {
	b, err := files.ReadFile("schemas/common.json")
	if err != nil {
		t.Fatal(err)
	}
	pp := mustJSON(t, b)["$defs"].(map[string]any)["privacySafe"].(map[string]any)["patternProperties"].(map[string]any)
	if _, ok := pp[privacyKey.String()]; len(pp) != 1 || !ok {
		t.Errorf("common.json privacySafe has %v, contract.go %s", pp, privacyKey)
	}
	for key, want := range map[string]bool{
		"template": true, "face_template": true, "fp_templates": true, "photo": true, "visitor_photos": true,
		"image": true, "picture": true, "biometric": true, "fingerprint_raw": true, "fingerprints_raw": true,
		"raw": false, "fingerprint": false, "photographer": false, "templated": false, "redacted": false, "pin_entered": false,
	} {
		if privacyKey.MatchString(key) != want {
			t.Errorf("key %q: refused = %v, want %v", key, !want, want)
		}
	}
}

// TestTerminalAndReaderDataShapes: the data bodies of the terminal and reader events,
// valid and invalid, one field at a time.
func TestTerminalAndReaderDataShapes(t *testing.T) {
	ev := func(typ, data string) []byte {
		return []byte(`{"v":1,"id":"00000000-0000-8000-8000-000000000000","type":"` + typ + `","gateway":"hq-3f",` +
			`"device":"reader-door-2","boot":0,"seq":0,"time":"2026-11-24T08:02:45.310+08:00",` +
			`"time_raw":"2026-11-24T08:02:45.310","clock":"synced","received":"2026-11-24T00:02:45.314Z","data":` + data + `}`)
	}
	h := strings.Repeat("0f", 32)
	for _, c := range []struct {
		typ, data string
		valid     bool
	}{
		{"attendance.punch", `{"person":"10234","credential":"fingerprint","state":"in"}`, true},
		{"attendance.punch", `{"card":"4660","credential":"card","state":"unknown"}`, true},
		{"attendance.punch", `{"card":"12:4660","credential":"card","state":"in","raw":{"format":"h10301","bits":26}}`, true},
		{"attendance.punch", `{"card_hash":"` + h + `","credential":"card","state":"in"}`, true},
		{"attendance.punch", `{"person":"7","card_hash":"` + h + `","credential":"card","state":"break_out","work_code":"A1"}`, true},
		{"attendance.punch", `{"person":"7","credential":"face","state":"in","redacted":["raw.face_image","photo"]}`, true},
		{"attendance.punch", `{"credential":"card","state":"in"}`, false},                                      // nobody
		{"attendance.punch", `{"card":"1","card_hash":"` + h + `","credential":"card","state":"in"}`, false},   // both
		{"attendance.punch", `{"person":"7","credential":"face","state":"in","face_image":"/9j/4AAQ"}`, false}, // biometric
		{"attendance.punch", `{"person":"7","credential":"face","state":"in","raw":{"photo":"x"}}`, false},     // biometric in raw
		{"attendance.punch", `{"person":"7","credential":"face","state":"in","redacted":[]}`, false},           // empty list
		{"attendance.punch", `{"person":"` + strings.Repeat("9", 65) + `","credential":"card","state":"in"}`, false},
		{"credential.read", `{"card":"4660","format":"w34_number","bits":34}`, true},
		{"credential.read", `{"card":"1:2","format":"h10304","bits":37}`, true},
		{"credential.read", `{"card_hash":"` + h + `","format":"h10301","bits":26}`, true},
		{"credential.read", `{"format":"keypad4","pin_entered":true,"keys":6}`, true},
		{"credential.read", `{"format":"keypad4","pin_entered":true,"keys":4,"pin":"1234"}`, false},    // the digits
		{"credential.read", `{"format":"keypad4","pin_entered":true,"keys":4,"digits":"1234"}`, false}, // the digits
		{"credential.read", `{"format":"keypad4","pin_entered":true,"keys":4,"card":"1234"}`, false},   // the digits as a card
		{"credential.read", `{"format":"keypad8","pin_entered":true,"keys":"1234"}`, false},            // the digits as keys
		{"credential.read", `{"format":"keypad8","keys":4}`, false},
		{"credential.read", `{"card":"4660","card_hash":"` + h + `","format":"w34","bits":34}`, false},
		{"credential.read", `{"format":"w34","bits":34}`, false},
		{"credential.read", `{"card":"4660","format":"h10304","bits":26}`, false},
		{"credential.read", `{"card":"4660","format":"h10301"}`, false},
		{"device.status", `{"state":"online","reason":"connected","clock":"synced"}`, true},
		{"device.status", `{"state":"online","reason":"connected","firmware":"6.60.1","clock":"drifted","clock_offset_ms":-93000}`, true},
		{"device.status", `{"state":"retired","reason":"removed","clock":"unknown"}`, false},
		{"device.status", `{"state":"online","clock":"synced"}`, false},
		{"device.status", `{"state":"online","reason":"","clock":"synced"}`, false},
		{"device.alarm", `{"alarm":"tamper","detail":"case opened"}`, true},
		{"device.alarm", `{"alarm":"clock_drift","detail":"93 s behind","clock_offset_ms":-93000}`, true},
		{"device.alarm", `{"alarm":"biometric_refused","detail":"record carried raw.face_template; removed"}`, true},
		{"device.alarm", `{"alarm":"clock_drift","detail":"93 s behind"}`, false},
		{"device.alarm", `{"alarm":"store_full"}`, false},
		{"device.alarm", `{"alarm":"auth_failed","detail":"x","user_template":"x"}`, false},
	} {
		err := Strict(Event, ev(c.typ, c.data))
		if (err == nil) != c.valid {
			t.Errorf("%s %s: valid = %v, want %v (%v)", c.typ, c.data, err == nil, c.valid, err)
		}
	}
}
