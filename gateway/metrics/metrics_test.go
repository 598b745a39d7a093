package metrics_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/metrics"
	"github.com/officegate/officegate/gateway/uplink"
)

var (
	_ uplink.Metrics                = (*metrics.Metrics)(nil)
	_ metrics.StatsSource           = (*journal.Journal)(nil)
	_ func(time.Duration, int, int) = (*metrics.Metrics)(nil).OnSync
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type fakeJournal struct{ s journal.Stats }

func (f *fakeJournal) Stats() journal.Stats { return f.s }

func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("/metrics content type %q", ct)
	}
	return rec.Body.String()
}

func wantLines(t *testing.T, out string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(out, "\n"+l+"\n") {
			t.Errorf("missing %q", l)
		}
	}
}

func TestJournalCollector(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	m := metrics.New(&metrics.Opts{Now: clk.now, NoRuntime: true})
	fj := &fakeJournal{journal.Stats{
		Streams: []journal.StreamStats{
			{Name: "attendance", Depth: 3, OldestUndelivered: clk.now().Add(-90 * time.Second), Appended: 10, Acked: 7},
			{Name: "telemetry", Shed: 4, Expired: 2},
		},
		Segments: 5, DiskBytes: 40 << 20, MaxBytes: 1 << 30, Commits: 9, Records: 12, Bytes: 1200,
		Fsyncs: 11, SyncTime: 250 * time.Millisecond,
	}}
	if err := m.WatchJournal(fj); err != nil {
		t.Fatal(err)
	}
	h := metrics.Handler(m, &metrics.Health{})
	out := scrape(t, h)
	wantLines(t, out,
		`officegate_journal_depth{stream="attendance"} 3`,
		`officegate_journal_oldest_undelivered_age_seconds{stream="attendance"} 90`,
		`officegate_journal_oldest_undelivered_age_seconds{stream="telemetry"} 0`,
		`officegate_journal_appended_total{stream="attendance"} 10`,
		`officegate_journal_acked_total{stream="attendance"} 7`,
		`officegate_journal_shed_total{stream="telemetry"} 4`,
		`officegate_journal_expired_total{stream="telemetry"} 2`,
		`officegate_journal_segments 5`,
		`officegate_journal_disk_bytes 4.194304e+07`,
		`officegate_journal_max_bytes 1.073741824e+09`,
		`officegate_journal_commits_total 9`,
		`officegate_journal_records_total 12`,
		`officegate_journal_written_bytes_total 1200`,
		`officegate_journal_fsyncs_total 11`,
		`officegate_journal_fsync_seconds_total 0.25`,
		`officegate_journal_failed 0`,
	)
	// Read at scrape time: a later scrape sees later figures, no goroutine.
	clk.add(10 * time.Second)
	fj.s.Failed = errors.New("fdatasync: input/output error")
	wantLines(t, scrape(t, h),
		`officegate_journal_oldest_undelivered_age_seconds{stream="attendance"} 100`,
		`officegate_journal_failed 1`)
}

func TestUplinkAndDevices(t *testing.T) {
	m := metrics.New(nil)
	m.Connected(true)
	m.Published("attendance", 3*time.Millisecond)
	m.Published("attendance", 5*time.Millisecond)
	m.PublishFailed("control")
	m.Undeliverable("control")
	m.Inflight(12)
	m.Reconnect(errors.New("eof"))
	m.Connected(false)
	m.Connected(true) // a reconnect
	m.OnSync(2*time.Millisecond, 8, 800)
	seen := time.Unix(1_800_000_000, 500e6)
	m.DeviceSeen("terminal-lobby", seen)
	m.DeviceSeen("Card 0012345678", seen) // not a device id: never a label
	m.DeviceSeen("kiosk-1", seen)
	m.DeviceRemoved("kiosk-1")
	out := scrape(t, metrics.Handler(m, &metrics.Health{}))
	wantLines(t, out,
		`officegate_uplink_published_total{stream="attendance"} 2`,
		`officegate_uplink_publish_errors_total{stream="control"} 1`,
		`officegate_uplink_undeliverable_total{stream="control"} 1`,
		`officegate_uplink_puback_seconds_count 2`,
		`officegate_uplink_puback_seconds_bucket{le="0.005"} 2`,
		`officegate_uplink_inflight 12`,
		`officegate_uplink_connected 1`,
		`officegate_uplink_reconnects_total 1`,
		`officegate_uplink_connection_failures_total 1`,
		`officegate_journal_sync_seconds_count 1`,
		`officegate_device_last_seen_timestamp_seconds{device="terminal-lobby"} 1.8000000005e+09`,
		`officegate_metrics_device_labels_dropped_total 1`,
	)
	for _, bad := range []string{"Card", "kiosk-1"} {
		if strings.Contains(out, bad) {
			t.Errorf("output mentions %q", bad)
		}
	}
	if !strings.Contains(out, "go_goroutines") || !strings.Contains(out, "officegate_process_") && !strings.Contains(out, "process_") {
		t.Error("runtime collectors missing")
	}
}

func TestDeviceCap(t *testing.T) {
	m := metrics.New(&metrics.Opts{NoRuntime: true})
	for i := 0; i < metrics.MaxDevices+10; i++ {
		m.DeviceSeen("d"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+itoa(i), time.Unix(0, 0))
	}
	out := scrape(t, metrics.Handler(m, &metrics.Health{}))
	if n := strings.Count(out, "officegate_device_last_seen_timestamp_seconds{"); n != metrics.MaxDevices {
		t.Errorf("%d device series, want %d", n, metrics.MaxDevices)
	}
	wantLines(t, out, `officegate_metrics_device_labels_dropped_total 10`)
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func healthz(t *testing.T, h http.Handler) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
	return rec.Code, strings.TrimSpace(rec.Body.String())
}

func TestHealth(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	m := metrics.New(&metrics.Opts{Now: clk.now, NoRuntime: true})
	var hl metrics.Health
	h := metrics.Handler(m, &hl)
	if code, body := healthz(t, h); code != 503 || body != `{"status":"failing","checks":{}}` {
		t.Errorf("no checks: %d %s", code, body)
	}
	fj := &fakeJournal{}
	hl.Add("journal", metrics.JournalCheck(fj))
	hl.Add("uplink", m.UplinkCheck(time.Minute))
	if code, body := healthz(t, h); code != 200 || body != `{"status":"ok","checks":{"journal":"ok","uplink":"ok"}}` {
		t.Errorf("starting: %d %s", code, body)
	}
	clk.add(2 * time.Minute)
	if code, body := healthz(t, h); code != 503 || body != `{"status":"failing","checks":{"journal":"ok","uplink":"not connected since start 2m0s ago"}}` {
		t.Errorf("never connected: %d %s", code, body)
	}
	m.Connected(true)
	clk.add(time.Hour)
	if code, _ := healthz(t, h); code != 200 {
		t.Errorf("connected: %d", code)
	}
	m.Connected(false)
	clk.add(30 * time.Second)
	if code, _ := healthz(t, h); code != 200 {
		t.Errorf("within grace: %d", code)
	}
	clk.add(time.Minute)
	fj.s.Failed = errors.New("write: no space left on device")
	code, body := healthz(t, h)
	if code != 503 || body != `{"status":"failing","checks":{"journal":"failed: write: no space left on device","uplink":"disconnected for 1m30s"}}` {
		t.Errorf("failing: %d %s", code, body)
	}
	if _, err := hl.Check(); err == nil || !strings.Contains(err.Error(), "uplink: disconnected for 1m30s") {
		t.Errorf("Check error = %v", err)
	}
}

func TestServe(t *testing.T) {
	m := metrics.New(nil)
	var hl metrics.Health
	hl.Add("ok", func() error { return nil })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- metrics.ServeListener(ctx, ln, metrics.Handler(m, &hl)) }()
	base := "http://" + ln.Addr().String()
	for path, want := range map[string]string{"/metrics": "go_goroutines", "/healthz": `"status":"ok"`} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("%s: %d %.200s", path, resp.StatusCode, b)
		}
	}
	// A busy address is a clear error naming it.
	err = metrics.Serve(context.Background(), ln.Addr().String(), http.NotFoundHandler())
	if err == nil || !strings.Contains(err.Error(), `listen on "`+ln.Addr().String()+`"`) {
		t.Errorf("busy address: %v", err)
	}
	// Serve gives connections a second's grace, then closes them: it must
	// not wait out the server's own timeouts (write 30 s, idle a minute).
	// The bound below is shorter than those, and long enough for a loaded
	// machine: it tells a bounded grace from a wait for them, measuring
	// nothing.
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("after cancel: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return within 20 s of cancel: it waits for its connections' timeouts")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("still serving after cancel")
	}
}

func TestRealJournal(t *testing.T) {
	m := metrics.New(&metrics.Opts{NoRuntime: true})
	j, err := journal.Open(t.TempDir(), &journal.Options{
		Streams: []journal.Stream{{Name: "attendance", Priority: journal.PriorityRecord}},
		OnSync:  m.OnSync,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if err := m.WatchJournal(j); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append(context.Background(), "attendance", []byte(`{"punch":1}`)); err != nil {
		t.Fatal(err)
	}
	out := scrape(t, metrics.Handler(m, &metrics.Health{}))
	wantLines(t, out, `officegate_journal_depth{stream="attendance"} 1`, `officegate_journal_appended_total{stream="attendance"} 1`)
	if !strings.Contains(out, "officegate_journal_sync_seconds_count ") || strings.Contains(out, "officegate_journal_sync_seconds_count 0\n") {
		t.Errorf("no fsync observed:\n%s", out)
	}
}
