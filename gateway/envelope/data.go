package envelope

import (
	"encoding/json"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// AppendDataJSON appends a data body (Event.Data, Result.Data) as the JSON
// object the envelope's "data" is on the wire, byte for byte as Payload
// renders it (json.go's direct path, or the decoding path for a body that
// one does not take). A consumer that needs the body and not the envelope
// (a database row's data column) takes it here rather than render the
// envelope and parse it back. A body Payload could not render is an error.
func AppendDataJSON(dst []byte, raw cbor.RawMessage) ([]byte, error) {
	start := len(dst)
	out, ok := appendDataJSON(dst, raw)
	if ok {
		return out, nil
	}
	dst = out[:start]
	m, err := DecodeData(raw)
	if err != nil {
		return dst, err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return dst, fmt.Errorf("envelope: data: %w", err)
	}
	return append(dst, b...), nil
}

// Topic is the topic Message publishes o on; "" for a marker.
func (o *Outbound) Topic(t Topics) string {
	switch {
	case o.Event != nil:
		return t.Event(o.Event.Device, o.Event.Type)
	case o.Result == nil:
		return ""
	case o.Result.Device == "":
		return t.GatewayResults()
	}
	return t.DeviceResults(o.Result.Device)
}

// AppendJSON appends o's JSON wire form: the payload Message gives for
// JSON, byte for byte, written into dst (a request body being assembled)
// rather than into a slice of its own. A marker appends nothing.
func (o *Outbound) AppendJSON(dst []byte) ([]byte, error) {
	var ok bool
	switch {
	case o.Event != nil:
		if dst, ok = appendEventJSON(dst, o.Event); ok {
			return dst, nil
		}
	case o.Result != nil:
		if dst, ok = appendResultJSON(dst, o.Result); ok {
			return dst, nil
		}
	default:
		return dst, nil
	}
	_, p, err := o.Message(Topics{}, JSON)
	if err != nil {
		return dst, err
	}
	return append(dst, p...), nil
}
