// Package msg owns the CBOR bodies of firmware-bridge frames (PROTOCOL.md §4).
// It has one Go struct per message type with the integer keys of §4, a
// deterministic encoder, and a hardened decoder that turns an untrusted body
// into a validated message or a clear error.
//
// Decoding follows PROTOCOL.md §4.1: duplicate keys, indefinite lengths,
// tags, trailing bytes, nesting deeper than 8, arrays over 256 elements
// and maps over 64 pairs are refused; unknown keys are ignored, so a newer
// firmware that adds fields still talks to an older gateway; free-form
// data maps (event data, command args, result data) must have text keys
// and nest at most 4 deep.
//
//	m, err := msg.Decode(f) // f from frame.Reader.Next
//	switch m := m.(type) {
//	case *msg.Event:
//		…
//	}
//
// Errors wrap ErrUnknownType, ErrMalformed (not CBOR we accept) or
// ErrInvalid (CBOR, but breaks a rule of §4), with the frame type and the
// cause.
package msg
