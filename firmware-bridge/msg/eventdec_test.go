package msg

import (
	"reflect"
	"strings"
	"testing"

	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/internal/testvectors"
)

// eventSeeds are EVENT bodies the fast path takes and bodies it must leave
// to the reflective decoder.
func eventSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	vs, err := testvectors.Load("../testvectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if v.Get("kind") != "frame" || v.Get("expect") != "ok" {
			continue
		}
		w, err := v.Hex("wire")
		if err != nil {
			t.Fatal(err)
		}
		if fr, err := frame.Decode(w); err == nil && fr.Type == frame.TypeEvent {
			seeds = append(seeds, fr.Body)
		}
	}
	for _, d := range []map[string]any{
		nil, {}, {"user": "10042", "verify": "card", "state": uint64(0), "t_us": uint64(1 << 50)},
		{"neg": int64(-5), "big": uint64(1 << 63), "b": []byte{}, "bs": []byte{1, 2}, "t": true, "f": false, "n": nil,
			"a": []any{}, "l": []any{"x", uint64(1), []any{map[string]any{"k": "v"}}}, "m": map[string]any{}},
		{"float": 1.5}, {"half": float32(0.5)},
	} {
		b, err := Marshal(&Event{ID: EventID{Boot: 3, Seq: 9}, Kind: "punch", Time: 1 << 40, Clock: ClockSet, Data: d})
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	// Bodies only the reflective decoder reads: an unknown key, a
	// duplicate, an indefinite length, a tag, a non-shortest head.
	head := []byte{0x01, 0x82, 0x06, 0x18, 0x2a, 0x02, 0x65, 'p', 'u', 'n', 'c', 'h', 0x03, 0x00}
	for _, tail := range [][]byte{
		{0x18, 0x63, 0x63, 'n', 'e', 'w'},
		{0x03, 0x01},
		{0x05, 0xbf, 0x61, 'k', 0x01, 0xff},
		{0x05, 0xa1, 0x61, 'k', 0xc1, 0x00},
		{0x05, 0xa1, 0x61, 'k', 0x19, 0x00, 0x01},
		{0x05, 0xa1, 0x61, 'k', 0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0},
		{0x05, 0xf6},
		{0x04, 0x19, 0x01, 0x00},
	} {
		seeds = append(seeds, append(append([]byte{0xa4}, head...), tail...))
	}
	return seeds
}

// TestEventFastPath: the fast path takes the bodies devices send.
func TestEventFastPath(t *testing.T) {
	seeds := eventSeeds(t)
	taken := 0
	for _, b := range seeds {
		if _, ok := decodeEvent(b); ok {
			taken++
		}
	}
	if taken < 4 {
		t.Fatalf("the fast path took %d of %d bodies", taken, len(seeds))
	}
}

// FuzzEventDecode: what the fast path decodes, the reflective decoder
// decodes to the same Event; dataOK agrees with checkValue.
func FuzzEventDecode(f *testing.F) {
	for _, b := range eventSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var want Event
		err := decMode.Unmarshal(body, &want)
		got, ok := decodeEvent(body)
		if ok {
			if err != nil {
				t.Fatalf("fast path took %x, the reflective decoder refuses it: %v", body, err)
			}
			if !reflect.DeepEqual(*got, want) {
				t.Fatalf("%x: fast path %#v, reflective %#v", body, *got, want)
			}
		}
		if err == nil {
			ve := checkValue("data", want.Data, 1)
			if want.Data != nil && dataOK(want.Data, 1) != (ve == nil) {
				t.Fatalf("%x: dataOK %v, checkValue %v", body, dataOK(want.Data, 1), ve)
			}
		}
	})
}

// TestDataOKAgrees: dataOK refuses what checkValue refuses, and words
// nothing itself.
func TestDataOKAgrees(t *testing.T) {
	deep := map[string]any{"a": map[string]any{"a": map[string]any{"a": map[string]any{"a": map[string]any{}}}}}
	for _, d := range []map[string]any{
		{"k": "v"}, {"": 1}, {strings.Repeat("k", 65): 1}, {"k\x01": 1}, {"k": func() {}}, deep,
		{"f": 1.5}, {"nan": nan()}, {"a": make([]any, MaxArrayElements+1)},
	} {
		if got, want := dataOK(d, 1), checkValue("data", d, 1) == nil; got != want {
			t.Errorf("%v: dataOK %v, checkValue says %v", d, got, want)
		}
	}
}

func nan() float64 {
	var z float64
	return z / z
}

// BenchmarkUnmarshalEvent decodes the e2e bench's punch body (user, verify,
// state, emit time) as the link does with every EVENT frame.
//
//	go test ./firmware-bridge/msg -run '^$' -bench UnmarshalEvent -benchmem -count 6
func BenchmarkUnmarshalEvent(b *testing.B) {
	body, err := Marshal(&Event{ID: EventID{Boot: 1, Seq: 1}, Kind: "punch", Time: 1 << 40, Clock: ClockSet,
		Data: map[string]any{"user": "10042", "verify": "card", "state": uint64(0), "t_us": uint64(1 << 50)}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Unmarshal(frame.TypeEvent, body); err != nil {
			b.Fatal(err)
		}
	}
}
