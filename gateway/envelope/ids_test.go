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
