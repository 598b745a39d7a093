package sinks

import (
	"errors"
	"net"
)

// Error classes: what kind of failure a sink had last, for an operator's
// first look (officegate_sink_last_error in /metrics). A class is a fixed
// word, never the error's text, which may name ids.
const (
	ClassNone     = ""           // delivering
	ClassNetwork  = "network"    // no answer: refused connection, reset, DNS
	ClassTimeout  = "timeout"    // no answer in time
	ClassStatus   = "status"     // an answer meaning "not now" (HTTP 5xx, 429, a busy code)
	ClassRefused  = "refused"    // an answer meaning "never" (a 4xx): dead-lettered
	ClassDatabase = "database"   // the database refused the statement or the transaction
	ClassAuth     = "auth"       // credentials refused or unobtainable
	ClassRender   = "unreadable" // the journaled record could not be rendered
	ClassOther    = "other"
)

// Classes lists every class but ClassNone, for metrics.
var Classes = []string{ClassNetwork, ClassTimeout, ClassStatus, ClassRefused, ClassDatabase, ClassAuth, ClassRender, ClassOther}

// WithClass marks err with a class; a nil err stays nil.
func WithClass(class string, err error) error {
	if err == nil {
		return nil
	}
	return &classError{err: err, class: class}
}

type classError struct {
	err   error
	class string
}

func (e *classError) Error() string { return e.err.Error() }
func (e *classError) Unwrap() error { return e.err }

// ClassOf is err's class: the one WithClass gave it, else timeout or
// network for errors of the net package, else other (ClassNone for nil).
func ClassOf(err error) string {
	if err == nil {
		return ClassNone
	}
	var ce *classError
	if errors.As(err, &ce) {
		return ce.class
	}
	var ne net.Error
	if errors.As(err, &ne) {
		if ne.Timeout() {
			return ClassTimeout
		}
		return ClassNetwork
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return ClassNetwork
	}
	if errors.Is(err, ErrPermanent) {
		return ClassRefused
	}
	return ClassOther
}

// BacklogAlarmShare is the share of the journal's disk cap a sink's backlog
// may keep before it is alarmed: at half, a sink that delivers nothing has
// as long again before the journal sheds telemetry and then refuses
// punches, time for someone to act.
const BacklogAlarmShare = 0.5

// BacklogAlarm reports whether a sink keeping bytes of a journal capped at
// maxBytes is to be alarmed.
func BacklogAlarm(bytes, maxBytes int64) bool {
	return maxBytes > 0 && float64(bytes) >= BacklogAlarmShare*float64(maxBytes)
}
