package envelope

import (
	"bytes"
	"encoding/hex"
	"math"
	"strings"
	"testing"
)

// checkAppendData: whenever appendData encodes data, it wrote what storeEnc
// writes, and both direct renderers take it.
func checkAppendData(t *testing.T, data map[string]any) {
	t.Helper()
	got, ok := appendData(nil, data)
	if !ok {
		return
	}
	want, err := storeEnc.Marshal(data)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("data %#v:\nappendData %x\nstoreEnc   %x (%v)", data, got, want, err)
	}
	if _, ok := appendDataJSON(nil, got); !ok {
		t.Fatalf("data %#v: appendData wrote %x, which the JSON renderer does not take", data, got)
	}
	if _, ok := canonicalData(got); !ok {
		t.Fatalf("data %#v: appendData wrote %x, which the CBOR renderer does not take", data, got)
	}
}

// checkEncodeEvent: EncodeEvent writes the bytes of Encode on an event
// whose body EncodeData encoded, or fails as EncodeData does.
func checkEncodeEvent(t *testing.T, data map[string]any) {
	t.Helper()
	off := int64(-1500)
	for _, e := range []Event{goldenEvent(), {V: Version, ID: "x", ClockOffsetMS: &off}} {
		got, gerr := EncodeEvent(&e, data)
		var want []byte
		raw, werr := EncodeData(data)
		if werr == nil {
			c := e
			c.Data = raw
			want, werr = (&Outbound{Event: &c}).Encode()
		}
		if (gerr != nil) != (werr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("data %#v:\nEncodeEvent %x (%v)\nEncode      %x (%v)", data, got, gerr, want, werr)
		}
	}
}

// goldenEvent is the golden punch's envelope.
func goldenEvent() Event { return *goldenCases()["attendance.punch"].Event }

// TestAppendData: the appending encoder writes storeEnc's bytes for the Go
// types drivers put in event data, and leaves to storeEnc what it does not
// take (floats, other types, invalid UTF-8, limits exceeded).
func TestAppendData(t *testing.T) {
	deep := map[string]any{"x": 1}
	for range 8 {
		deep = map[string]any{"x": deep}
	}
	takes := []map[string]any{
		nil,
		{},
		{"person": "10234", "credential": "card", "state": "in", "work_code": 0, "redacted": []string{"template", "photo"}},
		{"i": int(-1), "i8": int8(-128), "i16": int16(300), "i32": int32(-70000), "i64": int64(math.MinInt64),
			"u": uint(24), "u8": uint8(255), "u16": uint16(65535), "u32": uint32(1 << 31), "u64": uint64(math.MaxUint64)},
		{"b": []byte{}, "nb": []byte(nil), "ns": []string(nil), "na": []any(nil), "nm": map[string]any(nil), "t": true, "f": false, "n": nil},
		{"zz": 1, "a": map[string]any{"bbb": -1, "cc": []any{"x", uint64(3)}, "d": nil}, strings.Repeat("k", 23): 1, strings.Repeat("k", 24): 2,
			strings.Repeat("j", 300): 3, "é": "\u2028<&>"},
		{"bytes": bytes.Repeat([]byte{7}, 300)},
	}
	for _, d := range takes {
		if _, ok := appendData(nil, d); !ok {
			t.Errorf("appendData does not take %#v", d)
		}
		checkAppendData(t, d)
		checkEncodeEvent(t, d)
	}
	long := map[string]any{}
	for i := range jsonMaxPairs + 1 {
		long[strings.Repeat("k", i+1)] = i
	}
	for name, d := range map[string]map[string]any{
		"float":       {"x": 1.5},
		"other type":  {"x": map[string]string{"a": "b"}},
		"bad UTF-8":   {"x": "\xff"},
		"bad key":     {"\xff": 1},
		"too deep":    deep,
		"long array":  {"x": make([]any, jsonMaxArray+1)},
		"long map":    long,
		"bad in list": {"x": []string{"\xfe"}},
	} {
		if b, ok := appendData(nil, d); ok {
			t.Errorf("%s: appendData took it (%x); it is storeEnc's to encode or refuse", name, b)
		}
		checkEncodeEvent(t, d)
	}
}

// TestAppendDataTakesGolden: every golden body is encoded by appendData (a
// fallback would hide the slow path behind a passing golden test), except
// the one with floats.
func TestAppendDataTakesGolden(t *testing.T) {
	for name, o := range goldenCases() {
		if o.Event == nil || name == "tricky" || name == "device.status-nodata" { // floats; null, which decodes as {}
			continue
		}
		d, err := DecodeData(o.Event.Data)
		if err != nil {
			t.Fatal(err)
		}
		b, ok := appendData(nil, d)
		if !ok || !bytes.Equal(b, o.Event.Data) {
			t.Errorf("%s: appendData %x (ok %v), want %x", name, b, ok, o.Event.Data)
		}
	}
}

// FuzzAppendData: for any data a device could send (decoded from CBOR as the
// link decodes it), appendData agrees with storeEnc whenever it encodes.
func FuzzAppendData(f *testing.F) {
	for _, o := range goldenCases() {
		if o.Event != nil {
			f.Add([]byte(o.Event.Data))
		}
	}
	for _, h := range []string{"a0", "a161611bffffffffffffffff", "a161613bffffffffffffffff", "a1616180", "a2616201616101",
		"a3616140617881f66179a1617a42ff00"} {
		b, _ := hex.DecodeString(h)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m map[string]any
		if err := dataDec.Unmarshal(b, &m); err != nil {
			return
		}
		checkAppendData(t, m)
		checkEncodeEvent(t, m)
	})
}

// BenchmarkEncodeData encodes a terminal punch's data as the intake does.
func BenchmarkEncodeData(b *testing.B) {
	d := map[string]any{"person": "10042", "credential": "card", "state": "in",
		"raw": map[string]any{"verify": "card", "state": uint64(0), "t_us": uint64(1764000000000000)}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeData(d); err != nil {
			b.Fatal(err)
		}
	}
}
