package envelope

import (
	"testing"
)

// TestIDNamespaces: over a universe of origins built to collide under naive
// schemes (hardware ids holding "/", NUL, the note names, the bytes of a boot
// and seq), every derived id is different; derived ids are version 8 and drawn
// ones version 4, so they cannot meet either.
func TestIDNamespaces(t *testing.T) {
	hws := []string{"", "T", "T/", "T/biometric", "T/events_lost", "T\x00", "T\x00\x00\x00\x00\x01", "events_lost", "biometric", "events_lostT"}
	notes := []string{"", NoteEventsLost, NoteBiometric, "events_los", "tT"}
	nums := []uint64{0, 1, 2, 1 << 32, 1<<32 | 1}
	type origin struct {
		note, hw string
		boot     uint32
		seq      uint64
		isNote   bool
	}
	seen := map[string]origin{}
	add := func(id string, o origin) {
		t.Helper()
		if id[14] != '8' {
			t.Fatalf("%s for %+v: not version 8", id, o)
		}
		if p, ok := seen[id]; ok && p != o {
			t.Fatalf("id %s for %+v and %+v", id, p, o)
		}
		seen[id] = o
	}
	for _, hw := range hws {
		for _, b := range []uint32{0, 1, 2, 1 << 31} {
			for _, s := range nums {
				add(EventID(hw, b, s), origin{hw: hw, boot: b, seq: s})
				for _, n := range notes {
					add(NoteID(n, hw, b, s), origin{note: n, hw: hw, boot: b, seq: s, isNote: true})
				}
			}
		}
	}
	if EventID("T", 1, 2) != EventID("T", 1, 2) || NoteID(NoteEventsLost, "T", 1, 2) != NoteID(NoteEventsLost, "T", 1, 2) {
		t.Fatal("derived ids are not stable")
	}
	for range 1000 {
		id := NewID()
		if id[14] != '4' || id[19] < '8' || id[19] > 'b' {
			t.Fatalf("drawn id %s: want version 4, RFC 9562 variant", id)
		}
		if _, ok := seen[id]; ok {
			t.Fatalf("drawn id %s equals a derived one", id)
		}
	}
	// The published id of an event never changes (consumers deduplicate
	// across gateway upgrades): a golden value.
	if got := EventID("EMU-t-1", 3, 7); got != "7b16d455-3944-80db-abbb-6942c15e4f24" {
		t.Fatalf("EventID(EMU-t-1, 3, 7) = %s: a device event's published id changed", got)
	}
}

// stampSeeds are instants whose RFC 3339 form has something to get wrong:
// zones east and west, half hours, before 1970, leap days, year bounds,
// offsets beyond a day (which Format writes with three-digit hours).
var stampSeeds = []Stamp{
	{UnixMs: 1764984615123, OffsetMin: 480}, {UnixMs: 1764984615456}, {UnixMs: 0}, {UnixMs: -1, OffsetMin: -330},
	{UnixMs: 951782400999, OffsetMin: 345}, {UnixMs: -62135596800000}, {UnixMs: -62135596800001, OffsetMin: 60},
	{UnixMs: 253402300799999, OffsetMin: -1}, {UnixMs: 253402300800000}, {UnixMs: 1e12, OffsetMin: 1439}, {UnixMs: 1e12, OffsetMin: -1440},
	{UnixMs: 1e12, OffsetMin: 32767}, {UnixMs: -9e15, OffsetMin: -32768},
}

// TestStampAppendText: the appended form is time.Format's, byte for byte.
func TestStampAppendText(t *testing.T) {
	for _, s := range stampSeeds {
		want := s.Time().Format(stampLayout)
		if got := string(s.AppendText([]byte("x"))); got != "x"+want {
			t.Errorf("%+v: AppendText %q, Format %q", s, got, want)
		}
	}
	if got := (Stamp{UnixMs: 1764984615123, OffsetMin: 480}).String(); got != "2025-12-06T09:30:15.123+08:00" {
		t.Errorf("String %q", got)
	}
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf = stampSeeds[0].AppendText(buf[:0]) }); n != 0 {
		t.Errorf("AppendText allocates %v times", n)
	}
}

func FuzzStampAppendText(f *testing.F) {
	for _, s := range stampSeeds {
		f.Add(s.UnixMs, s.OffsetMin)
	}
	f.Fuzz(func(t *testing.T, ms int64, off int16) {
		s := Stamp{UnixMs: ms, OffsetMin: off}
		if got, want := string(s.AppendText(nil)), s.Time().Format(stampLayout); got != want {
			t.Errorf("%+v: AppendText %q, Format %q", s, got, want)
		}
	})
}
