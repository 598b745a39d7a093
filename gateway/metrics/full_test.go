package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/metrics"
)

// A real journal at its cap: /metrics shows it full with the refusals
// counted, /healthz says degraded with the reason (200: a full disk is not a
// reason to restart), and both return to normal once delivery frees room.
func TestJournalFullOnEverySurface(t *testing.T) {
	j, err := journal.Open(t.TempDir(), &journal.Options{
		Streams:     []journal.Stream{{Name: "attendance", Priority: journal.PriorityRecord}},
		SegmentSize: 64 << 10, MaxBytes: 256 << 10, MaxRecordSize: 1024, SyncWindow: time.Millisecond, CursorInterval: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	m := metrics.New(&metrics.Opts{NoRuntime: true})
	if err := m.WatchJournal(j); err != nil {
		t.Fatal(err)
	}
	var hl metrics.Health
	hl.Add("journal", metrics.JournalCheck(j))
	h := metrics.Handler(m, &hl)
	if code, body := healthz(t, h); code != 200 || body != `{"status":"ok","checks":{"journal":"ok"}}` {
		t.Fatalf("empty journal: %d %s", code, body)
	}
	wantLines(t, scrape(t, h), `officegate_journal_full 0`, `officegate_journal_refused_total{stream="attendance"} 0`)

	ctx := context.Background()
	body := []byte(strings.Repeat("p", 200))
	n := 0
	for ; ; n++ {
		if _, err = j.Append(ctx, "attendance", body); err != nil {
			break
		}
		if n > 100000 {
			t.Fatal("the journal never filled")
		}
	}
	if !errors.Is(err, journal.ErrFull) {
		t.Fatalf("after %d appends: %v", n, err)
	}
	j.Append(ctx, "attendance", body) // refused too
	out := scrape(t, h)
	wantLines(t, out, `officegate_journal_full 1`, `officegate_journal_refused_total{stream="attendance"} 2`)
	if !strings.Contains(out, "\nofficegate_journal_fs_free_bytes ") {
		t.Errorf("no fs_free_bytes in:\n%s", out)
	}
	code, hb := healthz(t, h)
	if code != 200 || !strings.HasPrefix(hb, `{"status":"degraded","checks":{"journal":"degraded: journal full (cap) since `) ||
		!strings.Contains(hb, `(2 records refused since start): journal: full: stream \"attendance\" refused`) {
		t.Fatalf("full journal: /healthz %d %s", code, hb)
	}
	// Degraded and failing together: failing wins.
	hl.Add("uplink", func() error { return fmt.Errorf("disconnected for 1h0m0s") })
	if code, hb := healthz(t, h); code != 503 || !strings.HasPrefix(hb, `{"status":"failing"`) {
		t.Fatalf("full and disconnected: %d %s", code, hb)
	}

	r, err := j.Reader("attendance")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		rec, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		r.Ack(rec.Seq)
	}
	deadline := time.Now().Add(20 * time.Second)
	for j.Stats().Full.Full {
		if time.Now().After(deadline) {
			t.Fatal("still full after delivery")
		}
		time.Sleep(time.Millisecond)
	}
	wantLines(t, scrape(t, h), `officegate_journal_full 0`, `officegate_journal_refused_total{stream="attendance"} 2`)
}
