package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
	_ sinks.BatchSink  = (*Sink)(nil)
	_ sinks.RecordSink = (*Sink)(nil)
	_ sinks.Closer     = (*Sink)(nil)
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
	WITH ORDINALITY AS t(id, type, gateway, device, boot, seq, time, time_raw, clock, clock_offset_ms, received, data,
	topic, stream, journal_seq, n)
ORDER BY n
ON CONFLICT (id) DO NOTHING`

// insertEvents' ORDER BY n: the rows are inserted, and take their
// insert_seq, in the batch's order (the journal's), not in whatever order
// a plan would produce them (doc.go, "Insertion order").

const insertResults = `INSERT INTO {s}.results (gateway, id, device, command, status, error, time, data, topic,
	stream, journal_seq)
SELECT gateway, id, device, command, status, error, time, data::jsonb, topic, stream, journal_seq
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[],
	$8::text[], $9::text[], $10::text[], $11::int8[])
	AS t(gateway, id, device, command, status, error, time, data, topic, stream, journal_seq)
ON CONFLICT (gateway, id) DO NOTHING`

// FromRecord: the sink builds its rows from the decoded journal record
// (rows.go), not from the envelope rendered as JSON.
func (s *Sink) FromRecord() {}

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
	rs := rowsPool.Get().(*rows)
	defer rowsPool.Put(rs)
	bad := rs.make(evs)
	if bad == nil {
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
		if bad != nil && bad[i] != nil {
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
