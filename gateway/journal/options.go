package journal

import (
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Priority orders streams for shedding when the disk cap is reached. Lower values
// are more important; Control and Record streams are never shed.
type Priority int

const (
	PriorityControl     Priority = iota // command results, device lifecycle
	PriorityRecord                      // attendance punches, visitor check-ins
	PriorityTelemetry                   // room occupancy and other telemetry
	PriorityDiagnostics                 // logs and diagnostics: shed first
)

func (p Priority) String() string {
	switch p {
	case PriorityControl:
		return "control"
	case PriorityRecord:
		return "record"
	case PriorityTelemetry:
		return "telemetry"
	case PriorityDiagnostics:
		return "diagnostics"
	}
	return fmt.Sprintf("Priority(%d)", int(p))
}

// Protected reports whether records of this priority are never shed.
func (p Priority) Protected() bool { return p <= PriorityRecord }

// Stream configures one named stream of records.
type Stream struct {
	Name     string
	Priority Priority
	// MaxAge is the privacy retention: a record older than this is never
	// delivered and is deleted with its segment. Zero keeps records until delivered.
	MaxAge time.Duration
	// Keep retains records for this long after they were appended even once
	// acknowledged, for Replay (the command log keeps results to answer a
	// repeated command id). Kept records that are acknowledged never block
	// appends: under the disk cap they are deleted first. Zero: deleted once
	// delivered.
	Keep time.Duration
}

// Options configure a Journal. The zero value of each field means its default.
type Options struct {
	Streams []Stream
	// Consumers are the named consumers besides the primary one (consumer.go).
	Consumers []Consumer

	// SegmentSize is the size of each preallocated segment file. Default 8 MiB.
	SegmentSize int64
	// MaxBytes caps the disk the journal uses. Default 1 GiB; at least 4 segments.
	MaxBytes int64
	// SyncWindow bounds fsyncs to one per window under any load; a record that
	// arrives when the disk has been idle for a window is synced at once.
	// Default 10 ms.
	SyncWindow time.Duration
	// MaxBatchBytes caps one commit; appenders past it wait for the next one.
	// Default 1 MiB.
	MaxBatchBytes int
	// MaxRecordSize caps a record body. Default 64 KiB, at most 1 MiB.
	MaxRecordSize int
	// CursorInterval is how often changed cursors are persisted (lazily: losing an
	// update redelivers, never loses). Default 1 s.
	CursorInterval time.Duration

	// Now is the clock for record times and retention. Default time.Now.
	Now func() time.Time
	// Log receives shed, expiry and damage reports. Default: discarded.
	Log *zerolog.Logger
	// OnSync, if set, is called after every commit with the fdatasync latency and
	// the records and bytes it made durable (for metrics). It must not block.
	OnSync func(latency time.Duration, records, bytes int)
}

func (o *Options) withDefaults() (Options, error) {
	v := *o
	if v.SegmentSize == 0 {
		v.SegmentSize = 8 << 20
	}
	if v.MaxBytes == 0 {
		v.MaxBytes = 1 << 30
	}
	if v.SyncWindow == 0 {
		v.SyncWindow = 10 * time.Millisecond
	}
	if v.MaxBatchBytes == 0 {
		v.MaxBatchBytes = 1 << 20
	}
	if v.MaxRecordSize == 0 {
		v.MaxRecordSize = 64 << 10
	}
	if v.CursorInterval == 0 {
		v.CursorInterval = time.Second
	}
	if v.Now == nil {
		v.Now = time.Now
	}
	if v.Log == nil {
		nop := zerolog.Nop()
		v.Log = &nop
	}
	bad := func(field string, val any, why string) (Options, error) {
		return v, fmt.Errorf("%w: %s = %v: %s", ErrConfig, field, val, why)
	}
	switch {
	case v.MaxRecordSize < 1 || v.MaxRecordSize > hardMaxBody:
		return bad("MaxRecordSize", v.MaxRecordSize, fmt.Sprintf("must be 1..%d", hardMaxBody))
	case v.SegmentSize < int64(segmentHeaderSize+recordSize(v.MaxRecordSize)) || v.SegmentSize > 1<<30:
		return bad("SegmentSize", v.SegmentSize, "must hold the largest record and be at most 1 GiB")
	case v.SegmentSize%recordAlign != 0:
		return bad("SegmentSize", v.SegmentSize, "must be a multiple of 8")
	case v.MaxBytes < 4*v.SegmentSize:
		return bad("MaxBytes", v.MaxBytes, fmt.Sprintf("must be at least 4 segments (%d)", 4*v.SegmentSize))
	case v.SyncWindow < 0 || v.SyncWindow > time.Second:
		return bad("SyncWindow", v.SyncWindow, "must be 0..1s")
	case v.MaxBatchBytes < recordSize(v.MaxRecordSize):
		return bad("MaxBatchBytes", v.MaxBatchBytes, "must hold the largest record")
	case v.CursorInterval < 0:
		return bad("CursorInterval", v.CursorInterval, "must not be negative")
	case len(v.Streams) == 0:
		return bad("Streams", "[]", "at least one stream is needed")
	case len(v.Streams) > 250:
		return bad("Streams", len(v.Streams), "at most 250 streams")
	}
	seen := map[string]bool{}
	for i, s := range v.Streams {
		switch {
		case s.Name == "" || len(s.Name) > 64:
			return bad(fmt.Sprintf("Streams[%d].Name", i), fmt.Sprintf("%q", s.Name), "must be 1..64 bytes")
		case strings.Contains(s.Name, consumerKeySep):
			return bad(fmt.Sprintf("Streams[%d].Name", i), fmt.Sprintf("%q", s.Name), "must not hold "+consumerKeySep+" (it names a consumer's cursor, FORMAT.md §5.2)")
		case seen[s.Name]:
			return bad(fmt.Sprintf("Streams[%d].Name", i), fmt.Sprintf("%q", s.Name), "duplicate stream")
		case s.Priority < PriorityControl || s.Priority > PriorityDiagnostics:
			return bad(fmt.Sprintf("Streams[%d].Priority", i), s.Priority, "unknown priority")
		case s.MaxAge < 0:
			return bad(fmt.Sprintf("Streams[%d].MaxAge", i), s.MaxAge, "must not be negative")
		case s.Keep < 0 || (s.MaxAge > 0 && s.Keep > s.MaxAge):
			return bad(fmt.Sprintf("Streams[%d].Keep", i), s.Keep, "must be 0..MaxAge")
		}
		seen[s.Name] = true
	}
	if err := checkConsumers(&v); err != nil {
		return v, err
	}
	return v, nil
}
