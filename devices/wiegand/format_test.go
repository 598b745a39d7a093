package wiegand_test

import (
	"testing"

	"github.com/officegate/officegate/devices/wiegand"
)

// goldenCards are frames worked out by hand from the layouts in doc.go, parity bits
// apart from the data, so encoder, decoder and simulator are checked against an
// independent reading of the format rather than against each other.
var goldenCards = []struct {
	name     string
	f        wiegand.Format
	facility uint64
	card     uint64
	bits     string // P data P, in transmission order
}{
	// bits 2–13 hold one 1: even parity needs P1 = 1; bits 14–25 hold one 1: odd already.
	{"26 fc1 card1", wiegand.H10301, 1, 1, "1 00000001 0000000000000001 0"},
	// twelve 1s in each half: P1 = 0, P26 = 1.
	{"26 all ones", wiegand.H10301, 255, 65535, "0 11111111 1111111111111111 1"},
	{"34 zero", wiegand.W34, 0, 0, "0 0000000000000000 0000000000000000 1"},
	// bits 2–17 hold two 1s (even: P1 = 0), bits 18–33 hold three (odd: P34 = 0).
	{"34 16:16", wiegand.W34, 0x0101, 0x0700, "0 0000000100000001 0000011100000000 0"},
	{"34 number", wiegand.W34Number, 0, 0x01010700, "0 0000000100000001 0000011100000000 0"},
	// card 1: only bit 36 set, in the odd range: P37 = 0; the even range is empty: P1 = 0.
	{"37 card1", wiegand.H10304, 0, 1, "0 0000000000000000 0000000000000000001 0"},
	// card 1<<17 sets bit 19, which both parity ranges share: P1 = 1 and P37 = 0.
	{"37 overlap", wiegand.H10304, 0, 1 << 17, "1 0000000000000000 0100000000000000000 0"},
	// eighteen 1s in each range (bit 19 counted in both): P1 = 0, P37 = 1.
	{"37 max", wiegand.H10304, 65535, 1<<19 - 1, "0 1111111111111111 1111111111111111111 1"},
}

func TestEncodeGolden(t *testing.T) {
	for _, g := range goldenCards {
		raw, err := wiegand.Encode(g.f, g.facility, g.card)
		if err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		if want := parseBits(t, g.bits); raw != want {
			t.Errorf("%s: Encode = %0*b, want %0*b", g.name, g.f.Bits(), raw, g.f.Bits(), want)
		}
	}
}

func TestEncodeRejects(t *testing.T) {
	for _, c := range []struct {
		f              wiegand.Format
		facility, card uint64
	}{
		{wiegand.H10301, 256, 0},
		{wiegand.H10301, 0, 65536},
		{wiegand.W34Number, 1, 0},
		{wiegand.H10304, 0, 1 << 19},
		{wiegand.Keypad4, 0, 0},
		{wiegand.PIN, 0, 0},
		{wiegand.Format(200), 0, 0},
	} {
		if _, err := wiegand.Encode(c.f, c.facility, c.card); err == nil {
			t.Errorf("Encode(%v, %d, %d) succeeded", c.f, c.facility, c.card)
		}
	}
	if _, err := wiegand.EncodeKey(wiegand.Keypad8, 'x'); err == nil {
		t.Error("EncodeKey accepted 'x'")
	}
}

func TestEncodeKey(t *testing.T) {
	for _, c := range []struct {
		f    wiegand.Format
		key  byte
		want uint64
	}{
		{wiegand.Keypad4, '0', 0x0},
		{wiegand.Keypad4, '9', 0x9},
		{wiegand.Keypad4, '*', 0xa},
		{wiegand.Keypad4, '#', 0xb},
		// 8-bit: the complement nibble first, then the key.
		{wiegand.Keypad8, '1', 0xe1},
		{wiegand.Keypad8, '#', 0x4b},
	} {
		got, err := wiegand.EncodeKey(c.f, c.key)
		if err != nil || got != c.want {
			t.Errorf("EncodeKey(%v, %q) = %#x, %v; want %#x", c.f, c.key, got, err, c.want)
		}
	}
}

func TestFormatString(t *testing.T) {
	if got := wiegand.H10304.String(); got != "H10304" {
		t.Errorf("String = %q", got)
	}
	if got := wiegand.Format(99).String(); got != "Format(99)" {
		t.Errorf("String = %q", got)
	}
}
