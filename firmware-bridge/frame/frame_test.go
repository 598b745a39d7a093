package frame

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

var testAuth = Auth{
	Epoch:       1,
	Key:         seq(0x00, 0x1f),
	DeviceBoot:  7,
	GatewayBoot: 0x5eed0001,
}

func TestChecksumCheckValue(t *testing.T) {
	// The CRC-32C check value from the catalogue of parametrised CRCs; a C
	// implementation must produce the same.
	if got := Checksum([]byte("123456789")); got != 0xE3069283 {
		t.Fatalf("crc-32c(123456789) = 0x%08x, want 0xe3069283", got)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name string
		f    Frame
		auth *Auth
	}{
		{"ack", Frame{Type: TypeAck, Ack: 41}, nil},
		{"event", Frame{Type: TypeEvent, Flags: FlagFromDevice, Seq: 9, Ack: 3, Body: []byte{0xa1, 0x01, 0x02}}, nil},
		{"tagged", Frame{Type: TypeCommand, Seq: 1, Body: []byte{0xa0}}, &testAuth},
		{"tagged hello", Frame{Type: TypeHello, Flags: FlagFromDevice, Body: []byte{0xa0}}, &testAuth},
		{"max body", Frame{Type: TypeFwChunk, Seq: 0xFFFFFFFF, Ack: 0xFFFFFFFF, Body: bytes.Repeat([]byte{0xFF}, MaxBody)}, nil},
		{"max body tagged", Frame{Type: TypeFwChunk, Seq: 2, Body: make([]byte, MaxBodyAuth)}, &testAuth},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wire, err := Append([]byte{0xAA}, tt.f, tt.auth)
			if err != nil {
				t.Fatal(err)
			}
			wire = wire[1:]
			if wire[len(wire)-1] != 0 || bytes.IndexByte(wire[:len(wire)-1], 0) >= 0 {
				t.Fatalf("wire %x: want exactly one zero, at the end", wire)
			}
			if len(wire) > MaxWireLen {
				t.Fatalf("%d wire bytes > MaxWireLen %d", len(wire), MaxWireLen)
			}
			g, err := Decode(wire)
			if err != nil {
				t.Fatal(err)
			}
			if g.Version != Version || g.Type != tt.f.Type || g.Seq != tt.f.Seq || g.Ack != tt.f.Ack || !bytes.Equal(g.Body, tt.f.Body) {
				t.Fatalf("decoded %v, sent %v", g, tt.f)
			}
			if tt.auth != nil {
				if !g.Authenticated() || g.KeyEpoch != tt.auth.Epoch {
					t.Fatalf("decoded flags 0x%02x epoch %d", uint8(g.Flags), g.KeyEpoch)
				}
				if err := g.Verify(tt.auth); err != nil {
					t.Fatalf("verify: %v", err)
				}
			}
			// Re-encoding a decoded frame without the key keeps its tag.
			again, err := Append(nil, g, nil)
			if err != nil || !bytes.Equal(again, wire) {
				t.Fatalf("re-encode: %x, %v\nwant %x", again, err, wire)
			}
		})
	}
}

func TestAppendOversize(t *testing.T) {
	for _, tt := range []struct {
		body int
		auth *Auth
	}{{MaxBody + 1, nil}, {MaxBodyAuth + 1, &testAuth}} {
		dst, err := Append([]byte{1}, Frame{Type: TypeEvent, Seq: 1, Body: make([]byte, tt.body)}, tt.auth)
		if !errors.Is(err, ErrOversize) || len(dst) != 1 {
			t.Errorf("body %d: got %d bytes, %v; want dst unchanged and ErrOversize", tt.body, len(dst), err)
		}
	}
}

// raw builds a decoded frame and lets a test damage it before the CRC is
// recomputed, so each check is reached on its own.
func raw(t *testing.T, f Frame, auth *Auth, damage func([]byte) []byte) []byte {
	t.Helper()
	b, err := AppendRaw(nil, f, auth)
	if err != nil {
		t.Fatal(err)
	}
	b = damage(b[:len(b)-CRCLen])
	return binary.BigEndian.AppendUint32(b, Checksum(b))
}

func TestParseErrors(t *testing.T) {
	hb := Frame{Type: TypeHeartbeat, Body: []byte{0xa0}}
	good, _ := AppendRaw(nil, hb, nil)
	for _, tt := range []struct {
		name string
		raw  []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"header only", good[:HeaderLen], ErrShort},
		{"oversize", make([]byte, MaxLen+1), ErrOversize},
		{"bad crc", func() []byte { b := bytes.Clone(good); b[len(b)-1] ^= 1; return b }(), ErrBadCRC},
		{"bit flip in body", func() []byte { b := bytes.Clone(good); b[HeaderLen] ^= 0x80; return b }(), ErrBadCRC},
		{"version 2", raw(t, hb, nil, func(b []byte) []byte { b[0] = 2; return b }), ErrBadVersion},
		{"length too long", raw(t, hb, nil, func(b []byte) []byte { b[12]++; return b }), ErrBadLength},
		{"length too short", raw(t, hb, nil, func(b []byte) []byte { b[12]--; return b }), ErrBadLength},
		{"auth flag without tag", raw(t, hb, nil, func(b []byte) []byte { b[2] |= byte(FlagAuth); return b }), ErrBadLength},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.raw)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if ReasonOf(err) == ReasonNone {
				t.Fatalf("ReasonOf(%v) = none", err)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	cmd := Frame{Type: TypeCommand, Seq: 5, Ack: 2, Body: []byte{0xa0}}
	tagged := func(a *Auth) Frame {
		w, err := Append(nil, cmd, a)
		if err != nil {
			t.Fatal(err)
		}
		f, err := Decode(w)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	other := testAuth
	other.Key = bytes.Repeat([]byte{9}, KeyLen)
	newEpoch := testAuth
	newEpoch.Epoch = 2
	otherSession := testAuth
	otherSession.GatewayBoot++
	rebooted := testAuth
	rebooted.DeviceBoot++
	flipped := tagged(&testAuth)
	flipped.Tag[15] ^= 1
	for _, tt := range []struct {
		name string
		f    Frame
		ok   bool
	}{
		{"good", tagged(&testAuth), true},
		{"untagged", cmd, false},
		{"wrong key", tagged(&other), false},
		{"wrong epoch", tagged(&newEpoch), false},
		{"replayed into another gateway session", tagged(&otherSession), false},
		{"replayed after device reboot", tagged(&rebooted), false},
		{"tag flipped", flipped, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.f.Verify(&testAuth)
			if tt.ok != (err == nil) || (err != nil && !errors.Is(err, ErrBadMAC)) {
				t.Fatalf("Verify = %v, want ok=%v", err, tt.ok)
			}
		})
	}
	// Handshake frames ignore the gateway boot id, which the device does
	// not know before WELCOME.
	hello := Frame{Type: TypeHello, Flags: FlagFromDevice, Body: []byte{0xa0}}
	w, _ := Append(nil, hello, &otherSession)
	f, _ := Decode(w)
	if err := f.Verify(&testAuth); err != nil {
		t.Fatalf("hello verify across gateway boots: %v", err)
	}
	short := testAuth
	short.Key = short.Key[:16]
	if _, err := Append(nil, cmd, &short); !errors.Is(err, ErrBadMAC) {
		t.Fatalf("16-byte key: %v, want ErrBadMAC", err)
	}
}

func TestTypes(t *testing.T) {
	for ty := range typeNames {
		if ty.Sequenced() != (ty >= TypeEvent) {
			t.Errorf("%v: Sequenced() = %v", ty, ty.Sequenced())
		}
	}
	if Type(0x7e).Known() || Type(0x7e).String() != "TYPE(0x7e)" {
		t.Errorf("unknown type: %v", Type(0x7e))
	}
}
