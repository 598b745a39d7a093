package room

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"time"

	"github.com/officegate/officegate/internal/atomicfile"
)

// ErrCorrupt is wrapped by the error for a state file whose content cannot
// be the state of a room (see the package documentation, "State file").
var ErrCorrupt = errors.New("room: state file corrupt")

// stateFormat and stateVersion open every state file ("State file").
const (
	stateFormat  = "officegate.room.state"
	stateVersion = 1
)

// timeLayout is the contract's UTC-millisecond form for times in event data.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// maxStateSize bounds what load reads: 500 bookings of at most ~700 bytes
// each and their marks fit in well under 1 MiB.
const maxStateSize = 4 << 20

// CheckIn is the check-in of one booking.
type CheckIn struct {
	At     time.Time `json:"at"`
	Source string    `json:"source"` // SourcePanel or SourceCommand
}

// state is what the state file holds; its JSON form is the file.
type state struct {
	Format    string               `json:"format"`
	Version   int                  `json:"version"`
	Schedule  Schedule             `json:"schedule"`
	CheckIns  map[string]CheckIn   `json:"checkins"`
	Present   map[string]time.Time `json:"present"`
	Suggested map[string]time.Time `json:"suggested"`
	Override  *Override            `json:"led_override,omitempty"`
}

func newState() state {
	return state{
		Format: stateFormat, Version: stateVersion, Schedule: Schedule{Bookings: []Booking{}},
		CheckIns: map[string]CheckIn{}, Present: map[string]time.Time{}, Suggested: map[string]time.Time{},
	}
}

// clone returns a copy of s that shares nothing with it.
func (s state) clone() state {
	c := s
	c.Schedule = s.Schedule.clone()
	c.CheckIns = maps.Clone(s.CheckIns)
	c.Present = maps.Clone(s.Present)
	c.Suggested = maps.Clone(s.Suggested)
	if s.Override != nil {
		o := *s.Override
		c.Override = &o
	}
	return c
}

// encode returns the state file's bytes for s.
func encode(s state) ([]byte, error) {
	b, err := json.MarshalIndent(s, "", "\t")
	if err != nil {
		return nil, fmt.Errorf("room: encode state: %w", err)
	}
	return append(b, '\n'), nil
}

// decode parses a state file and checks it against every rule of
// "State file"; any failure wraps ErrCorrupt.
func decode(b []byte) (state, error) {
	var s state
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&s); err != nil {
		return state{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if _, err := d.Token(); err != io.EOF {
		return state{}, fmt.Errorf("%w: data after the state object", ErrCorrupt)
	}
	if s.Format != stateFormat || s.Version != stateVersion {
		return state{}, fmt.Errorf("%w: format %q version %d, want %q version %d", ErrCorrupt, s.Format, s.Version, stateFormat, stateVersion)
	}
	if s.Schedule.Bookings == nil || s.CheckIns == nil || s.Present == nil || s.Suggested == nil {
		return state{}, fmt.Errorf("%w: schedule.bookings, checkins, present or suggested missing", ErrCorrupt)
	}
	if s.Schedule.Version != 0 || len(s.Schedule.Bookings) != 0 {
		if err := s.Schedule.Check(); err != nil {
			return state{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
	}
	for id, c := range s.CheckIns {
		if s.Schedule.find(id) < 0 {
			return state{}, fmt.Errorf("%w: check-in of booking %q, which is not scheduled", ErrCorrupt, id)
		}
		if c.At.IsZero() || (c.Source != SourcePanel && c.Source != SourceCommand) {
			return state{}, fmt.Errorf("%w: check-in of booking %q: no time or source %q", ErrCorrupt, id, c.Source)
		}
	}
	for id, at := range s.Present {
		if s.Schedule.find(id) < 0 || at.IsZero() {
			return state{}, fmt.Errorf("%w: presence in booking %q, which is not scheduled or has no time", ErrCorrupt, id)
		}
	}
	for id, at := range s.Suggested {
		if id == "" || len(id) > MaxIDLen || at.IsZero() {
			return state{}, fmt.Errorf("%w: release suggestion for booking %q: bad id or no time", ErrCorrupt, id)
		}
	}
	if len(s.Suggested) > 2*MaxBookings {
		// Suggestions outlive the schedule by a day at most: more than two
		// schedules' worth is not a state this package writes.
		return state{}, fmt.Errorf("%w: %d release suggestions", ErrCorrupt, len(s.Suggested))
	}
	if o := s.Override; o != nil && (!o.State.valid() || o.Until.IsZero()) {
		return state{}, fmt.Errorf("%w: LED override %q until %v", ErrCorrupt, o.State, o.Until)
	}
	s.Schedule = s.Schedule.clone() // sorted, as the Room keeps it
	return s, nil
}

// load reads the state file at path; a missing file is a new room.
func load(path string) (state, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return newState(), nil
	}
	if err != nil {
		return state{}, fmt.Errorf("room: load state: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStateSize+1))
	if err != nil {
		return state{}, fmt.Errorf("room: load state %s: %w", path, err)
	}
	if len(b) > maxStateSize {
		return state{}, fmt.Errorf("%w: %s is larger than %d bytes", ErrCorrupt, path, maxStateSize)
	}
	s, err := decode(b)
	if err != nil {
		return state{}, fmt.Errorf("room: load state %s: %w", path, err)
	}
	return s, nil
}

// save replaces the state file at path with s atomically: a temporary file
// in the same directory, fsync'd, renamed over path, and the directory
// fsync'd so the rename itself survives a power cut.
func save(path string, s state) error {
	b, err := encode(s)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("room: save state %s: %w", path, err)
	}
	return nil
}
