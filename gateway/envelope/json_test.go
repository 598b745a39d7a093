package envelope

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

// checkJSON: whenever the direct path renders, the decoding path renders the
// same bytes, in both forms.
func checkJSON(t *testing.T, e *Event, r *Result) {
	t.Helper()
	if e != nil {
		got, ok := appendEventCBOR(nil, e)
		want, err := e.decodedPayload(CBOR)
		if ok && (err != nil || !bytes.Equal(got, want)) {
			t.Fatalf("event data %x:\ndirect CBOR   %x\ndecoding CBOR %x (%v)", e.Data, got, want, err)
		}
	}
	if r != nil {
		got, ok := appendResultCBOR(nil, r)
		want, err := r.decodedPayload(CBOR)
		if ok && (err != nil || !bytes.Equal(got, want)) {
			t.Fatalf("result data %x:\ndirect CBOR   %x\ndecoding CBOR %x (%v)", r.Data, got, want, err)
		}
	}
	if e != nil {
		got, ok := appendEventJSON(nil, e)
		want, err := e.decodedPayload(JSON)
		if ok && (err != nil || !bytes.Equal(got, want)) {
			t.Fatalf("event data %x:\ndirect   %s\ndecoding %s (%v)", e.Data, got, want, err)
		}
	}
	if r != nil {
		got, ok := appendResultJSON(nil, r)
		want, err := r.decodedPayload(JSON)
		if ok && (err != nil || !bytes.Equal(got, want)) {
			t.Fatalf("result data %x:\ndirect   %s\ndecoding %s (%v)", r.Data, got, want, err)
		}
	}
}

// TestJSONDirectTakesGolden: the direct path renders every golden body
// itself (a fallback would hide a slow path behind a passing golden test).
func TestJSONDirectTakesGolden(t *testing.T) {
	for name, o := range goldenCases() {
		var ok, okc bool
		if o.Event != nil {
			_, ok = appendEventJSON(nil, o.Event)
			_, okc = appendEventCBOR(nil, o.Event)
		} else {
			_, ok = appendResultJSON(nil, o.Result)
			_, okc = appendResultCBOR(nil, o.Result)
		}
		if !ok || !okc {
			t.Errorf("%s: the direct path fell back to decoding (JSON direct %v, CBOR direct %v)", name, ok, okc)
		}
		checkJSON(t, o.Event, o.Result)
	}
}

// FuzzRenderDirect: for any data body and strings, the direct paths agree
// with the decoding path whenever they render.
func FuzzRenderDirect(f *testing.F) {
	for _, o := range goldenCases() {
		if o.Event != nil {
			f.Add([]byte(o.Event.Data), o.Event.ID, o.Event.TimeRaw)
		} else {
			f.Add([]byte(o.Result.Data), o.Result.ID, o.Result.Error)
		}
	}
	for _, h := range []string{"a0", "f6", "a161611bffffffffffffffff", "a161613bffffffffffffffff", "a16161f97e00", "a16161c074", "a1616180",
		"a26161016161 02", "a1616182f93c00fa3f800000", "a16161fb3ff199999999999a", "a1616163e280a8", "a16161f7", "a16161fa3f800000", "a16161fb3ff0000000000000", "a16161fa33800000", "a1616118 05", "a2616201616101", "a16161f98001"} {
		b, _ := hex.DecodeString(strings.ReplaceAll(h, " ", ""))
		f.Add(b, "id<&>", "\u2029")
	}
	f.Fuzz(func(t *testing.T, data []byte, s1, s2 string) {
		off := int64(len(s1))
		checkJSON(t, &Event{V: Version, ID: s1, Type: s2, Gateway: "gw", Device: s1 + s2, TimeRaw: s2, Clock: ClockSynced,
			ClockOffsetMS: &off, Data: data},
			&Result{V: Version, ID: s2, Gateway: "gw", Device: s1, Command: "x", Status: StatusError, Error: s1, Data: data})
	})
}

// BenchmarkPayloadJSON renders a punch for the wire straight from its
// journaled body, and by decoding its data into maps (the path before).
func BenchmarkPayloadJSON(b *testing.B) {
	e := goldenCases()["attendance.punch"].Event
	b.Run("direct", func(b *testing.B) {
		for b.Loop() {
			if _, err := e.Payload(JSON); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decoding", func(b *testing.B) {
		for b.Loop() {
			if _, err := e.decodedPayload(JSON); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRenderRecord is what a sink does with each journaled punch:
// decode the record, render topic and payload (JSON).
//
//	go test ./gateway/envelope -run '^$' -bench RenderRecord -benchmem
func BenchmarkRenderRecord(b *testing.B) {
	o := goldenCases()["attendance.punch"]
	body, err := o.Encode()
	if err != nil {
		b.Fatal(err)
	}
	topics := Topics{Root: "officegate", Gateway: "gw-3f"}
	b.ReportAllocs()
	for b.Loop() {
		d, err := DecodeOutbound(body)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := d.Message(topics, JSON); err != nil {
			b.Fatal(err)
		}
	}
}
