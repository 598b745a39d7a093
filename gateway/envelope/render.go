package envelope

import (
	"encoding/json"
	"fmt"

	"github.com/fxamacker/cbor/v2"

	"github.com/officegate/officegate/internal/cbormode"
)

// Format is how payloads are encoded on the wire (config: mqtt.format).
type Format int

const (
	JSON Format = iota // default: UTF-8 JSON objects
	CBOR               // RFC 8949 maps with the same text keys as the JSON form
)

func (f Format) String() string {
	if f == CBOR {
		return "cbor"
	}
	return "json"
}

// ParseFormat reads "json" or "cbor".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "json", "":
		return JSON, nil
	case "cbor":
		return CBOR, nil
	}
	return JSON, fmt.Errorf("envelope: unknown format %q (want json or cbor)", s)
}

// The module's CBOR modes (internal/cbormode): data bodies are read back
// from the journal, whose disk may be damaged, so as hostile input, into
// string-keyed maps for JSON rendering.
var (
	storeEnc = cbormode.Enc // the journaled form: integer keys, deterministic
	wireEnc  = cbormode.Enc // the CBOR wire form: text keys, deterministic
	dataDec  = cbormode.MustHostile(cbormode.Limits{MaxNestedLevels: 8, MaxArrayElements: 1024, MaxMapPairs: 256})
)

// EncodeData encodes a type-specific body for Event.Data or Result.Data. It
// refuses a body that Payload could not render (not a text-keyed map, beyond
// DecodeData's limits, a NaN or infinite float): the body is journaled and the
// device told to forget its copy before anything is published, so a body that
// fails only at publish time would be a record that can never be delivered.
func EncodeData(v any) (cbor.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	if m, ok := v.(map[string]any); ok {
		if b, ok := appendData(make([]byte, 0, 128), m); ok {
			return b, nil // renderable as it is (encode.go)
		}
	}
	b, err := storeEnc.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("envelope: encode data: %w", err)
	}
	if _, ok := appendDataJSON(nil, b); ok {
		// Renderable as JSON straight from the body (json.go), so the decoding
		// path renders it too, in both forms.
		return b, nil
	}
	m, err := DecodeData(b)
	if err != nil {
		return nil, err
	}
	if _, err := json.Marshal(m); err != nil {
		return nil, fmt.Errorf("envelope: encode data: not renderable as JSON: %w", err)
	}
	return b, nil
}

// DecodeData decodes a Data body into generic values (maps with string keys).
func DecodeData(raw cbor.RawMessage) (map[string]any, error) {
	if len(raw) == 0 {
		return map[string]any{}, nil
	}
	var m map[string]any
	if err := dataDec.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("envelope: decode data: %w", err)
	}
	if m == nil {
		// A nil map encodes as CBOR null; the contract's data is an object
		// always ({} when there is none).
		m = map[string]any{}
	}
	return m, nil
}

// wireEvent and wireResult fix the field names and order of both wire forms.
type wireEvent struct {
	V        int            `json:"v" cbor:"v"`
	ID       string         `json:"id" cbor:"id"`
	Type     string         `json:"type" cbor:"type"`
	Gateway  string         `json:"gateway" cbor:"gateway"`
	Device   string         `json:"device" cbor:"device"`
	Boot     uint32         `json:"boot" cbor:"boot"`
	Seq      uint64         `json:"seq" cbor:"seq"`
	Time     string         `json:"time" cbor:"time"`
	TimeRaw  string         `json:"time_raw" cbor:"time_raw"`
	Clock    string         `json:"clock" cbor:"clock"`
	Offset   *int64         `json:"clock_offset_ms,omitempty" cbor:"clock_offset_ms,omitempty"`
	Received string         `json:"received" cbor:"received"`
	Data     map[string]any `json:"data" cbor:"data"`
}

type wireResult struct {
	V       int            `json:"v" cbor:"v"`
	ID      string         `json:"id" cbor:"id"`
	Gateway string         `json:"gateway" cbor:"gateway"`
	Device  string         `json:"device,omitempty" cbor:"device,omitempty"`
	Command string         `json:"command" cbor:"command"`
	Status  string         `json:"status" cbor:"status"`
	Error   string         `json:"error,omitempty" cbor:"error,omitempty"`
	Time    string         `json:"time" cbor:"time"`
	Data    map[string]any `json:"data" cbor:"data"`
}

// Payload renders the event for the wire.
func (e *Event) Payload(f Format) ([]byte, error) {
	var p []byte
	var ok bool
	// The envelope's fields take about 300 bytes; JSON data is at most about
	// twice its CBOR.
	buf := make([]byte, 0, 320+2*len(e.Data))
	if f == CBOR {
		p, ok = appendEventCBOR(buf, e)
	} else {
		p, ok = appendEventJSON(buf, e)
	}
	if ok {
		return p, nil
	}
	return e.decodedPayload(f)
}

// decodedPayload renders the event by decoding its data into maps: the CBOR
// wire form, and JSON for a body the direct path (json.go) does not take.
func (e *Event) decodedPayload(f Format) ([]byte, error) {
	data, err := DecodeData(e.Data)
	if err != nil {
		return nil, fmt.Errorf("event %s: %w", e.ID, err)
	}
	w := wireEvent{
		V: e.V, ID: e.ID, Type: e.Type, Gateway: e.Gateway, Device: e.Device, Boot: e.Boot, Seq: e.Seq,
		Time: e.Time.String(), TimeRaw: e.TimeRaw, Clock: e.Clock, Offset: e.ClockOffsetMS, Received: e.Received.String(), Data: data,
	}
	return marshal(f, w)
}

// Payload renders the result for the wire.
func (r *Result) Payload(f Format) ([]byte, error) {
	var p []byte
	var ok bool
	buf := make([]byte, 0, 256+2*len(r.Data))
	if f == CBOR {
		p, ok = appendResultCBOR(buf, r)
	} else {
		p, ok = appendResultJSON(buf, r)
	}
	if ok {
		return p, nil
	}
	return r.decodedPayload(f)
}

// decodedPayload is Event.decodedPayload for a result.
func (r *Result) decodedPayload(f Format) ([]byte, error) {
	data, err := DecodeData(r.Data)
	if err != nil {
		return nil, fmt.Errorf("result %s: %w", r.ID, err)
	}
	w := wireResult{
		V: r.V, ID: r.ID, Gateway: r.Gateway, Device: r.Device, Command: r.Command, Status: r.Status,
		Error: r.Error, Time: r.Time.String(), Data: data,
	}
	return marshal(f, w)
}

func marshal(f Format, v any) ([]byte, error) {
	if f == CBOR {
		return wireEnc.Marshal(v)
	}
	return json.Marshal(v)
}

// Outbound is what the journal holds for the uplink: one event, one result, or
// a marker (a note the gateway keeps for itself and never publishes).
type Outbound struct {
	Event  *Event  `cbor:"1,keyasint,omitempty"`
	Result *Result `cbor:"2,keyasint,omitempty"`
	Marker *Marker `cbor:"3,keyasint,omitempty"`
}

// Marker is a journaled note: the command log marks a command as received
// before executing it, so a restart mid-execution never executes it again.
type Marker struct {
	Command   string `cbor:"1,keyasint"` // command id
	Device    string `cbor:"2,keyasint,omitempty"`
	Name      string `cbor:"3,keyasint"`
	ExpiresMs int64  `cbor:"4,keyasint"`
	// Result is set when a device answered the command: the answer is
	// durable before the device forgets it, and published once, by the
	// command processor, as the command's result.
	Result *Result `cbor:"5,keyasint,omitempty"`
}

// Encode gives the journaled form.
func (o *Outbound) Encode() ([]byte, error) {
	if o.Event != nil && o.Result == nil && o.Marker == nil {
		if b, ok := appendStoreEvent(make([]byte, 0, 160+len(o.Event.Data)), o.Event); ok {
			return b, nil // storeEnc's bytes (store.go)
		}
	}
	return storeEnc.Marshal(o)
}

// EncodeEvent gives the journaled form of e with data as its body: the bytes
// of Outbound{Event: e}.Encode() with e.Data set to EncodeData(data) (e.Data
// is ignored), written into one buffer. The intake encodes every event so:
// the body, the envelope and the event are not allocated each on their own.
// e is not retained.
func EncodeEvent(e *Event, data map[string]any) ([]byte, error) {
	// The body is appended first and the envelope after it, which copies
	// the body in; the returned slice is the envelope's part of the buffer.
	buf := make([]byte, 0, 384)
	if d, ok := appendData(buf, data); ok {
		c := *e
		c.Data = d // a nil map is null, as EncodeData writes it
		if b, ok := appendStoreEvent(d[len(d):], &c); ok {
			return b, nil
		}
	}
	raw, err := EncodeData(data)
	if err != nil {
		return nil, err
	}
	c := *e
	c.Data = raw
	return (&Outbound{Event: &c}).Encode()
}

// DecodeOutbound reads a journaled Outbound.
func DecodeOutbound(b []byte) (*Outbound, error) {
	if o, ok := decodeStoreEvent(b); ok {
		return o, nil // as dataDec reads it (store.go)
	}
	var o Outbound
	if err := dataDec.Unmarshal(b, &o); err != nil {
		return nil, fmt.Errorf("envelope: decode journaled message: %w", err)
	}
	n := 0
	for _, set := range []bool{o.Event != nil, o.Result != nil, o.Marker != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, fmt.Errorf("envelope: journaled message holds %d of event, result and marker, want 1", n)
	}
	return &o, nil
}

// Message renders an Outbound as a topic (below the gateway's topic root) and
// a payload.
func (o *Outbound) Message(t Topics, f Format) (topic string, payload []byte, err error) {
	if o.Marker != nil {
		return "", nil, nil
	}
	if o.Event != nil {
		p, err := o.Event.Payload(f)
		return t.Event(o.Event.Device, o.Event.Type), p, err
	}
	p, err := o.Result.Payload(f)
	if o.Result.Device == "" {
		return t.GatewayResults(), p, err
	}
	return t.DeviceResults(o.Result.Device), p, err
}
