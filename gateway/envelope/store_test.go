package envelope

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"testing"
)

// reflectiveDecode is DecodeOutbound without its fast path.
func reflectiveDecode(b []byte) (*Outbound, error) {
	var o Outbound
	err := dataDec.Unmarshal(b, &o)
	return &o, err
}

// checkStoreEvent: whenever the fast paths encode or decode an event, they
// agree with the reflective codec.
func checkStoreEvent(t *testing.T, e *Event) {
	t.Helper()
	want, err := storeEnc.Marshal(&Outbound{Event: e})
	got, ok := appendStoreEvent(nil, e)
	if ok && (err != nil || !bytes.Equal(got, want)) {
		t.Fatalf("event %+v:\nappendStoreEvent %x\nstoreEnc         %x (%v)", e, got, want, err)
	}
	if err == nil {
		checkStoreDecode(t, want)
	}
}

// checkStoreDecode: whenever decodeStoreEvent reads b, the reflective
// decoder reads the same event from it.
func checkStoreDecode(t *testing.T, b []byte) {
	t.Helper()
	got, ok := decodeStoreEvent(b)
	if !ok {
		return
	}
	want, err := reflectiveDecode(b)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("body %x:\ndecodeStoreEvent %+v\nreflective       %+v (%v)", b, got.Event, want.Event, err)
	}
}

// TestStoreEventTakesGolden: every golden event is encoded and decoded by
// the fast paths (a fallback would hide the slow path behind a passing
// golden test), to the reflective codec's bytes and values.
func TestStoreEventTakesGolden(t *testing.T) {
	for name, o := range goldenCases() {
		if o.Event == nil {
			continue
		}
		b, ok := appendStoreEvent(nil, o.Event)
		if !ok {
			t.Errorf("%s: appendStoreEvent fell back", name)
		}
		if _, ok := decodeStoreEvent(b); !ok {
			t.Errorf("%s: decodeStoreEvent fell back on %x", name, b)
		}
		checkStoreEvent(t, o.Event)
	}
}

// TestStoreEventFallsBack: bodies in any other shape are left to the
// reflective decoder, which reads or refuses them.
func TestStoreEventFallsBack(t *testing.T) {
	for name, h := range map[string]string{
		"result":             "a102a0",
		"key out of order":   "a101a2020100",
		"repeated key":       "a101a202610202 6162",
		"unknown key":        "a101a10e01",
		"boot beyond 32 bit": "a101a1061b0000000100000000",
		"negative seq":       "a101a10720",
		"byte string id":     "a101a1024161",
		"bad UTF-8":          "a101a10261ff",
		"null offset":        "a101a10df6",
		"trailing byte":      "a101a0 00",
		"data not canonical": "a101a10ca1616118 01",
		"data too deep":      "a101a10ca16161a16161a16161a16161a16161a16161a0",
	} {
		b, err := hex.DecodeString(stripSpaces(h))
		if err != nil {
			t.Fatal(err)
		}
		if o, ok := decodeStoreEvent(b); ok {
			t.Errorf("%s: decodeStoreEvent read %+v", name, o.Event)
		}
	}
}

func stripSpaces(s string) string { return string(bytes.ReplaceAll([]byte(s), []byte(" "), nil)) }

// FuzzStoreEvent: for any event, and any journal body, the fast paths agree
// with the reflective codec whenever they take it.
func FuzzStoreEvent(f *testing.F) {
	for _, o := range goldenCases() {
		if o.Event != nil {
			b, _ := storeEnc.Marshal(&o)
			f.Add(b, []byte(o.Event.Data), o.Event.ID, int64(o.Event.Seq), int64(o.Event.Time.UnixMs), int16(o.Event.Time.OffsetMin))
		}
	}
	f.Fuzz(func(t *testing.T, body, data []byte, s string, n int64, ms int64, off int16) {
		checkStoreDecode(t, body)
		e := &Event{V: int(n % 3), ID: s, Type: "attendance.punch", Gateway: "gw", Device: s, Boot: uint32(n), Seq: uint64(n),
			Time: Stamp{UnixMs: ms, OffsetMin: off}, TimeRaw: s, Clock: ClockSynced, Received: Stamp{UnixMs: -ms}, Data: data}
		if n%2 == 0 {
			e.ClockOffsetMS = &ms
		}
		checkStoreEvent(t, e)
	})
}

// TestRenderRecordAllocs: what a sink does with each journaled punch —
// decode the record, render its topic and JSON payload — costs a bounded
// number of allocations: the reflective decoder, a zone made for each stamp
// and a string per data key cost 29 a punch.
func TestRenderRecordAllocs(t *testing.T) {
	o := goldenCases()["attendance.punch"]
	body, err := o.Encode()
	if err != nil {
		t.Fatal(err)
	}
	topics := Topics{Root: "officegate", Gateway: "gw-3f"}
	const budget = 8
	if n := testing.AllocsPerRun(200, func() {
		d, err := DecodeOutbound(body)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := d.Message(topics, JSON); err != nil {
			t.Fatal(err)
		}
	}); n > budget {
		t.Errorf("rendering a journaled punch took %v allocations, want at most %d", n, budget)
	}
}
