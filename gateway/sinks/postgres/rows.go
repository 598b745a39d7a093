package postgres

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/sinks"
)

// A row holds what the contract's JSON envelope says (gateway/MQTT.md): a
// consumer reading the table and one reading the topic see the same
// values. The runner hands the sink the decoded journal record
// (sinks.RecordSink), and the columns are taken from it in one pass: the
// data body is transcoded to JSON as the envelope renders it
// (envelope.AppendDataJSON), the stamps become instants, the strings are
// what a JSON parser reads back from the envelope (text). An event with no
// record (from a caller that does not read a journal) is read from its
// JSON envelope. TestRowsFromRecord checks both ways give the same row for
// every event type's golden envelope.

// rows are a batch as column arrays, for unnest. They are reused from
// batch to batch (rowsPool), so the arrays keep their capacity.
type rows struct {
	e struct {
		id, typ, gateway, device, timeRaw, clock, data, topic, stream []string
		boot, seq, jseq                                               []int64
		offset                                                        []pgtype.Int8
		time, received                                                []pgtype.Timestamptz
	}
	r struct {
		gateway, id, device, command, status, err, data, topic, stream []string
		time                                                           []pgtype.Timestamptz
		jseq                                                           []int64
	}
	idx []int  // per event: its index in e (≥ 0) or in r (-1 - index)
	buf []byte // a data body's JSON while it is made
}

var rowsPool = sync.Pool{New: func() any { return new(rows) }}

// reset empties r, keeping its arrays.
func (r *rows) reset() {
	e, x := &r.e, &r.r
	e.id, e.typ, e.gateway, e.device, e.timeRaw, e.clock = e.id[:0], e.typ[:0], e.gateway[:0], e.device[:0], e.timeRaw[:0], e.clock[:0]
	e.data, e.topic, e.stream, e.boot, e.seq, e.jseq = e.data[:0], e.topic[:0], e.stream[:0], e.boot[:0], e.seq[:0], e.jseq[:0]
	e.offset, e.time, e.received = e.offset[:0], e.time[:0], e.received[:0]
	x.gateway, x.id, x.device, x.command, x.status, x.err = x.gateway[:0], x.id[:0], x.device[:0], x.command[:0], x.status[:0], x.err[:0]
	x.data, x.topic, x.stream, x.time, x.jseq = x.data[:0], x.topic[:0], x.stream[:0], x.time[:0], x.jseq[:0]
	r.idx = r.idx[:0]
}

// make fills r with the rows of evs. bad is nil when every event became a
// row; otherwise bad[i] is the permanent error of event i, which cannot.
func (r *rows) make(evs []sinks.Event) (bad []error) {
	r.reset()
	for i, ev := range evs {
		var err error
		switch o := ev.Record; {
		case o != nil && o.Event != nil && ev.Type != "result":
			err = r.addEvent(ev, o.Event)
		case o != nil && o.Result != nil && ev.Type == "result":
			err = r.addResult(ev, o.Result)
		default:
			err = r.addEnvelope(ev)
		}
		if err != nil {
			if bad == nil {
				bad = make([]error, len(evs))
			}
			r.idx = append(r.idx, 0)
			bad[i] = sinks.Permanent(sinks.WithClass(sinks.ClassRender, fmt.Errorf("postgres: event %s: envelope: %w", ev.ID, err)))
		}
	}
	return bad
}

// addEvent appends an event's row, from its journaled form.
func (r *rows) addEvent(ev sinks.Event, o *envelope.Event) error {
	id := text(o.ID)
	if id == "" {
		return errors.New("no id")
	}
	data, err := r.data(o.Data)
	if err != nil {
		return err
	}
	off := pgtype.Int8{}
	if o.ClockOffsetMS != nil {
		off = pgtype.Int8{Int64: *o.ClockOffsetMS, Valid: true}
	}
	e := &r.e
	r.idx = append(r.idx, len(e.id))
	e.id, e.typ, e.gateway, e.device = append(e.id, id), append(e.typ, text(o.Type)), append(e.gateway, text(o.Gateway)), append(e.device, text(o.Device))
	e.boot, e.seq = append(e.boot, int64(o.Boot)), append(e.seq, int64(o.Seq))
	e.time, e.timeRaw, e.clock = append(e.time, instant(o.Time)), append(e.timeRaw, text(o.TimeRaw)), append(e.clock, text(o.Clock))
	e.offset, e.received, e.data = append(e.offset, off), append(e.received, instant(o.Received)), append(e.data, data)
	e.topic, e.stream, e.jseq = append(e.topic, ev.Topic), append(e.stream, ev.Stream), append(e.jseq, int64(ev.Seq))
	return nil
}

// addResult appends a command result's row, from its journaled form.
func (r *rows) addResult(ev sinks.Event, o *envelope.Result) error {
	data, err := r.data(o.Data)
	if err != nil {
		return err
	}
	x := &r.r
	r.idx = append(r.idx, -1-len(x.id))
	x.gateway, x.id, x.device = append(x.gateway, text(o.Gateway)), append(x.id, text(o.ID)), append(x.device, text(o.Device))
	x.command, x.status, x.err = append(x.command, text(o.Command)), append(x.status, text(o.Status)), append(x.err, text(o.Error))
	x.time, x.data = append(x.time, instant(o.Time)), append(x.data, data)
	x.topic, x.stream, x.jseq = append(x.topic, ev.Topic), append(x.stream, ev.Stream), append(x.jseq, int64(ev.Seq))
	return nil
}

// data is a data body as the envelope's JSON, without a clear card number.
func (r *rows) data(raw []byte) (string, error) {
	var err error
	if r.buf, err = envelope.AppendDataJSON(r.buf[:0], raw); err != nil {
		return "", err
	}
	d, err := sinks.DataWithoutCard(r.buf)
	return jsonOr(d), err
}

// The contract's envelope as JSON, for an event with no record.
type (
	wireEvent struct {
		ID       string          `json:"id"`
		Type     string          `json:"type"`
		Gateway  string          `json:"gateway"`
		Device   string          `json:"device"`
		Boot     uint32          `json:"boot"`
		Seq      uint64          `json:"seq"`
		Time     string          `json:"time"`
		TimeRaw  string          `json:"time_raw"`
		Clock    string          `json:"clock"`
		Offset   *int64          `json:"clock_offset_ms"`
		Received string          `json:"received"`
		Data     json.RawMessage `json:"data"`
	}
	wireResult struct {
		ID      string          `json:"id"`
		Gateway string          `json:"gateway"`
		Device  string          `json:"device"`
		Command string          `json:"command"`
		Status  string          `json:"status"`
		Error   string          `json:"error"`
		Time    string          `json:"time"`
		Data    json.RawMessage `json:"data"`
	}
)

// addEnvelope appends the row of an event from its JSON envelope: Payload,
// or Record rendered (a record whose kind and type disagree).
func (r *rows) addEnvelope(ev sinks.Event) error {
	payload := ev.Payload
	if payload == nil && ev.Record != nil {
		var err error
		if _, payload, err = ev.Record.Message(envelope.Topics{}, envelope.JSON); err != nil {
			return err
		}
	}
	payload, err := sinks.WithoutCard(payload)
	if err != nil {
		return err
	}
	if ev.Type == "result" {
		var w wireResult
		if err := json.Unmarshal(payload, &w); err != nil {
			return err
		}
		x := &r.r
		r.idx = append(r.idx, -1-len(x.id))
		x.gateway, x.id, x.device = append(x.gateway, w.Gateway), append(x.id, w.ID), append(x.device, w.Device)
		x.command, x.status, x.err = append(x.command, w.Command), append(x.status, w.Status), append(x.err, w.Error)
		x.time, x.data = append(x.time, stamp(w.Time)), append(x.data, jsonOr(w.Data))
		x.topic, x.stream, x.jseq = append(x.topic, ev.Topic), append(x.stream, ev.Stream), append(x.jseq, int64(ev.Seq))
		return nil
	}
	var w wireEvent
	if err := json.Unmarshal(payload, &w); err != nil {
		return err
	}
	if w.ID == "" {
		return errors.New("no id")
	}
	e := &r.e
	r.idx = append(r.idx, len(e.id))
	e.id, e.typ, e.gateway, e.device = append(e.id, w.ID), append(e.typ, w.Type), append(e.gateway, w.Gateway), append(e.device, w.Device)
	e.boot, e.seq = append(e.boot, int64(w.Boot)), append(e.seq, int64(w.Seq))
	e.time, e.timeRaw, e.clock = append(e.time, stamp(w.Time)), append(e.timeRaw, w.TimeRaw), append(e.clock, w.Clock)
	off := pgtype.Int8{}
	if w.Offset != nil {
		off = pgtype.Int8{Int64: *w.Offset, Valid: true}
	}
	e.offset, e.received, e.data = append(e.offset, off), append(e.received, stamp(w.Received)), append(e.data, jsonOr(w.Data))
	e.topic, e.stream, e.jseq = append(e.topic, ev.Topic), append(e.stream, ev.Stream), append(e.jseq, int64(ev.Seq))
	return nil
}

// one is event i's row alone.
func (r *rows) one(i int) *rows {
	o := &rows{}
	if k := r.idx[i]; k >= 0 {
		e, d := &r.e, &o.e
		d.id, d.typ, d.gateway, d.device = e.id[k:k+1], e.typ[k:k+1], e.gateway[k:k+1], e.device[k:k+1]
		d.boot, d.seq, d.time, d.timeRaw, d.clock = e.boot[k:k+1], e.seq[k:k+1], e.time[k:k+1], e.timeRaw[k:k+1], e.clock[k:k+1]
		d.offset, d.received, d.data = e.offset[k:k+1], e.received[k:k+1], e.data[k:k+1]
		d.topic, d.stream, d.jseq = e.topic[k:k+1], e.stream[k:k+1], e.jseq[k:k+1]
	} else {
		k = -1 - k
		x, d := &r.r, &o.r
		d.gateway, d.id, d.device, d.command = x.gateway[k:k+1], x.id[k:k+1], x.device[k:k+1], x.command[k:k+1]
		d.status, d.err, d.time, d.data = x.status[k:k+1], x.err[k:k+1], x.time[k:k+1], x.data[k:k+1]
		d.topic, d.stream, d.jseq = x.topic[k:k+1], x.stream[k:k+1], x.jseq[k:k+1]
	}
	return o
}

// stamp parses an envelope time (RFC 3339); NULL if absent or unreadable.
func stamp(s string) pgtype.Timestamptz {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return pgtype.Timestamptz{}
	}
	return pgtype.Timestamptz{Time: t, Valid: true}
}

// The instants 0001-01-02 and 9999-12-31 at 00:00 UTC: between them, and
// with an offset under a day, a stamp renders with a four-digit year, and
// its RFC 3339 form reads back as the same instant.
const (
	plainMinMs = -62135596800000 + 86400000
	plainMaxMs = 253402214400000
)

// instant is the instant a stamp renders as in the envelope, as stamp
// reads it back; without the formatting and parsing in the usual case.
func instant(s envelope.Stamp) pgtype.Timestamptz {
	if s.UnixMs < plainMinMs || s.UnixMs > plainMaxMs || s.OffsetMin <= -24*60 || s.OffsetMin >= 24*60 {
		return stamp(s.String())
	}
	return pgtype.Timestamptz{Time: time.UnixMilli(s.UnixMs), Valid: true}
}

// text is s as a JSON parser reads it back from the envelope: each byte
// that is not part of valid UTF-8 is U+FFFD (the envelope's strings are
// written so, as encoding/json writes them).
func text(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func jsonOr(raw []byte) string {
	if len(raw) == 0 {
		return "{}"
	}
	return string(raw)
}
