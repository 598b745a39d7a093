package sinks

import (
	"reflect"
	"testing"
	"time"
)

// FuzzDecodeHeld: the held file's decoder (doc.go, "Held records") refuses
// or accepts any bytes without panicking, and what it accepts encodes back
// to a file that decodes to the same records.
func FuzzDecodeHeld(f *testing.F) {
	f.Add(encodeHeld(nil))
	f.Add(encodeHeld([]Held{{Stream: "attendance", Seq: 7, ID: "evt-1", Device: "t1", Type: "attendance.punch",
		Person: "0042", Platform: "dingtalk", Since: time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC), Body: []byte{0xa1, 0x01, 0x02}}}))
	f.Add([]byte("officegate-held 1 3 00\n[]\n"))
	f.Add([]byte("officegate-held 1 -1 x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		hs, err := decodeHeld(data)
		if err != nil {
			return
		}
		again, err := decodeHeld(encodeHeld(hs))
		if err != nil {
			t.Fatalf("accepted %q, but its re-encoding is refused: %v", data, err)
		}
		if len(hs) == 0 && len(again) == 0 {
			return
		}
		if !reflect.DeepEqual(hs, again) {
			t.Fatalf("round trip changed the records: %+v → %+v", hs, again)
		}
	})
}
