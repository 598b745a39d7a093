package sinks

import (
	"context"
	"errors"
	"fmt"

	"github.com/officegate/officegate/gateway/envelope"
)

// Sink is one destination of events.
type Sink interface {
	// Deliver returns nil once the destination has accepted ev (durably, as
	// far as it promises anything). An error wrapping ErrPermanent means it
	// never will: the record goes to the dead-letter stream. Any other error
	// is a destination that is down: the same event is delivered again after
	// a backoff, and nothing after it on its stream goes first.
	Deliver(ctx context.Context, ev Event) error
}

// Closer is a Sink that holds resources until the runner stops.
type Closer interface {
	Close() error
}

// Event is a journaled record as a sink receives it: the message the MQTT
// uplink publishes for it (MQTT.md), rendered as JSON.
type Event struct {
	ID      string // the envelope's id: stable across every redelivery; deduplicate by it
	Device  string // the device it is about; "" for a gateway-level result
	Type    string // the event type, or "result" for a command result
	Stream  string // the journal stream it was read from
	Seq     uint64 // its journal sequence number: increasing within Stream
	Topic   string // the topic the uplink publishes it on
	Payload []byte // the envelope (or result), JSON as on the MQTT topic; nil for a RecordSink
	// Record is the journaled message the event was read from, decoded: its
	// Event or its Result is set. nil for an event that was not read from a
	// journal. Shared: a sink must not modify it.
	Record *envelope.Outbound
}

// RecordSink is a Sink that builds what it sends from Event.Record and
// never reads Event.Payload (a database sink writing the envelope's fields
// as columns): the runner leaves Payload nil for it rather than render
// each envelope as JSON for the sink to parse back. Such a sink still
// takes an event with no Record (Payload set), from a caller that does not
// read a journal.
type RecordSink interface {
	Sink
	// FromRecord marks the sink as one that reads Event.Record.
	FromRecord()
}

// ErrPermanent marks a delivery that can never succeed (a permanent 4xx, a
// row the database refuses).
var ErrPermanent = errors.New("sinks: permanent delivery failure")

// Permanent wraps err as a permanent failure.
func Permanent(err error) error { return fmt.Errorf("%w: %w", ErrPermanent, err) }
