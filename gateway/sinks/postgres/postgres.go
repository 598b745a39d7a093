package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/officegate/officegate/gateway/sinks"
)

// Opts configure a Sink.
type Opts struct {
	Schema  string        // "" means public
	Batch   int           // events per transaction at most; 0: DefaultBatch
	Timeout time.Duration // of one batch, connecting included; 0: 30 s
}

// DefaultBatch is the default number of events per transaction: a
// backlog page large enough that the round trip and the commit's fsync
// are shared by many rows, small enough for one short transaction.
const DefaultBatch = 500

// errNewer is a database migrated by a newer gateway.
var errNewer = errors.New("postgres: schema too new")

// Sink inserts events into PostgreSQL.
type Sink struct {
	// Immutable.
	pool    *pgxpool.Pool
	o       Opts
	schema  string // quoted
	insertE string // the events statement
	insertR string // the results statement

	mu sync.Mutex
	// Guarded by mu.
	migrated bool
}

var (
	_ sinks.BatchSink = (*Sink)(nil)
	_ sinks.Closer    = (*Sink)(nil)
)

// New returns a sink on the database cfg connects to. It connects on its
// first delivery, so a database that is down makes the sink down, not the
// gateway's start fail.
func New(cfg *pgxpool.Config, o Opts) (*Sink, error) {
	if o.Schema == "" {
		o.Schema = "public"
	}
	if o.Batch == 0 {
		o.Batch = DefaultBatch
	}
	if o.Batch < 1 {
		return nil, fmt.Errorf("postgres: batch %d: want at least 1", o.Batch)
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := pgx.Identifier{o.Schema}.Sanitize()
	return &Sink{pool: pool, o: o, schema: s,
		insertE: strings.ReplaceAll(insertEvents, "{s}", s), insertR: strings.ReplaceAll(insertResults, "{s}", s)}, nil
}

const insertEvents = `INSERT INTO {s}.events (id, type, gateway, device, boot, seq, time, time_raw, clock,
	clock_offset_ms, received, data, topic, stream, journal_seq)
SELECT id, type, gateway, device, boot, seq, time, time_raw, clock, clock_offset_ms, received, data::jsonb,
	topic, stream, journal_seq
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::int8[], $7::timestamptz[],
	$8::text[], $9::text[], $10::int8[], $11::timestamptz[], $12::text[], $13::text[], $14::text[], $15::int8[])
	AS t(id, type, gateway, device, boot, seq, time, time_raw, clock, clock_offset_ms, received, data, topic,
	stream, journal_seq)
ON CONFLICT (id) DO NOTHING`

const insertResults = `INSERT INTO {s}.results (gateway, id, device, command, status, error, time, data, topic,
	stream, journal_seq)
SELECT gateway, id, device, command, status, error, time, data::jsonb, topic, stream, journal_seq
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[],
	$8::text[], $9::text[], $10::text[], $11::int8[])
	AS t(gateway, id, device, command, status, error, time, data, topic, stream, journal_seq)
ON CONFLICT (gateway, id) DO NOTHING`

// MaxBatch is the most events per transaction.
func (s *Sink) MaxBatch() int { return s.o.Batch }

// Deliver inserts one event.
func (s *Sink) Deliver(ctx context.Context, ev sinks.Event) error {
	_, err := s.DeliverBatch(ctx, []sinks.Event{ev})
	if be := (*sinks.BatchError)(nil); errors.As(err, &be) && len(be.Errs) == 1 {
		return be.Errs[0]
	}
	return err
}

// DeliverBatch inserts evs in one transaction; a batch the database
// refuses for its data is inserted again event by event (doc.go).
func (s *Sink) DeliverBatch(ctx context.Context, evs []sinks.Event) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	if err := s.ready(ctx); err != nil {
		return 0, classify("schema", err)
	}
	rs, bad := makeRows(evs)
	if !anyErr(bad) {
		err := s.insert(ctx, rs)
		if err == nil {
			return len(evs), nil
		}
		if !dataError(err) {
			return 0, classify(what(evs), err)
		}
	}
	errs := make([]error, 0, len(evs))
	for i := range evs {
		if bad[i] != nil {
			errs = append(errs, bad[i])
			continue
		}
		err := s.insert(ctx, rs.one(i))
		switch {
		case err == nil:
			errs = append(errs, nil)
		case dataError(err):
			errs = append(errs, sinks.Permanent(classify(what(evs[i:i+1]), err)))
		default:
			return 0, &sinks.BatchError{Errs: append(errs, classify(what(evs[i:i+1]), err))}
		}
	}
	return 0, &sinks.BatchError{Errs: errs}
}

func anyErr(errs []error) bool {
	for _, e := range errs {
		if e != nil {
			return true
		}
	}
	return false
}

// insert writes rows in one pipeline: one implicit transaction.
func (s *Sink) insert(ctx context.Context, r *rows) error {
	b := &pgx.Batch{}
	if len(r.e.id) > 0 {
		e := &r.e
		b.Queue(s.insertE, e.id, e.typ, e.gateway, e.device, e.boot, e.seq, e.time, e.timeRaw, e.clock,
			e.offset, e.received, e.data, e.topic, e.stream, e.jseq)
	}
	if len(r.r.id) > 0 {
		x := &r.r
		b.Queue(s.insertR, x.gateway, x.id, x.device, x.command, x.status, x.err, x.time, x.data, x.topic,
			x.stream, x.jseq)
	}
	if b.Len() == 0 {
		return nil
	}
	return s.pool.SendBatch(ctx, b).Close()
}

// ready migrates the schema once per sink.
func (s *Sink) ready(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.migrated {
		return nil
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if err := migrate(ctx, conn.Conn(), s.o.Schema); err != nil {
		return err
	}
	s.migrated = true
	return nil
}

// Close closes the connections.
func (s *Sink) Close() error {
	s.pool.Close()
	return nil
}

// dataError reports a refusal of the rows themselves (doc.go "Refused
// rows"): data exceptions, integrity violations, a program limit.
func dataError(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code[:2] {
	case "22", "23", "54":
		return true
	}
	return false
}

// classify wraps err with its class; the message names the events, the
// SQLSTATE and the server's message, never a connection parameter.
func classify(what string, err error) error {
	class := sinks.ClassDatabase
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe) && strings.HasPrefix(pe.Code, "28"):
		class = sinks.ClassAuth
	case errors.As(err, &pe):
	case errors.Is(err, context.DeadlineExceeded):
		class = sinks.ClassTimeout
	case sinks.ClassOf(err) == sinks.ClassNetwork || sinks.ClassOf(err) == sinks.ClassTimeout:
		class = sinks.ClassOf(err)
	case pgconn.Timeout(err):
		class = sinks.ClassTimeout
	default:
		var ce *pgconn.ConnectError
		if errors.As(err, &ce) {
			class = sinks.ClassNetwork
		}
	}
	return sinks.WithClass(class, fmt.Errorf("postgres: %s: %w", what, err))
}

func what(evs []sinks.Event) string {
	if len(evs) == 1 {
		return "event " + evs[0].ID
	}
	return fmt.Sprintf("%d events from %s", len(evs), evs[0].ID)
}

// rows are a batch as column arrays, for unnest.
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
	idx []int // per event: its index in e (≥ 0) or in r (-1 - index)
}

type wireEvent struct {
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

type wireResult struct {
	ID      string          `json:"id"`
	Gateway string          `json:"gateway"`
	Device  string          `json:"device"`
	Command string          `json:"command"`
	Status  string          `json:"status"`
	Error   string          `json:"error"`
	Time    string          `json:"time"`
	Data    json.RawMessage `json:"data"`
}

// makeRows parses the envelopes; bad[i] is the permanent error of one that
// does not parse (it cannot become a row).
func makeRows(evs []sinks.Event) (*rows, []error) {
	r := &rows{}
	bad := make([]error, len(evs))
	for i, ev := range evs {
		payload, err := sinks.WithoutCard(ev.Payload)
		if err == nil && ev.Type == "result" {
			var w wireResult
			if err = json.Unmarshal(payload, &w); err == nil {
				x := &r.r
				r.idx = append(r.idx, -1-len(x.id))
				x.gateway, x.id, x.device = append(x.gateway, w.Gateway), append(x.id, w.ID), append(x.device, w.Device)
				x.command, x.status, x.err = append(x.command, w.Command), append(x.status, w.Status), append(x.err, w.Error)
				x.time, x.data = append(x.time, stamp(w.Time)), append(x.data, jsonOr(w.Data))
				x.topic, x.stream, x.jseq = append(x.topic, ev.Topic), append(x.stream, ev.Stream), append(x.jseq, int64(ev.Seq))
				continue
			}
		} else if err == nil {
			var w wireEvent
			if err = json.Unmarshal(payload, &w); err == nil && w.ID == "" {
				err = errors.New("no id")
			}
			if err == nil {
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
				continue
			}
		}
		r.idx = append(r.idx, 0)
		bad[i] = sinks.Permanent(sinks.WithClass(sinks.ClassRender, fmt.Errorf("postgres: event %s: envelope: %w", ev.ID, err)))
	}
	return r, bad
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

func jsonOr(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "{}"
	}
	return string(raw)
}
