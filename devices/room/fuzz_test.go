package room

import (
	"bytes"
	"testing"
	"time"
)

func FuzzDecode(f *testing.F) {
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	s := newState()
	s.Schedule = Schedule{Version: 3, Bookings: []Booking{
		{ID: "b1", Start: t0, End: t0.Add(time.Hour), Organizer: "Li Wei", Title: "planning"},
		{ID: "b2", Start: t0.Add(2 * time.Hour), End: t0.Add(3 * time.Hour)},
	}}
	s.CheckIns["b1"] = CheckIn{At: t0, Source: SourcePanel}
	s.Present["b2"] = t0.Add(110 * time.Minute)
	s.Suggested["gone"] = t0.Add(-time.Hour)
	s.Override = &Override{State: LEDPending, Until: t0.Add(time.Hour)}
	for _, st := range []state{newState(), s} {
		b, err := encode(st)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"format":"officegate.room.state","version":1}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := decode(b)
		if err != nil {
			return
		}
		// What decodes re-encodes to a file that decodes to the same state.
		e1, err := encode(st)
		if err != nil {
			t.Fatalf("decoded state does not encode: %v", err)
		}
		st2, err := decode(e1)
		if err != nil {
			t.Fatalf("re-encoded state does not decode: %v\n%s", err, e1)
		}
		e2, err := encode(st2)
		if err != nil || !bytes.Equal(e1, e2) {
			t.Fatalf("round trip differs:\n%s\n%s", e1, e2)
		}
	})
}
