package sinks

import (
	"fmt"
	"time"

	"github.com/officegate/officegate/gateway/journal"
)

// DeadLetterStream is the journal stream of records a sink could never
// deliver. Nothing publishes it; it keeps them for an operator for
// DeadLetterAge (telemetry priority: shed before anything a device reported
// when the disk is full).
var DeadLetterStream = journal.Stream{Name: "deadletter", Priority: journal.PriorityTelemetry, MaxAge: DeadLetterAge}

// DeadLetterAge is how long dead letters are kept: a week covers a long
// weekend before someone looks.
const DeadLetterAge = 7 * 24 * time.Hour

// DeadLetter is a dead-letter record (CBOR in DeadLetterStream).
type DeadLetter struct {
	Sink   string `cbor:"1,keyasint"`
	Stream string `cbor:"2,keyasint"` // where the record was journaled
	Seq    uint64 `cbor:"3,keyasint"` // its sequence number there
	ID     string `cbor:"4,keyasint,omitempty"`
	Device string `cbor:"5,keyasint,omitempty"`
	Error  string `cbor:"6,keyasint"`           // why the sink refused it
	Body   []byte `cbor:"7,keyasint"`           // the journaled body, as it was
	Type   string `cbor:"8,keyasint,omitempty"` // the event type, "result", or "" if unreadable
	// Replayed marks a record saying that the dead letter (Sink, Stream,
	// Seq) was delivered by a replay; it has no Body or Error.
	Replayed bool `cbor:"9,keyasint,omitempty"`

	At time.Time `cbor:"-"` // when it was dead-lettered (the record's append time), as listed
}

// AlarmDetail is the detail of the device.alarm (other) a dead letter
// raises on its device (Options.Alarm: the gateway's and officegate
// connect's), at most 256 characters as the contract has it. ok is false
// for one that raises none: a refused result of a gateway command (no
// device), or a refused alarm (it would loop).
func (dl DeadLetter) AlarmDetail() (detail string, ok bool) {
	if dl.Device == "" || dl.Type == "device.alarm" {
		return "", false
	}
	what := "event " + dl.ID
	if dl.Type != "" {
		what += " (" + dl.Type + ")"
	}
	return alarmDetail(fmt.Sprintf("sink %q can never deliver %s; kept in the dead-letter stream: %s", dl.Sink, what, dl.Error)), true
}

// alarmDetail bounds an alarm's detail to the contract's 256 characters.
func alarmDetail(s string) string {
	if r := []rune(s); len(r) > 256 {
		return string(r[:255]) + "…"
	}
	return s
}
