// Package filesink appends events to a local file, one JSON line each, fsync'd before acknowledging.
//
// It is the simplest real sink: an archive on a USB stick or a network mount
// that payroll imports from. The file is opened on the first delivery and
// again after any failure, so a mount that is missing makes the sink down
// (the events wait in the journal) until it is back.
package filesink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/officegate/officegate/gateway/sinks"
)

// Sink appends events to a file.
type Sink struct {
	// Immutable.
	path string

	mu sync.Mutex
	// Guarded by mu.
	f *os.File // nil until opened, and after a failure
}

var (
	_ sinks.Sink   = (*Sink)(nil)
	_ sinks.Closer = (*Sink)(nil)
)

// New returns a sink appending to path (created 0600 if missing; its
// directory must exist).
func New(path string) (*Sink, error) {
	if path == "" {
		return nil, errors.New("filesink: no path")
	}
	return &Sink{path: path}, nil
}

// FromSettings builds a sink from its configuration: path (required).
func FromSettings(s sinks.Settings) (sinks.Sink, error) {
	if err := s.Only("path"); err != nil {
		return nil, err
	}
	return New(s["path"])
}

// line is one line of the file.
type line struct {
	Topic   string          `json:"topic"`
	Stream  string          `json:"stream"`
	Seq     uint64          `json:"seq"`
	Payload json.RawMessage `json:"payload"`
}

// Deliver appends ev as one line and fsyncs the file.
func (s *Sink) Deliver(_ context.Context, ev sinks.Event) error {
	b, err := json.Marshal(line{Topic: ev.Topic, Stream: ev.Stream, Seq: ev.Seq, Payload: ev.Payload})
	if err != nil {
		return sinks.Permanent(fmt.Errorf("filesink: event %s: %w", ev.ID, err))
	}
	b = append(b, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return fmt.Errorf("filesink: open %s: %w", s.path, err)
		}
		s.f = f
	}
	if _, err := s.f.Write(b); err != nil {
		s.reset()
		return fmt.Errorf("filesink: write %s: %w", s.path, err)
	}
	if err := s.f.Sync(); err != nil {
		s.reset()
		return fmt.Errorf("filesink: fsync %s: %w", s.path, err)
	}
	return nil
}

// reset drops the file after a failure; the next delivery reopens it.
func (s *Sink) reset() {
	s.f.Close()
	s.f = nil
}

// Close closes the file.
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}
