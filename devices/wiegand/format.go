package wiegand

import (
	"fmt"
	"math/bits"
)

// Format is a Wiegand frame layout. Wiegand frames do not say which layout they use, so
// the formats a reader sends are configured (Config.Formats) and told apart by bit count.
type Format uint8

const (
	// H10301 is the 26-bit HID format: P + 8-bit facility + 16-bit card + P (doc.go §26-bit).
	H10301 Format = iota + 1
	// W34 is the 34-bit format read as a 16-bit facility and a 16-bit card (doc.go §34-bit).
	W34
	// W34Number is the 34-bit format read as one 32-bit card number, as ZKTeco readers
	// send it. Same bits as W34; only the split differs.
	W34Number
	// H10304 is the 37-bit HID format: 16-bit facility + 19-bit card with overlapping
	// parity ranges (doc.go §37-bit).
	H10304
	// Keypad4 is one key per 4-bit burst: 0–9, 10 = '*', 11 = '#'.
	Keypad4
	// Keypad8 is one key per 8-bit burst: the key's complement nibble, then the key nibble.
	Keypad8
	// PIN is the format of a Frame that carries a keypad entry ended by '#'. It is an
	// output only: keys arrive as Keypad4 or Keypad8 bursts.
	PIN
)

// spec describes a card format's bit layout. Bits are numbered 1..n in transmission
// order; bit 1 is the most significant bit of a Frame's Raw.
type spec struct {
	name     string
	bits     int
	evenTop  int // bits 1..evenTop carry even parity (bit 1 is its parity bit)
	oddBot   int // the last oddBot bits carry odd parity (bit n is its parity bit)
	facBits  int // facility width; the card takes the rest of the n-2 data bits
	cardBits int
}

// specs is indexed by Format. Keypad and PIN rows carry only what String needs.
var specs = [...]spec{
	H10301:    {name: "H10301", bits: 26, evenTop: 13, oddBot: 13, facBits: 8, cardBits: 16},
	W34:       {name: "W34", bits: 34, evenTop: 17, oddBot: 17, facBits: 16, cardBits: 16},
	W34Number: {name: "W34Number", bits: 34, evenTop: 17, oddBot: 17, facBits: 0, cardBits: 32},
	// H10304's parity ranges overlap on bit 19: 19 + 19 = 38 for 37 bits.
	H10304:  {name: "H10304", bits: 37, evenTop: 19, oddBot: 19, facBits: 16, cardBits: 19},
	Keypad4: {name: "Keypad4", bits: 4},
	Keypad8: {name: "Keypad8", bits: 8},
	PIN:     {name: "PIN"},
}

func (f Format) valid() bool { return f >= H10301 && f <= PIN }

func (f Format) isCard() bool { return f >= H10301 && f <= H10304 }

func (f Format) isKeypad() bool { return f == Keypad4 || f == Keypad8 }

// String returns the format's name, or Format(n) for an unknown value.
func (f Format) String() string {
	if !f.valid() {
		return fmt.Sprintf("Format(%d)", uint8(f))
	}
	return specs[f].name
}

// Bits returns the number of pulses in one frame of f (0 for PIN and unknown formats).
func (f Format) Bits() int {
	if !f.valid() {
		return 0
	}
	return specs[f].bits
}

func mask(n int) uint64 { return 1<<uint(n) - 1 }

// parityOK reports whether raw, an n-bit card frame of f, has even parity over its top
// evenTop bits and odd parity over its bottom oddBot bits.
func (s *spec) parityOK(raw uint64) bool {
	top := raw >> uint(s.bits-s.evenTop)
	bot := raw & mask(s.oddBot)
	return bits.OnesCount64(top)%2 == 0 && bits.OnesCount64(bot)%2 == 1
}

// split returns the facility and card of a frame whose parity has been checked.
func (s *spec) split(raw uint64) (facility, card uint64) {
	data := raw >> 1 & mask(s.bits-2)
	return data >> uint(s.cardBits), data & mask(s.cardBits)
}

// Encode returns the frame bits of a card in format f, parity included, bit 1 first
// (most significant). It is the inverse of decoding and is used by simulators and tests.
func Encode(f Format, facility, card uint64) (uint64, error) {
	if !f.isCard() {
		return 0, fmt.Errorf("wiegand: cannot encode a card in format %v", f)
	}
	s := &specs[f]
	if facility > mask(s.facBits) {
		return 0, fmt.Errorf("wiegand: facility %d does not fit %v (%d bits)", facility, f, s.facBits)
	}
	if card > mask(s.cardBits) {
		return 0, fmt.Errorf("wiegand: card %d does not fit %v (%d bits)", card, f, s.cardBits)
	}
	raw := (facility<<uint(s.cardBits) | card) << 1
	// The parity bits are still zero here, so each range's count is the count of its data.
	if bits.OnesCount64(raw>>uint(s.bits-s.evenTop))%2 == 1 {
		raw |= 1 << uint(s.bits-1)
	}
	if bits.OnesCount64(raw&mask(s.oddBot))%2 == 0 {
		raw |= 1
	}
	return raw, nil
}

// EncodeKey returns the burst bits for one key ('0'–'9', '*' or '#') in Keypad4 or Keypad8.
func EncodeKey(f Format, key byte) (uint64, error) {
	if !f.isKeypad() {
		return 0, fmt.Errorf("wiegand: cannot encode a key in format %v", f)
	}
	var v uint64
	switch {
	case key >= '0' && key <= '9':
		v = uint64(key - '0')
	case key == '*':
		v = keyStar
	case key == '#':
		v = keyHash
	default:
		return 0, fmt.Errorf("wiegand: no keypad code for key %q", key)
	}
	if f == Keypad8 {
		v |= (^v & 0xf) << 4
	}
	return v, nil
}

// Keypad codes for the two non-digit keys, as HID and most vendors send them.
const (
	keyStar = 10
	keyHash = 11
)

// decodeKey returns the key code of a keypad burst, or false if the burst is not a key.
func decodeKey(f Format, raw uint64) (uint64, bool) {
	if f == Keypad8 {
		hi, lo := raw>>4&0xf, raw&0xf
		if hi != ^lo&0xf {
			return 0, false
		}
		raw = lo
	}
	return raw, raw <= keyHash
}
