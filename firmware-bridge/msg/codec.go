package msg

import (
	"errors"
	"fmt"

	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/internal/cbormode"
)

// Errors returned by Unmarshal and Marshal, wrapped with the message type
// and the cause.
var (
	ErrUnknownType = errors.New("msg: unknown message type")
	ErrMalformed   = errors.New("msg: malformed body")
	ErrInvalid     = errors.New("msg: invalid message")
)

// Decoding limits (PROTOCOL.md §4.1). A body is at most frame.MaxBody
// (1007) bytes, so these bound work per frame, not just memory: a
// 4-billion-element array header is refused before any allocation.
const (
	// MaxNesting is the deepest nesting of arrays and maps in a body; the
	// body map itself is level 1.
	MaxNesting = 8
	// MaxArrayElements bounds any array header.
	MaxArrayElements = 256
	// MaxMapPairs bounds any map header.
	MaxMapPairs = 64
	// MaxDataDepth is how deep the free-form data maps of EVENT, COMMAND and
	// RESULT may nest; the data map itself is depth 1.
	MaxDataDepth = 4
)

// Limits are the decoding limits of §4.1 as the link's decoders apply them.
var Limits = cbormode.Limits{MaxNestedLevels: MaxNesting, MaxArrayElements: MaxArrayElements, MaxMapPairs: MaxMapPairs}

// The modes are the module's (internal/cbormode): deterministic encoding, so
// equal messages give equal bytes and equal config hashes; hostile-input
// decoding with the limits above. Unknown keys are ignored (§4.1:
// must-ignore); free-form maps decode with string keys, and invalid UTF-8 in a
// text string is an error: text goes to JSON.
var (
	encMode = cbormode.Enc
	decMode = cbormode.MustHostile(Limits)
)

// Message is the body of one frame type.
type Message interface {
	// Type is the frame type that carries this message.
	Type() frame.Type
	// Validate checks the rules CDDL cannot express (PROTOCOL.md §4).
	Validate() error
}

// New returns a pointer to the zero message for t, or nil if t is unknown.
func New(t frame.Type) Message {
	switch t {
	case frame.TypeHello:
		return new(Hello)
	case frame.TypeWelcome:
		return new(Welcome)
	case frame.TypeClose:
		return new(Close)
	case frame.TypeHeartbeat:
		return new(Heartbeat)
	case frame.TypeAck:
		return new(Ack)
	case frame.TypeBusy:
		return new(Busy)
	case frame.TypeTimeReq:
		return new(TimeReq)
	case frame.TypeTimeResp:
		return new(TimeResp)
	case frame.TypeEvent:
		return new(Event)
	case frame.TypeCommand:
		return new(Command)
	case frame.TypeResult:
		return new(Result)
	case frame.TypeConfig:
		return new(Config)
	case frame.TypeConfigStatus:
		return new(ConfigStatus)
	case frame.TypeFwOffer:
		return new(FwOffer)
	case frame.TypeFwChunk:
		return new(FwChunk)
	case frame.TypeFwStatus:
		return new(FwStatus)
	case frame.TypeFwActivate:
		return new(FwActivate)
	}
	return nil
}

// Unmarshal decodes the body of a frame of type t into its message and
// validates it. The result is a pointer (*Hello, *Event, …). An empty body
// is read as the empty map (PROTOCOL.md §4.1). Unmarshal never panics.
func Unmarshal(t frame.Type, body []byte) (Message, error) {
	var m Message
	if t == frame.TypeEvent && len(body) > 0 {
		if e, ok := decodeEvent(body); ok {
			m, body = e, nil // decoded
		}
	}
	if m == nil {
		if m = New(t); m == nil {
			return nil, fmt.Errorf("%w: %v", ErrUnknownType, t)
		}
	}
	// ACK's body is ignored, so a future version may put something there.
	if len(body) > 0 && t != frame.TypeAck {
		if err := decMode.Unmarshal(body, m); err != nil {
			return nil, fmt.Errorf("%w: %v: %w", ErrMalformed, t, err)
		}
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v: %w", ErrInvalid, t, err)
	}
	return m, nil
}

// Decode decodes f's body; see Unmarshal.
func Decode(f frame.Frame) (Message, error) { return Unmarshal(f.Type, f.Body) }

// Marshal validates m and encodes it deterministically. ACK has an empty
// body.
func Marshal(m Message) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v: %w", ErrInvalid, m.Type(), err)
	}
	if m.Type() == frame.TypeAck {
		return nil, nil
	}
	b, err := encMode.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("msg: encoding %v: %w", m.Type(), err)
	}
	if len(b) > frame.MaxBody {
		return nil, fmt.Errorf("%w: %v: body is %d bytes, cap is %d", ErrInvalid, m.Type(), len(b), frame.MaxBody)
	}
	return b, nil
}

// Frame marshals m into a frame with the given sequence and ack numbers.
// The caller sets FlagFromDevice and passes the frame to frame.Append.
func Frame(m Message, seq, ack uint32) (frame.Frame, error) {
	b, err := Marshal(m)
	if err != nil {
		return frame.Frame{}, err
	}
	return frame.Frame{Version: frame.Version, Type: m.Type(), Seq: seq, Ack: ack, Body: b}, nil
}
