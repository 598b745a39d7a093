package envelope

import (
	"math"
	"strings"
	"testing"
)

// TestEncodeDataRefusesUnrenderable: every body EncodeData accepts must render
// in both wire forms, or its event would sit in the journal for ever.
func TestEncodeDataRefusesUnrenderable(t *testing.T) {
	deep := map[string]any{"x": 1}
	for range 8 {
		deep = map[string]any{"x": deep}
	}
	for name, v := range map[string]any{
		"NaN":          map[string]any{"x": math.NaN()},
		"infinity":     map[string]any{"x": math.Inf(1)},
		"integer keys": map[string]any{"x": map[int]string{1: "a"}},
		"not a map":    []int{1, 2},
		"too deep":     deep,
		"long array":   map[string]any{"x": make([]int, 2000)},
	} {
		if _, err := EncodeData(v); err == nil || !strings.HasPrefix(err.Error(), "envelope: ") {
			t.Errorf("%s: EncodeData error = %v, want an envelope: error", name, err)
		}
	}
	raw, err := EncodeData(map[string]any{"person": "10234", "n": 1.5, "list": []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	e := Event{V: Version, Data: raw}
	for _, f := range []Format{JSON, CBOR} {
		if _, err := e.Payload(f); err != nil {
			t.Errorf("%v: %v", f, err)
		}
	}
}

// TestResultDataIsAnObject: a device answering with no data (a nil map, which
// CBOR encodes as null) still gets "data":{}, as result.json requires.
func TestResultDataIsAnObject(t *testing.T) {
	raw, err := EncodeData(map[string]any(nil))
	if err != nil {
		t.Fatal(err)
	}
	r := Result{V: Version, ID: "c-1", Gateway: "gw", Command: "door.pulse", Status: StatusError, Error: "x", Data: raw}
	p, err := r.Payload(JSON)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(p), `"data":{}`) {
		t.Fatalf("result %s: want \"data\":{}", p)
	}
}
