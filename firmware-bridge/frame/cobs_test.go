package frame

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

func seq(from, to int) []byte {
	var b []byte
	for i := from; i <= to; i++ {
		b = append(b, byte(i))
	}
	return b
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// cobsTests are the examples of the COBS paper as listed on Wikipedia,
// plus the cases a C implementation usually gets wrong. They also seed
// FuzzCOBSRoundtrip.
var cobsTests = []struct {
	name string
	dec  []byte
	enc  []byte
}{
	{"empty", nil, []byte{0x01}},
	{"one zero", []byte{0x00}, []byte{0x01, 0x01}},
	{"two zeros", []byte{0x00, 0x00}, []byte{0x01, 0x01, 0x01}},
	{"zero framed", []byte{0x00, 0x11, 0x00}, []byte{0x01, 0x02, 0x11, 0x01}},
	{"zero inside", []byte{0x11, 0x22, 0x00, 0x33}, []byte{0x03, 0x11, 0x22, 0x02, 0x33}},
	{"no zero", []byte{0x11, 0x22, 0x33, 0x44}, []byte{0x05, 0x11, 0x22, 0x33, 0x44}},
	{"trailing zeros", []byte{0x11, 0x00, 0x00, 0x00}, []byte{0x02, 0x11, 0x01, 0x01, 0x01}},
	{"254 non-zero", seq(1, 254), cat([]byte{0xFF}, seq(1, 254))},
	{"zero then 254", cat([]byte{0}, seq(1, 254)), cat([]byte{0x01, 0xFF}, seq(1, 254))},
	{"255 non-zero", seq(1, 255), cat([]byte{0xFF}, seq(1, 254), []byte{0x02, 0xFF})},
	{"254 then zero", cat(seq(2, 255), []byte{0}), cat([]byte{0xFF}, seq(2, 255), []byte{0x01, 0x01})},
	{"253 then zero then one", cat(seq(3, 255), []byte{0, 1}), cat([]byte{0xFE}, seq(3, 255), []byte{0x02, 0x01})},
	{"508 non-zero", cat(seq(1, 254), seq(1, 254)), cat([]byte{0xFF}, seq(1, 254), []byte{0xFF}, seq(1, 254))},
	{"all zeros", make([]byte, 8), bytes.Repeat([]byte{0x01}, 9)},
}

func TestCOBS(t *testing.T) {
	for _, tt := range cobsTests {
		t.Run(tt.name, func(t *testing.T) {
			enc := AppendEncode(nil, tt.dec)
			if !bytes.Equal(enc, tt.enc) {
				t.Errorf("encode:\n got %s\nwant %s", hex.EncodeToString(enc), hex.EncodeToString(tt.enc))
			}
			if len(enc) > MaxEncodedLen(len(tt.dec)) {
				t.Errorf("encoded %d bytes, MaxEncodedLen(%d) = %d", len(enc), len(tt.dec), MaxEncodedLen(len(tt.dec)))
			}
			dec, err := AppendDecode([]byte("prefix"), tt.enc)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !bytes.Equal(dec, cat([]byte("prefix"), tt.dec)) {
				t.Errorf("decode:\n got %x\nwant prefix%x", dec, tt.dec)
			}
		})
	}
}

func TestCOBSDecodeErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		enc  []byte
	}{
		{"zero code", []byte{0x00}},
		{"zero in run", []byte{0x03, 0x11, 0x00}},
		{"run past end", []byte{0x05, 0x11, 0x22}},
		{"0xFF past end", cat([]byte{0xFF}, seq(1, 100))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := AppendDecode(nil, tt.enc)
			if !errors.Is(err, ErrBadCOBS) {
				t.Fatalf("got %v, want ErrBadCOBS", err)
			}
		})
	}
}

// TestCOBSNonCanonical accepts the form some encoders emit, with an empty
// block after a full one at the end: receivers must be liberal here.
func TestCOBSNonCanonical(t *testing.T) {
	dec, err := AppendDecode(nil, cat([]byte{0xFF}, seq(1, 254), []byte{0x01}))
	if err != nil || !bytes.Equal(dec, seq(1, 254)) {
		t.Fatalf("got %x, %v", dec, err)
	}
}

func FuzzCOBSRoundtrip(f *testing.F) {
	for _, tt := range cobsTests {
		f.Add(tt.dec)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		enc := AppendEncode(nil, b)
		if len(enc) > MaxEncodedLen(len(b)) {
			t.Fatalf("encoded %d bytes > MaxEncodedLen(%d) = %d", len(enc), len(b), MaxEncodedLen(len(b)))
		}
		if bytes.IndexByte(enc, 0) >= 0 {
			t.Fatalf("encoding %x holds a zero", enc)
		}
		dec, err := AppendDecode(nil, enc)
		if err != nil {
			t.Fatalf("decode of own encoding: %v", err)
		}
		if !bytes.Equal(dec, b) {
			t.Fatalf("round trip: got %x want %x", dec, b)
		}
		// Decoding arbitrary bytes must not panic either.
		_, _ = AppendDecode(nil, b)
	})
}
