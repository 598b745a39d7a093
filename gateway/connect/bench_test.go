package connect_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"

	"github.com/officegate/officegate/gateway/connect"
	"github.com/officegate/officegate/internal/pgtest"
)

// BenchmarkConnectPostgres measures one connect replica's events/s from
// $MQTT_msgs on the 3-node cluster into PostgreSQL (fsync on, as in
// production): b.N events of 64 devices are stored in the stream first
// (published natively under its subjects, as the MQTT listener stores
// them), then connect takes them all. Run with a fixed count:
//
//	go test -run '^$' -bench BenchmarkConnectPostgres -benchtime 20000x ./gateway/connect
func BenchmarkConnectPostgres(b *testing.B) {
	c := backbone(b)
	pg := pgtest.Start(b, &pgtest.Opts{Fsync: true})
	set := map[string]string{"host": "127.0.0.1", "port": fmt.Sprint(pg.Port), "database": "postgres",
		"user": pgtest.User, "password_file": writePassword(b), "sslmode": "disable"}
	js := c.Nodes[0].JetStream(b)
	const devices = 64
	for i := range b.N {
		topic, payload := event("gw-1", fmt.Sprintf("d%d", i%devices), 1, uint64(i/devices+1))
		if _, err := js.PublishAsync(connect.MQTTSubjectPrefix+subject(topic), payload); err != nil {
			b.Fatal(err)
		}
		if i%4096 == 4095 {
			<-js.PublishAsyncComplete()
		}
	}
	<-js.PublishAsyncComplete()

	dir := b.TempDir()
	log := zerolog.Nop()
	rctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	sp := spec{State: filepath.Join(dir, "c1"), NATS: c.NATSURLs(), Consumer: "connect", AckWait: 30 * time.Second, PG: set}
	o := sp.options(log)
	o.Source.(*connect.JetStream).Batch = 256
	b.ResetTimer()
	start := time.Now()
	go func() { done <- connect.Run(rctx, o) }()
	for {
		if pgCount(b, pg) >= b.N {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	el := time.Since(start)
	b.StopTimer()
	stop()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "events/s")
}

func writePassword(tb testing.TB) string {
	pw := filepath.Join(tb.TempDir(), "db.password")
	if err := os.WriteFile(pw, []byte(pgtest.Password+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	return pw
}

// subject is an MQTT topic as the NATS cluster stores it: '/' a '.', a '.'
// in a level "//" (docs/nats/README.md).
func subject(topic string) string {
	lv := strings.Split(topic, "/")
	for i, l := range lv {
		lv[i] = strings.ReplaceAll(l, ".", "//")
	}
	return strings.Join(lv, ".")
}

// pgCount counts the events table's rows (0 before it exists).
func pgCount(tb testing.TB, pg *pgtest.Cluster) int {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close(context.Background())
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n); err != nil {
		return 0
	}
	return n
}
