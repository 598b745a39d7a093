package metrics_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/metrics"
)

// Every sink, the uplink first among them, reports its backlog, the age of
// its oldest undelivered record and its counts under its own sink label, from
// its own journal cursor.
func TestSinkFamilies(t *testing.T) {
	clock := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	j, err := journal.Open(t.TempDir(), &journal.Options{
		Streams: []journal.Stream{{Name: "attendance", Priority: journal.PriorityRecord}, {Name: "rooms", Priority: journal.PriorityTelemetry}},
		Consumers: []journal.Consumer{{Name: "archive", Streams: []string{"attendance"}},
			{Name: "webhook", Streams: []string{"attendance", "rooms"}}},
		SyncWindow: time.Millisecond, Now: func() time.Time { return clock },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	m := metrics.New(&metrics.Opts{NoRuntime: true, Now: func() time.Time { return clock.Add(90 * time.Second) }})
	if err := m.WatchSinks(j, []string{"attendance", "rooms"}, []string{"webhook", "archive"}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 3 {
		if _, err := j.Append(ctx, "attendance", []byte("p")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := j.Append(ctx, "rooms", []byte("r")); err != nil {
		t.Fatal(err)
	}
	r, err := j.ConsumerReader("archive", "attendance")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for range 2 {
		rec, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Ack(rec.Seq); err != nil {
			t.Fatal(err)
		}
		m.Delivered("archive")
	}
	m.Failed("webhook")
	m.DeadLettered("webhook")
	m.Published("attendance", time.Millisecond)
	m.PublishFailed("rooms")
	m.Held("webhook", 3)

	wantLines(t, scrape(t, metrics.Handler(m, &metrics.Health{})),
		`officegate_sink_backlog{sink="archive"} 1`,
		`officegate_sink_held{sink="webhook"} 3`,
		`officegate_sink_held{sink="archive"} 0`,
		`officegate_sink_backlog{sink="mqtt"} 4`,
		`officegate_sink_backlog{sink="webhook"} 4`,
		`officegate_sink_oldest_undelivered_age_seconds{sink="archive"} 90`,
		`officegate_sink_oldest_undelivered_age_seconds{sink="mqtt"} 90`,
		`officegate_sink_delivered_total{sink="archive"} 2`,
		`officegate_sink_delivered_total{sink="mqtt"} 1`,
		`officegate_sink_delivered_total{sink="webhook"} 0`,
		`officegate_sink_failed_total{sink="mqtt"} 1`,
		`officegate_sink_failed_total{sink="webhook"} 1`,
		`officegate_sink_dead_lettered_total{sink="webhook"} 1`,
		`officegate_sink_dead_lettered_total{sink="archive"} 0`,
	)
}

// A sink's backlog bytes, its backlog alarm and the class of its failing
// deliveries are on /metrics; the class stays after it recovers, at 0.
func TestSinkBacklogBytesAndErrors(t *testing.T) {
	j, err := journal.Open(t.TempDir(), &journal.Options{
		Streams:     []journal.Stream{{Name: "attendance", Priority: journal.PriorityRecord}},
		Consumers:   []journal.Consumer{{Name: "hr", Streams: []string{"attendance"}}, {Name: "db", Streams: []string{"attendance"}}},
		SegmentSize: 16 << 10, MaxBytes: 64 << 10, MaxRecordSize: 4096, SyncWindow: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	m := metrics.New(&metrics.Opts{NoRuntime: true})
	if err := m.WatchSinks(j, nil, []string{"hr", "db"}); err != nil {
		t.Fatal(err)
	}
	for range 40 {
		if _, err := j.Append(context.Background(), "attendance", make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	cs, _ := j.ConsumerStats("hr")
	m.SinkError("hr", "network")
	m.SinkError("db", "status")
	m.SinkError("db", "")
	out := scrape(t, metrics.Handler(m, &metrics.Health{}))
	wantLines(t, out,
		fmt.Sprintf(`officegate_sink_backlog_bytes{sink="hr"} %d`, cs[0].Bytes),
		`officegate_sink_backlog_alarm{sink="hr"} 1`,
		`officegate_sink_last_error{sink="hr",class="network"} 1`,
		`officegate_sink_last_error{sink="db",class="status"} 0`)
	if cs[0].Bytes < 32<<10 {
		t.Fatalf("backlog bytes %d: the test wants over half the cap", cs[0].Bytes)
	}
}
