package config

import (
	"bytes"

	toml "github.com/pelletier/go-toml/v2"
)

// Section is the kind-specific table of a device, [devices.<kind>], kept
// undecoded because only the kind's driver knows its keys. Decode checks it as
// strictly as the rest of the file and reports problems under the section's
// path with the line in the original file:
//
//	config.toml:23: devices[1].terminal.clock_drif: unknown key
type Section struct {
	file string
	path string // devices[1].terminal
	pos  *positions
	raw  map[string]any // nil when the file has no such table
}

// Present reports whether the file has the table.
func (s Section) Present() bool { return s.raw != nil }

// Path is the section's canonical key, "devices[1].terminal".
func (s Section) Path() string { return s.path }

// Decode decodes the table into v (a pointer to a struct with toml tags, its
// defaults already set: keys the file leaves out keep them). Unknown keys and
// wrong types are errors, one *Error per problem. An absent table decodes to
// nothing.
func (s Section) Decode(v any) error {
	if s.raw == nil {
		return nil
	}
	// Decoding from the table alone (re-encoded) keeps other devices' tables
	// out of it; positions in the re-encoded text are mapped back to the file
	// through the keys.
	doc, err := toml.Marshal(s.raw)
	if err != nil {
		return s.Errorf("", nil, "cannot re-encode: %v", err)
	}
	err = toml.NewDecoder(bytes.NewReader(doc)).DisallowUnknownFields().Decode(v)
	if err == nil {
		return nil
	}
	p := problems{file: s.file, pos: s.pos}
	p.decodeErrors(err, s.path+".", index(doc))
	return p.err()
}

// Errorf makes an error located at a key of the section, for a driver that
// rejects a value after Decode: s.Errorf("gap", "2s", "must be at most 100ms").
// key "" means the section itself.
func (s Section) Errorf(key string, value any, format string, args ...any) error {
	pos := s.pos
	if pos == nil {
		pos = &positions{byPath: map[string]int{}}
	}
	p := problems{file: s.file, pos: pos}
	full := s.path
	if key != "" {
		full = join(s.path, key)
	}
	return p.make(full, value, format, args...)
}
