package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/gateway/sinks/postgres"
	"github.com/officegate/officegate/gateway/sinks/sinkstest"
	"github.com/officegate/officegate/gateway/sinks/webhook"
	"github.com/officegate/officegate/internal/pgtest"
)

// sinksMain runs "bench sinks": the same punches into PostgreSQL through
// the postgres sink (from the journal, through a runner) and by a plain
// pgx batch insert of the same rows; and to a local HTTP server through
// the webhook sink and by a plain Go client posting the same batches.
// Events/s and this process's CPU per event, side by side, in one run.
func sinksMain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sinks", flag.ContinueOnError)
	n := fs.Int("events", 20000, "punches to deliver")
	devices := fs.Int("devices", 16, "devices the punches come from")
	pgBatch := fs.Int("pg-batch", 500, "rows per transaction, both ways")
	whBatch := fs.Int("webhook-batch", 100, "events per request, both ways")
	fsync := fs.Bool("fsync", true, "PostgreSQL with fsync on (as in production)")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to `file` (each way labelled phase=…)")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	dir, err := os.MkdirTemp("", "bench-sinks")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	j, err := journal.Open(filepath.Join(dir, "journal"), &journal.Options{Streams: sinkstest.Streams,
		Consumers:  []journal.Consumer{{Name: "pg", Streams: []string{"attendance"}}, {Name: "wh", Streams: []string{"attendance"}}},
		SyncWindow: 5 * time.Millisecond})
	if err != nil {
		return err
	}
	defer j.Close()
	evs := make([]sinks.Event, 0, *n)
	var bodies [][]byte
	for i := range *n {
		o := sinkstest.Outbound(fmt.Sprintf("t-%02d", i%*devices), i / *devices)
		b, err := o.Encode()
		if err != nil {
			return err
		}
		bodies = append(bodies, b)
		topic, payload, err := o.Message(sinkstest.Topics, envelope.JSON)
		if err != nil {
			return err
		}
		evs = append(evs, sinks.Event{ID: o.Event.ID, Device: o.Event.Device, Type: o.Event.Type, Stream: "attendance",
			Seq: uint64(i + 1), Topic: topic, Payload: payload})
	}
	for i := 0; i < len(bodies); i += 1000 {
		if _, err := j.AppendBatch(ctx, "attendance", bodies[i:min(i+1000, len(bodies))]); err != nil {
			return err
		}
	}
	fmt.Printf("bench sinks: %d punches from %d devices; PostgreSQL %d rows/transaction (fsync %v), webhook %d events/request\n",
		*n, *devices, *pgBatch, *fsync, *whBatch)

	cluster, err := pgtest.New(&pgtest.Opts{Fsync: *fsync})
	if err != nil {
		return err
	}
	defer cluster.Close()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte(pgtest.Password), 0o600); err != nil {
		return err
	}
	set := sinks.Settings{"host": "127.0.0.1", "port": strconv.Itoa(cluster.Port), "database": "postgres", "user": pgtest.User,
		"password_file": pw, "sslmode": "disable", "batch": strconv.Itoa(*pgBatch), "schema": "bench_sink"}
	// The plain insert goes first, on the colder database: any order
	// effect is against the sink. Its table is made like the sink's.
	if err := makeSinkTables(ctx, set); err != nil {
		return err
	}
	plainPG, err := labelled(ctx, "plain-pgx", func(ctx context.Context) (phase, error) {
		return plainPostgres(ctx, cluster, evs, *pgBatch)
	})
	if err != nil {
		return fmt.Errorf("plain pgx: %w", err)
	}
	sinkPG, err := labelled(ctx, "postgres-sink", func(ctx context.Context) (phase, error) {
		return runSink(ctx, j, "pg", set, postgres.FromSettings, *n)
	})
	if err != nil {
		return fmt.Errorf("postgres sink: %w", err)
	}

	srv, url, err := countingServer()
	if err != nil {
		return err
	}
	defer srv.Close()
	sinkWH, err := labelled(ctx, "webhook-sink", func(ctx context.Context) (phase, error) {
		return runSink(ctx, j, "wh", sinks.Settings{"url": url, "batch": strconv.Itoa(*whBatch)}, webhook.FromSettings, *n)
	})
	if err != nil {
		return fmt.Errorf("webhook sink: %w", err)
	}
	plainWH, err := labelled(ctx, "plain-client", func(ctx context.Context) (phase, error) {
		return plainWebhook(ctx, url, evs, *whBatch)
	})
	if err != nil {
		return fmt.Errorf("plain client: %w", err)
	}
	fmt.Printf("%-34s %12s %14s\n", "", "events/s", "CPU µs/event")
	for _, r := range []struct {
		name string
		res  phase
	}{{"postgres sink (journal → runner)", sinkPG}, {"plain pgx batch insert", plainPG},
		{"webhook sink (journal → runner)", sinkWH}, {"plain Go client, same batches", plainWH}} {
		fmt.Printf("%-34s %12.0f %14.1f\n", r.name, r.res.rate(*n), r.res.cpuPer(*n))
	}
	fmt.Printf("postgres sink / plain pgx: %.2f of its events/s, %.2f× its CPU per event\n",
		sinkPG.rate(*n)/plainPG.rate(*n), sinkPG.cpuPer(*n)/plainPG.cpuPer(*n))
	fmt.Printf("webhook sink / plain client: %.2f of its events/s, %.2f× its CPU per event\n",
		sinkWH.rate(*n)/plainWH.rate(*n), sinkWH.cpuPer(*n)/plainWH.cpuPer(*n))
	return nil
}

// labelled runs one way of delivering with the profiler label phase=name,
// so that a -cpuprofile can be read one way at a time (go tool pprof
// -tagfocus phase=postgres-sink); goroutines it starts inherit the label.
func labelled(ctx context.Context, name string, f func(context.Context) (phase, error)) (p phase, err error) {
	pprof.Do(ctx, pprof.Labels("phase", name), func(ctx context.Context) { p, err = f(ctx) })
	return p, err
}

// phase is one way of delivering the punches: its wall time and this
// process's CPU time (the database server's is not counted either way).
type phase struct{ wall, cpu time.Duration }

func (p phase) rate(n int) float64   { return float64(n) / p.wall.Seconds() }
func (p phase) cpuPer(n int) float64 { return float64(p.cpu.Microseconds()) / float64(n) }

// counter counts deliveries and closes done at the want-th: the timing
// ends on it, with no polling loop waking the process meanwhile.
type counter struct {
	delivered atomic.Int64
	want      int64
	done      chan struct{}
}

func (c *counter) Delivered(string) {
	if c.delivered.Add(1) == c.want {
		close(c.done)
	}
}
func (c *counter) Failed(string)       {}
func (c *counter) DeadLettered(string) {}

// runSink delivers the journal's punches through a sink of the named
// consumer and times it until all n are delivered.
func runSink(ctx context.Context, j *journal.Journal, name string, set sinks.Settings, build func(sinks.Settings) (sinks.Sink, error), n int) (phase, error) {
	sk, err := build(set)
	if err != nil {
		return phase{}, err
	}
	if pg, ok := sk.(*postgres.Sink); ok {
		// Connected and migrated before timing, as the plain client is.
		if _, err := pg.DeliverBatch(ctx, nil); err != nil {
			return phase{}, err
		}
	}
	c := &counter{want: int64(n), done: make(chan struct{})}
	r, err := sinks.New(j, sk, sinks.Options{Name: name, Streams: []string{"attendance"}, Topics: sinkstest.Topics, Metrics: c})
	if err != nil {
		return phase{}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cpu0, t0 := selfCPU(), time.Now()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	limit := time.NewTimer(10 * time.Minute)
	defer limit.Stop()
	select {
	case <-c.done:
	case err := <-done:
		return phase{}, fmt.Errorf("runner stopped: %v", err)
	case <-limit.C:
		return phase{}, fmt.Errorf("%d of %d delivered in 10 minutes", c.delivered.Load(), n)
	}
	p := phase{wall: time.Since(t0), cpu: selfCPU() - cpu0}
	cancel()
	<-done
	if st, _ := r.Status(); st.Down != "" {
		return p, fmt.Errorf("down: %s", st.Down)
	}
	return p, nil
}

// makeSinkTables has a postgres sink create its schema.
func makeSinkTables(ctx context.Context, set sinks.Settings) error {
	sk, err := postgres.FromSettings(set)
	if err != nil {
		return err
	}
	defer sk.(*postgres.Sink).Close()
	_, err = sk.(*postgres.Sink).DeliverBatch(ctx, nil)
	return err
}

// plainPostgres inserts the same rows as the sink, from values ready in
// memory, with pgx: per transaction a pgx.Batch of one INSERT … ON CONFLICT
// DO NOTHING per row, into a table of the same shape.
func plainPostgres(ctx context.Context, c *pgtest.Cluster, evs []sinks.Event, batch int) (phase, error) {
	conn, err := pgx.Connect(ctx, c.URL())
	if err != nil {
		return phase{}, err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE TABLE bench_plain (LIKE bench_sink.events INCLUDING ALL)"); err != nil {
		return phase{}, err
	}
	type row struct {
		id, typ, gateway, device, timeRaw, clock, data, topic string
		seq                                                   int64
		at, received                                          time.Time
	}
	rows := make([]row, len(evs))
	for i, ev := range evs {
		var w struct {
			ID, Type, Gateway, Device, Time, Clock, Received string
			TimeRaw                                          string          `json:"time_raw"`
			Seq                                              int64           `json:"seq"`
			Data                                             json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(ev.Payload, &w); err != nil {
			return phase{}, err
		}
		at, _ := time.Parse(time.RFC3339Nano, w.Time)
		rec, _ := time.Parse(time.RFC3339Nano, w.Received)
		rows[i] = row{w.ID, w.Type, w.Gateway, w.Device, w.TimeRaw, w.Clock, string(w.Data), ev.Topic, w.Seq, at, rec}
	}
	const q = `INSERT INTO bench_plain (id, type, gateway, device, seq, time, time_raw, clock, received, data, topic, stream, journal_seq)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, 'attendance', $12) ON CONFLICT (id) DO NOTHING`
	cpu0, t0 := selfCPU(), time.Now()
	for i := 0; i < len(rows); i += batch {
		b := &pgx.Batch{}
		for k, r := range rows[i:min(i+batch, len(rows))] {
			b.Queue(q, r.id, r.typ, r.gateway, r.device, r.seq, r.at, r.timeRaw, r.clock, r.received, r.data, r.topic, int64(i+k+1))
		}
		tx, err := conn.Begin(ctx)
		if err != nil {
			return phase{}, err
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			tx.Rollback(ctx)
			return phase{}, err
		}
		if err := tx.Commit(ctx); err != nil {
			return phase{}, err
		}
	}
	p := phase{wall: time.Since(t0), cpu: selfCPU() - cpu0}
	var got int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM bench_plain").Scan(&got); err != nil || got != len(rows) {
		return p, fmt.Errorf("%d rows inserted of %d (%v)", got, len(rows), err)
	}
	return p, nil
}

// countingServer is a local HTTP server that takes every POST (200).
func countingServer() (*http.Server, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	})}
	go srv.Serve(ln)
	return srv, "http://" + ln.Addr().String() + "/hook", nil
}

// plainWebhook POSTs the batches the webhook sink sends (the same bodies
// and keys, made before timing) with a plain http.Client.
func plainWebhook(ctx context.Context, url string, evs []sinks.Event, batch int) (phase, error) {
	type req struct {
		key  string
		body []byte
	}
	var reqs []req
	for i := 0; i < len(evs); i += batch {
		part := evs[i:min(i+batch, len(evs))]
		b, err := webhook.Body(part)
		if err != nil {
			return phase{}, err
		}
		reqs = append(reqs, req{webhook.IdempotencyKey(part), b})
	}
	cl := &http.Client{Timeout: 10 * time.Second}
	cpu0, t0 := selfCPU(), time.Now()
	for _, r := range reqs {
		hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(r.body))
		if err != nil {
			return phase{}, err
		}
		hr.Header.Set("Content-Type", "application/json")
		hr.Header.Set("Idempotency-Key", r.key)
		resp, err := cl.Do(hr)
		if err != nil {
			return phase{}, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return phase{}, fmt.Errorf("HTTP %d", resp.StatusCode)
		}
	}
	return phase{wall: time.Since(t0), cpu: selfCPU() - cpu0}, nil
}
