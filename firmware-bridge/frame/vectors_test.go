package frame

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

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
				a = &testAuth
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
