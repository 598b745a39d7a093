package frame

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/officegate/officegate/firmware-bridge/internal/testvectors"
)

const vectorsPath = "../testvectors.txt"

func loadVectors(t testing.TB) []testvectors.Vector {
	t.Helper()
	vs, err := testvectors.Load(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) == 0 {
		t.Fatal("no vectors")
	}
	return vs
}

func firstUint(t *testing.T, v testvectors.Vector, key string) uint64 {
	t.Helper()
	s, _, _ := strings.Cut(v.Get(key), " ")
	n, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		t.Fatalf("vector %s: %s: %v", v.Name, key, err)
	}
	return n
}

func mustHex(t *testing.T, v testvectors.Vector, key string) []byte {
	t.Helper()
	if v.Get(key) == "(none)" {
		return nil
	}
	b, err := v.Hex(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVectors checks decode and encode against every frame and COBS entry
// of the file firmware authors use.
func TestVectors(t *testing.T) {
	var stream []byte
	wantDrops := [NumReasons]uint64{}
	good := 0
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			switch v.Get("kind") {
			case "cobs":
				data, enc := mustHex(t, v, "data"), mustHex(t, v, "encoded")
				if got := AppendEncode(nil, data); !bytes.Equal(got, enc) {
					t.Fatalf("encode: got %x want %x", got, enc)
				}
				if got, err := AppendDecode(nil, enc); err != nil || !bytes.Equal(got, data) {
					t.Fatalf("decode: got %x, %v", got, err)
				}
				return
			case "frame":
			default:
				t.Fatalf("unknown kind %q", v.Get("kind"))
			}
			w := mustHex(t, v, "wire")
			stream = append(stream, w...)
			f, err := Decode(w)
			expect := v.Get("expect")
			if expect == "bad body" {
				expect = "ok" // §2.6 passes; the body is msg's business (§5.7)
			}
			if expect == "bad mac" {
				if err != nil {
					t.Fatal(err)
				}
				err = f.Verify(&testAuth)
			}
			if expect != "ok" {
				if err == nil || ReasonOf(err).String() != expect {
					t.Fatalf("got %v, want %q", err, expect)
				}
				if expect != "bad mac" {
					wantDrops[ReasonOf(err)]++
				} else {
					good++ // a receiver without the key delivers it
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			good++
			if f.Type != Type(firstUint(t, v, "type")) || f.Flags != Flags(firstUint(t, v, "flags")) ||
				f.Seq != uint32(firstUint(t, v, "seq")) || f.Ack != uint32(firstUint(t, v, "ack")) {
				t.Fatalf("header %v flags 0x%02x, file says type %s flags %s seq %s ack %s", f, uint8(f.Flags), v.Get("type"), v.Get("flags"), v.Get("seq"), v.Get("ack"))
			}
			if body := mustHex(t, v, "body"); !bytes.Equal(body, f.Body) {
				t.Fatalf("body %x, file says %x", f.Body, body)
			}
			var a *Auth
			if strings.HasPrefix(v.Get("auth"), "test") {
				a = vectorAuth(t, v)
				if err := f.Verify(a); err != nil {
					t.Fatal(err)
				}
			}
			// Encode from the header fields and body, with the key.
			src := Frame{Type: f.Type, Flags: f.Flags &^ FlagAuth, Seq: f.Seq, Ack: f.Ack, Body: f.Body}
			raw, err := AppendRaw(nil, src, a)
			if err != nil || !bytes.Equal(raw, mustHex(t, v, "frame")) {
				t.Fatalf("raw encode %x, %v", raw, err)
			}
			if crc, _ := strconv.ParseUint(v.Get("crc"), 0, 32); uint32(crc) != Checksum(raw[:len(raw)-CRCLen]) {
				t.Fatalf("crc field %s", v.Get("crc"))
			}
			enc, err := Append(nil, src, a)
			if err != nil || !bytes.Equal(enc, w) {
				t.Fatalf("wire encode %x, %v", enc, err)
			}
		})
	}
	// All the frames back to back through the stream splitter.
	r := NewReader(bytes.NewReader(stream), nil)
	n := 0
	for {
		_, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if s := r.Stats(); n != good || s.Drops != wantDrops {
		t.Fatalf("reader: %d frames (want %d), drops %v (want %v)", n, good, s.Drops, wantDrops)
	}
}

var authBoot = regexp.MustCompile(`device boot (\d+)`)

// vectorAuth is the test key in the context a vector's auth field names.
func vectorAuth(t *testing.T, v testvectors.Vector) *Auth {
	t.Helper()
	m := authBoot.FindStringSubmatch(v.Get("auth"))
	if m == nil {
		t.Fatalf("vector %s: auth %q names no device boot", v.Name, v.Get("auth"))
	}
	n, err := strconv.ParseUint(m[1], 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	a := testAuth
	a.DeviceBoot = uint32(n)
	return &a
}

// TestVectorsDerived checks what the descriptions of the bad frames say
// they are made of, and the size boundary of §2.4: a 1024-byte frame takes
// at most 1029 encoded bytes, and 1025 bytes are refused however they
// encode.
func TestVectorsDerived(t *testing.T) {
	byName := map[string]testvectors.Vector{}
	for _, v := range loadVectors(t) {
		byName[v.Name] = v
	}
	get := func(name, key string) []byte {
		t.Helper()
		v, ok := byName[name]
		if !ok {
			t.Fatalf("no vector %q", name)
		}
		return mustHex(t, v, key)
	}
	recrc := func(b []byte) []byte {
		n := len(b) - CRCLen
		return binary.BigEndian.AppendUint32(append([]byte(nil), b[:n]...), Checksum(b[:n]))
	}
	hb := get("heartbeat", "frame")
	edit := func(i int, b byte) []byte { c := append([]byte(nil), hb...); c[i] = b; return c }
	for name, want := range map[string][]byte{
		"bad-crc":     edit(len(hb)-1, hb[len(hb)-1]^0x01),
		"bad-version": recrc(edit(0, 2)),
		"bad-length":  recrc(edit(12, hb[12]+1)),
		"short":       hb[:16],
	} {
		if got := get(name, "frame"); !bytes.Equal(got, want) {
			t.Errorf("%s is not what its description says of the heartbeat vector:\n got %x\nwant %x", name, got, want)
		}
	}
	et := get("event-tagged", "frame")
	mac := append([]byte(nil), et...)
	mac[len(mac)-CRCLen-1] ^= 0x80
	if got := get("bad-mac", "frame"); !bytes.Equal(got, recrc(mac)) {
		t.Errorf("bad-mac is not event-tagged with one tag bit flipped")
	}

	maxF, maxW := get("max-frame", "frame"), get("max-frame", "wire")
	if len(maxF) != MaxLen || len(maxW) != MaxWireLen {
		t.Errorf("max-frame: %d bytes, %d on the wire; want %d and %d", len(maxF), len(maxW), MaxLen, MaxWireLen)
	}
	over := get("oversize-1025", "frame")
	if len(over) != MaxLen+1 || !bytes.Equal(over[13:len(maxF)-CRCLen], maxF[13:len(maxF)-CRCLen]) || !bytes.Equal(over[:11], maxF[:11]) {
		t.Errorf("oversize-1025 is not max-frame with one more body byte")
	}
	if w := get("oversize-1025", "wire"); len(w) != MaxWireLen+1 {
		t.Errorf("oversize-1025 takes %d bytes on the wire, want %d", len(w), MaxWireLen+1)
	}
	if f, w := get("oversize-1025-zeros", "frame"), get("oversize-1025-zeros", "wire"); len(f) != MaxLen+1 || len(w) > MaxWireLen {
		t.Errorf("oversize-1025-zeros: %d bytes, %d on the wire; want %d, at most %d", len(f), len(w), MaxLen+1, MaxWireLen)
	}

	// Through the stream splitter, byte by byte: the maximal frame comes
	// out, both 1025-byte frames are dropped as oversize, and the frame
	// after them is intact.
	var stream []byte
	for _, n := range []string{"max-frame", "oversize-1025", "oversize-1025-zeros", "heartbeat"} {
		stream = append(stream, get(n, "wire")...)
	}
	r := NewReader(iotest.OneByteReader(bytes.NewReader(stream)), nil)
	var got []Type
	for {
		f, err := r.Next()
		if err != nil {
			break
		}
		got = append(got, f.Type)
	}
	if s := r.Stats(); len(got) != 2 || got[0] != TypeConfig || got[1] != TypeHeartbeat || s.Drops[ReasonOversize] != 2 || s.Dropped() != 2 {
		t.Fatalf("frames %v, drops %v; want CONFIG and HEARTBEAT, two oversize", got, s.Drops)
	}
}
