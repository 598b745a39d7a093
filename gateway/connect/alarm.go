package connect

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/sinks"
)

// Connect's sinks raise the alarms a gateway's raise (gateway/daemon), with
// the same details (sinks.Held.AlarmDetail, sinks.DeadLetter.AlarmDetail):
// a device.alarm (other) on the device of the record concerned, as an
// event of that record's gateway, journaled in the local journal's stream
// for device.alarm (control), where the sinks reading that stream deliver
// it as they deliver the gateways' own alarms (doc.go, "Alarms").

// heldAlarm is the sinks' HoldAlarm: a person's first held record.
func (c *Connector) heldAlarm(ctx context.Context, h sinks.Held) error {
	detail, ok := h.AlarmDetail()
	if !ok {
		return nil
	}
	return c.raise(ctx, "held/"+h.Sink, h.Body, h.Device, detail)
}

// deadLetterAlarm is the sinks' Alarm: a record a sink can never deliver.
func (c *Connector) deadLetterAlarm(ctx context.Context, dl sinks.DeadLetter) error {
	detail, ok := dl.AlarmDetail()
	if !ok {
		return nil
	}
	return c.raise(ctx, "deadletter/"+dl.Sink, dl.Body, dl.Device, detail)
}

// raise journals a device.alarm (other) with detail on device, about the
// journaled record body. It is connect's own event: its id is a note's
// (envelope.NoteID, a namespace no device event's id is in) named why (the
// alarm's kind and sink) about the record's dedup key, so every replica
// raising it for that record raises the same event, and a destination
// keeps it once; boot and seq are 0, its time connect's clock.
func (c *Connector) raise(ctx context.Context, why string, body []byte, device, detail string) error {
	var r Record
	if err := recDec.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("connect: alarm: the record: %w", err)
	}
	i := strings.Index(r.Topic, "/"+r.Gateway+"/devices/")
	if r.Gateway == "" || i < 0 {
		return fmt.Errorf("connect: alarm: topic %q names no gateway's device", r.Topic)
	}
	root := r.Topic[:i]
	data, err := envelope.EncodeData(map[string]any{"alarm": "other", "detail": detail})
	if err != nil {
		return err
	}
	key := r.key()
	now := c.now()
	ev := envelope.Event{V: envelope.Version, ID: envelope.NoteID("officegate-connect/"+why, hex.EncodeToString(key[:]), 0, 0),
		Type: "device.alarm", Gateway: r.Gateway, Device: device, Time: envelope.StampOf(now),
		TimeRaw: now.Format("2006-01-02T15:04:05.000"), Clock: envelope.ClockSynced, Received: envelope.StampOf(now.UTC()), Data: data}
	out := envelope.Outbound{Event: &ev}
	topic, payload, err := out.Message(envelope.Topics{Root: root, Gateway: r.Gateway}, envelope.JSON)
	if err != nil {
		return fmt.Errorf("connect: alarm: %w", err)
	}
	m, err := Parse(root, topic, payload)
	if err != nil {
		return fmt.Errorf("connect: alarm: %w", err)
	}
	if m.Bad != "" {
		return fmt.Errorf("connect: alarm on %q: %s", topic, m.Bad)
	}
	return c.note(ctx, m)
}

// note journals an event connect makes itself, for the sinks reading its
// stream, once: not again if its key is known (a restart), nor when no
// sink reads the stream (the log and the metrics say it then).
func (c *Connector) note(ctx context.Context, m Message) error {
	if len(c.read[m.Stream]) == 0 || c.dedup.Seen(m.Key) {
		return nil
	}
	body, err := EncodeRecord(&m.Record)
	if err != nil {
		return fmt.Errorf("connect: encode %s: %w", m.Topic, err)
	}
	if _, err := c.j.AppendEntries(ctx, []journal.Entry{{Stream: m.Stream, Body: body}}); err != nil {
		return fmt.Errorf("connect: journal %s: %w", m.Topic, err)
	}
	return c.dedup.Add([][keySize]byte{m.Key})
}
