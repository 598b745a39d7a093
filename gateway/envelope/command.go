package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Command is what an admin service publishes on a command topic (MQTT.md §6).
type Command struct {
	ID        string
	ExpiresAt *time.Time // never nil once parsed
	Args      json.RawMessage
}

// Limits on commands (MQTT.md §13).
const (
	MaxCommandBytes = 64 << 10 // a command payload larger than this is refused unread
	// MaxCommandID is the longest command id: the device link carries ids
	// of at most 64 bytes (firmware-bridge/msg.MaxIDLen), and an id must
	// reach the device unchanged so that its answer can be matched to it.
	MaxCommandID = 64
	// MaxAnswerableID is the longest id the gateway still answers (with an
	// error saying the limit), so a sender with over-long ids learns why
	// instead of hearing nothing. Longer ones are unreadable.
	MaxAnswerableID = 128
	// MaxArgsDepth bounds how deeply args nest (arrays and objects alike,
	// args itself counting as 1): the deepest defined command needs 3, and
	// the link and result data stop at 8 (MQTT.md §13).
	MaxArgsDepth = 8
	DefaultTTL   = 5 * time.Minute
	MaxTTL       = 24 * time.Hour
)

// ErrBadCommand marks a command payload that cannot be executed; the result
// explains why (status "error").
var ErrBadCommand = errors.New("bad command")

// ParseCommand decodes and validates a command payload (JSON only: admin
// services write commands by hand and by script) exactly as command.json
// says: a JSON object with the keys id, expires_at and args, spelt exactly
// (no other key, no key twice), and nothing after it. Unknown fields are
// refused so a misspelt "expires_at" cannot turn into a command that never
// expires. now is the gateway clock: a command without expires_at expires
// DefaultTTL after it arrives; one further out than MaxTTL is refused.
//
// When it fails, AnswerableID says whether the payload still names an id
// to answer the failure to.
func ParseCommand(payload []byte, now time.Time) (*Command, error) {
	fields, id, err := scanCommand(payload)
	if err != nil {
		return nil, err
	}
	if _, ok := fields["id"]; !ok {
		return nil, fmt.Errorf("%w: no id", ErrBadCommand)
	}
	if err := checkID(id); err != nil {
		return nil, err
	}
	c := &Command{ID: id}
	if raw, ok := fields["expires_at"]; ok {
		var t time.Time
		if err := json.Unmarshal(raw, &t); err != nil || bytes.Equal(raw, []byte("null")) {
			return nil, fmt.Errorf("%w: expires_at %.40s: want an RFC 3339 time with an offset", ErrBadCommand, raw)
		}
		if t.Sub(now) > MaxTTL {
			return nil, fmt.Errorf("%w: expires_at %s is more than %v ahead", ErrBadCommand, t.Format(time.RFC3339), MaxTTL)
		}
		c.ExpiresAt = &t
	} else {
		t := now.Add(DefaultTTL)
		c.ExpiresAt = &t
	}
	c.Args = fields["args"]
	if len(c.Args) == 0 || bytes.Equal(c.Args, []byte("null")) {
		c.Args = json.RawMessage("{}")
	}
	if c.Args[0] != '{' {
		return nil, fmt.Errorf("%w: args must be a JSON object", ErrBadCommand)
	}
	return c, nil
}

// AnswerableID returns the id a refused payload can be answered to: the
// top-level "id" as far as the payload could be read up to it, if it is a
// string of 1..MaxAnswerableID printable ASCII characters; "" when there is
// none (the payload is unreadable: MQTT.md §6 rule 1).
func AnswerableID(payload []byte) string {
	_, id, _ := scanCommand(payload)
	if len(id) == 0 || len(id) > MaxAnswerableID || !printable(id) {
		return ""
	}
	return id
}

func checkID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: id is empty", ErrBadCommand)
	case len(id) > MaxCommandID:
		return fmt.Errorf("%w: id is %d characters long, at most %d are allowed", ErrBadCommand, len(id), MaxCommandID)
	case !printable(id):
		return fmt.Errorf("%w: id %q: only printable ASCII without spaces", ErrBadCommand, id)
	}
	return nil
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// scanCommand reads payload token by token: one JSON object whose keys are
// among id, expires_at and args, each once and spelt exactly, with args
// nested at most MaxArgsDepth deep, and nothing but white space after it.
// It returns each key's raw value and the id, which it reports as soon as
// it is read, also when the payload goes wrong later.
func scanCommand(payload []byte) (fields map[string]json.RawMessage, id string, err error) {
	if len(payload) > MaxCommandBytes {
		return nil, "", fmt.Errorf("%w: %d bytes, limit %d", ErrBadCommand, len(payload), MaxCommandBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, "", fmt.Errorf("%w: not a JSON object", ErrBadCommand)
	}
	fields = map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, id, fmt.Errorf("%w: %v", ErrBadCommand, err)
		}
		key, _ := tok.(string)
		switch key {
		case "id", "expires_at", "args":
		default:
			return nil, id, fmt.Errorf("%w: unknown field %q (the fields are id, expires_at and args)", ErrBadCommand, key)
		}
		if _, dup := fields[key]; dup {
			return nil, id, fmt.Errorf("%w: field %q given twice", ErrBadCommand, key)
		}
		start := dec.InputOffset()
		if key == "id" {
			tok, err := dec.Token()
			s, ok := tok.(string)
			if err != nil || !ok {
				return nil, "", fmt.Errorf("%w: id must be a string", ErrBadCommand)
			}
			id = s
		} else if err := skipValue(dec, key); err != nil {
			return nil, id, err
		}
		// The raw value, without the ':' and white space the decoder read
		// before it.
		fields[key] = bytes.TrimLeft(payload[start:dec.InputOffset()], " \t\r\n:")
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, id, fmt.Errorf("%w: %v", ErrBadCommand, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, id, fmt.Errorf("%w: trailing data after the JSON object", ErrBadCommand)
	}
	return fields, id, nil
}

// skipValue reads one value, refusing nesting deeper than MaxArgsDepth.
func skipValue(dec *json.Decoder, key string) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrBadCommand, key, err)
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if depth++; depth > MaxArgsDepth {
				return fmt.Errorf("%w: %s nested more than %d deep", ErrBadCommand, key, MaxArgsDepth)
			}
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}
