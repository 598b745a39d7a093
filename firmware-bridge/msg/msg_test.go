package msg_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/internal/testvectors"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

func b(parts ...any) []byte {
	var out []byte
	for _, p := range parts {
		switch p := p.(type) {
		case int:
			out = append(out, byte(p))
		case rune:
			out = append(out, byte(p))
		case string:
			out = append(out, p...)
		case []byte:
			out = append(out, p...)
		}
	}
	return out
}

// A minimal valid EVENT body: {1: [6, 42], 2: "punch", 3: 0} ...
var eventHead = b(0x01, 0x82, 0x06, 0x18, 0x2a, 0x02, 0x65, "punch", 0x03, 0x00)

func eventWithData(data ...any) []byte { return b(0xa4, eventHead, 0x05, b(data...)) }

func nest(depth int) []byte {
	// {"a": {"a": … {"a": 1}}}
	var out []byte
	for i := 0; i < depth; i++ {
		out = append(out, 0xa1, 0x61, 'a')
	}
	return append(out, 0x01)
}

func TestHostile(t *testing.T) {
	for _, tt := range []struct {
		name string
		typ  frame.Type
		body []byte
		want error
		text string // a fragment the error must contain
	}{
		{"valid", frame.TypeEvent, b(0xa3, eventHead), nil, ""},
		{"unknown key ignored", frame.TypeEvent, b(0xa4, eventHead, 0x18, 0x63, 0x63, "new"), nil, ""},
		{"unknown key holding a map ignored", frame.TypeEvent, b(0xa4, eventHead, 0x18, 0x64, 0xa1, 0x01, 0x02), nil, ""},
		{"data ok", frame.TypeEvent, eventWithData(0xa1, 0x64, "user", 0x65, "10234"), nil, ""},
		{"data at max depth", frame.TypeEvent, eventWithData(nest(msg.MaxDataDepth)), nil, ""},
		{"data too deep", frame.TypeEvent, eventWithData(nest(msg.MaxDataDepth + 1)), msg.ErrInvalid, "nested deeper than 4"},
		{"deep nesting", frame.TypeEvent, b(bytes.Repeat([]byte{0x81}, 20), 0x01), msg.ErrMalformed, "exceeded max nested level"},
		{"deep nesting in data", frame.TypeEvent, eventWithData(nest(9)), msg.ErrMalformed, "exceeded max nested level"},
		{"4-billion-element array", frame.TypeEvent, eventWithData(0xa1, 0x61, 'x', 0x9a, 0xff, 0xff, 0xff, 0xff), msg.ErrMalformed, "exceeded max number of elements"},
		{"huge map header", frame.TypeEvent, b(0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), msg.ErrMalformed, ""},
		{"huge byte string header", frame.TypeConfig, b(0xa2, 0x01, 0x5a, 0xff, 0xff, 0xff, 0xff), msg.ErrMalformed, ""},
		{"duplicate key", frame.TypeEvent, b(0xa4, eventHead, 0x03, 0x01), msg.ErrMalformed, "duplicate map key"},
		{"duplicate unknown key", frame.TypeEvent, b(0xa5, eventHead, 0x18, 0x63, 0x01, 0x18, 0x63, 0x02), msg.ErrMalformed, "duplicate map key"},
		{"duplicate key in data", frame.TypeEvent, eventWithData(0xa2, 0x61, 'k', 0x01, 0x61, 'k', 0x02), msg.ErrMalformed, "duplicate map key"},
		{"indefinite map", frame.TypeEvent, b(0xbf, eventHead, 0xff), msg.ErrMalformed, "indefinite-length"},
		{"indefinite string", frame.TypeEvent, b(0xa3, 0x01, 0x82, 0x06, 0x01, 0x02, 0x7f, 0x61, 'p', 0xff, 0x03, 0x00), msg.ErrMalformed, "indefinite-length"},
		{"tag", frame.TypeEvent, b(0xa3, 0x01, 0x82, 0x06, 0x01, 0x02, 0x61, 'p', 0x03, 0xc1, 0x00), msg.ErrMalformed, "tag"},
		{"tag in data", frame.TypeEvent, eventWithData(0xa1, 0x61, 't', 0xc0, 0x61, 'x'), msg.ErrMalformed, "tag"},
		{"trailing bytes", frame.TypeEvent, b(0xa3, eventHead, 0x00), msg.ErrMalformed, "extraneous data"},
		{"truncated", frame.TypeEvent, b(0xa3, eventHead)[:8], msg.ErrMalformed, "unexpected EOF"},
		{"not a map", frame.TypeEvent, b(0x01), msg.ErrMalformed, ""},
		{"integer key in data", frame.TypeEvent, eventWithData(0xa1, 0x01, 0x02), msg.ErrMalformed, "cannot unmarshal"},
		{"integer key nested in data", frame.TypeEvent, eventWithData(0xa1, 0x61, 'a', 0xa1, 0x01, 0x02), msg.ErrMalformed, ""},
		{"invalid utf-8", frame.TypeEvent, b(0xa3, 0x01, 0x82, 0x06, 0x01, 0x02, 0x62, 0xc3, 0x28, 0x03, 0x00), msg.ErrMalformed, "UTF-8"},
		{"wrong value type", frame.TypeEvent, b(0xa3, 0x01, 0x82, 0x06, 0x01, 0x02, 0x01, 0x03, 0x00), msg.ErrMalformed, "cannot unmarshal"},
		{"uint8 overflow", frame.TypeBusy, b(0xa2, 0x01, 0x01, 0x02, 0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), msg.ErrMalformed, "overflows"},
		{"empty event", frame.TypeEvent, nil, msg.ErrInvalid, "zero part"},
		{"event type with slash", frame.TypeEvent, b(0xa3, 0x01, 0x82, 0x06, 0x01, 0x02, 0x63, "a/b", 0x03, 0x00), msg.ErrInvalid, "not in [a-z0-9_-]"},
		{"empty ack", frame.TypeAck, nil, nil, ""},
		{"empty heartbeat map", frame.TypeHeartbeat, b(0xa0), nil, ""},
		{"unknown type", frame.Type(0x7e), b(0xa0), msg.ErrUnknownType, "TYPE(0x7e)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := msg.Unmarshal(tt.typ, tt.body)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("got %v", err)
				}
				if m == nil || m.Type() != tt.typ {
					t.Fatalf("got %#v", m)
				}
				return
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) || !strings.HasPrefix(err.Error(), "msg: ") {
				t.Fatalf("got %v, want %v containing %q", err, tt.want, tt.text)
			}
			if m != nil {
				t.Fatalf("message %#v returned with error", m)
			}
		})
	}
}

func TestMarshalValidates(t *testing.T) {
	for _, m := range []msg.Message{
		&msg.Hello{},
		&msg.Event{ID: msg.EventID{Boot: 1, Seq: 1}, Kind: "Punch"},
		&msg.Config{Hash: make([]byte, 31), Config: []byte{0xa0}},
		&msg.FwChunk{Xfer: 1, Data: make([]byte, msg.MaxChunk+1)},
		&msg.Welcome{DeviceID: "d", Window: 8, Heartbeat: 2000, Proto: 1, GatewayBoot: 1, MTU: 1024, RTO: 500, Ack: 3},
		&msg.Result{ID: "x", Status: msg.StatusOK, Data: map[string]any{"f": func() {}}},
	} {
		if _, err := msg.Marshal(m); !errors.Is(err, msg.ErrInvalid) {
			t.Errorf("Marshal(%T) = %v, want ErrInvalid", m, err)
		}
	}
	big := &msg.Result{ID: "x", Error: strings.Repeat("e", msg.MaxTextLen), Data: map[string]any{}}
	for i := 0; i < 60; i++ {
		big.Data[strings.Repeat(string(rune('a'+i%26)), 1+i/26)] = strings.Repeat("v", 20)
	}
	if _, err := msg.Marshal(big); !errors.Is(err, msg.ErrInvalid) || !strings.Contains(err.Error(), "cap is") {
		t.Errorf("oversize body: %v", err)
	}
}

func TestFrameHelper(t *testing.T) {
	f, err := msg.Frame(&msg.Busy{Seq: 6, Retry: 1000}, 0, 5)
	if err != nil || f.Type != frame.TypeBusy || f.Ack != 5 {
		t.Fatalf("%v, %v", f, err)
	}
}

// FuzzMessage: the body decoder never panics, and what it accepts
// re-encodes to a body it accepts again as the same message.
func FuzzMessage(f *testing.F) {
	vs, err := testvectors.Load(vectorsPath)
	if err != nil {
		f.Fatal(err)
	}
	for _, v := range vs {
		if v.Get("kind") != "frame" || v.Get("expect") != "ok" {
			continue
		}
		w, err := v.Hex("wire")
		if err != nil {
			f.Fatal(err)
		}
		fr, err := frame.Decode(w)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(fr.Type), fr.Body)
	}
	f.Add(uint8(frame.TypeEvent), eventWithData(nest(9)))
	f.Fuzz(func(t *testing.T, typ uint8, body []byte) {
		m, err := msg.Unmarshal(frame.Type(typ), body)
		if err != nil {
			if !errors.Is(err, msg.ErrMalformed) && !errors.Is(err, msg.ErrInvalid) && !errors.Is(err, msg.ErrUnknownType) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		b1, err := msg.Marshal(m)
		if err != nil {
			t.Fatalf("re-encode %#v: %v", m, err)
		}
		m2, err := msg.Unmarshal(frame.Type(typ), b1)
		if err != nil {
			t.Fatalf("decode of re-encoding %x: %v", b1, err)
		}
		b2, err := msg.Marshal(m2)
		if err != nil || !bytes.Equal(b1, b2) {
			t.Fatalf("not stable: %x then %x (%v)", b1, b2, err)
		}
	})
}
