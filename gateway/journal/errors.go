package journal

import (
	"errors"
	"fmt"
)

// Sentinel errors. Callers test them with errors.Is; every returned error wraps one
// of them together with the fact that identifies the failure (stream, file, offset).
var (
	// ErrClosed is returned by every call on a closed Journal or Reader.
	ErrClosed = errors.New("journal: closed")
	// ErrFull means the disk cap is reached and only protected records remain:
	// the caller must apply backpressure (tell the device "busy"). See FullError.
	ErrFull = errors.New("journal: full")
	// ErrFailed means a write or fsync failed. After a failed fsync the kernel may
	// have dropped dirty pages, so the journal refuses further appends; reopen it
	// (recovery decides what is on disk).
	ErrFailed = errors.New("journal: failed")
	// ErrEmpty rejects a record with no body.
	ErrEmpty = errors.New("journal: empty record body")
	// ErrTooLarge rejects a body over Options.MaxRecordSize.
	ErrTooLarge = errors.New("journal: record too large")
	// ErrUnknownStream names a stream that is not configured.
	ErrUnknownStream = errors.New("journal: unknown stream")
	// ErrUnknownConsumer names a consumer that is not in Options.Consumers.
	ErrUnknownConsumer = errors.New("journal: unknown consumer")
	// ErrReaderOpen: a stream has at most one reader at a time.
	ErrReaderOpen = errors.New("journal: stream already has a reader")
	// ErrLocked: another process holds the journal directory.
	ErrLocked = errors.New("journal: directory in use")
	// ErrNotPending: Ack of a sequence number that was not delivered (or was
	// forgotten by Rewind).
	ErrNotPending = errors.New("journal: sequence not pending")
	// ErrConfig rejects invalid Options.
	ErrConfig = errors.New("journal: invalid options")
)

// FullError is the typed form of ErrFull: Append could not make room because every
// record that could be shed belongs to a protected stream.
type FullError struct {
	Stream   string // the stream the refused record was for
	Used     int64  // bytes the journal occupies on disk
	Cap      int64  // Options.MaxBytes
	Cause    string // FullCap, or FullDisk when the file system is full below the cap
	Blocking string // the highest-priority stream that holds the oldest undelivered data
}

func (e *FullError) Error() string {
	where := fmt.Sprintf("%d of %d bytes used", e.Used, e.Cap)
	if e.Cause == FullDisk {
		where = fmt.Sprintf("the file system has no room for another segment (%d bytes used, cap %d)", e.Used, e.Cap)
	}
	if e.Blocking == "" {
		return fmt.Sprintf("journal: full: stream %q refused: %s, nothing can be shed", e.Stream, where)
	}
	return fmt.Sprintf("journal: full: stream %q refused: %s, undelivered %q records cannot be shed",
		e.Stream, where, e.Blocking)
}

// Is makes errors.Is(err, ErrFull) true for a *FullError.
func (e *FullError) Is(target error) bool { return target == ErrFull }
