package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"

	"github.com/officegate/officegate/gateway/connect"
	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/internal/pgtest"
)

// connectFigure is one officegate connect replica taking every event the
// MQTT publishers put in $MQTT_msgs into PostgreSQL, as connect reads by
// default: its durable consumer, created before any publisher (the
// stream's interest retention keeps a message only for the consumers that
// exist then), its local journal, its postgres sink. The native
// JetStream publisher's events are in OFFICEGATE only.
type connectFigure struct {
	Events     int     `json:"events"`
	PerS       float64 `json:"events_per_s"` // first fetch to the last row committed
	CPUUs      float64 `json:"cpu_us_per_event"`
	PGBatch    int     `json:"pg_batch"`
	FetchBatch int     `json:"fetch_batch"`
}

// connectPhase runs a replica in this process until PostgreSQL holds want
// rows. PostgreSQL runs with fsync on, as in production.
func (e *fleetEnv) connectPhase(ctx context.Context, work string, want int, progress io.Writer) (connectFigure, error) {
	f := connectFigure{Events: want, PGBatch: 500, FetchBatch: connect.DefaultBatch}
	pg, err := pgtest.New(&pgtest.Opts{Fsync: true})
	if err != nil {
		return f, err
	}
	defer pg.Close()
	pw := filepath.Join(work, "db.password")
	if err := os.WriteFile(pw, []byte(pgtest.Password), 0o600); err != nil {
		return f, err
	}
	set := sinks.Settings{"host": "127.0.0.1", "port": strconv.Itoa(pg.Port), "database": "postgres", "user": pgtest.User,
		"password_file": pw, "sslmode": "disable", "batch": strconv.Itoa(f.PGBatch)}
	log := zerolog.New(os.Stderr).Level(zerolog.WarnLevel).With().Str("part", "connect").Logger()
	cctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	cpu0, t0 := selfCPU(), time.Now()
	go func() {
		done <- connect.Run(cctx, connect.Options{StateDir: filepath.Join(work, "connect"), Log: log,
			Source: fleetConnectSource(e.cluster.NATSURLs(), log),
			Sinks:  []connect.Sink{{Name: "db", Kind: "postgres", Streams: []string{"attendance"}, Settings: set}}})
	}()
	fmt.Fprintf(progress, "bench fleet: one officegate connect replica: the MQTT publishers' %d events of $MQTT_msgs into PostgreSQL\n", want)
	conn, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		return f, err
	}
	defer conn.Close(context.Background())
	var n int
	err = poll(ctx, 5*phaseTimeout, func() bool {
		select {
		case err := <-done:
			done <- err
			return true
		default:
		}
		// The sink makes its table when it first delivers.
		if conn.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n) != nil {
			return false
		}
		return n >= want
	})
	elapsed, cpu := time.Since(t0), selfCPU()-cpu0
	stop()
	runErr := <-done
	switch {
	case err != nil:
		return f, fmt.Errorf("connect: %d of %d events in PostgreSQL: %w", n, want, err)
	case n < want:
		return f, fmt.Errorf("connect stopped with %d of %d events in PostgreSQL: %v", n, want, runErr)
	case n > want:
		return f, fmt.Errorf("connect: %d rows in PostgreSQL, the MQTT publishers put %d events in $MQTT_msgs", n, want)
	}
	f.PerS = rate(float64(n), elapsed)
	f.CPUUs = math.Round(float64(cpu.Microseconds())/float64(n)*10) / 10
	return f, nil
}
