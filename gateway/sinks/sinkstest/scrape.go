package sinkstest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/metrics"
	"github.com/officegate/officegate/gateway/sinks"
)

// Scraped is Counts that also reports into a gateway metrics registry
// watching the journal and the sink, as the daemon's does, so that a test
// can read /metrics as an operator's scraper would.
type Scraped struct {
	Counts
	m *metrics.Metrics
}

var (
	_ sinks.ErrorMetrics = (*Scraped)(nil)
	_ sinks.HeldMetrics  = (*Scraped)(nil)
)

// NewScraped returns a Scraped whose registry watches j and sink name.
func NewScraped(t testing.TB, j *journal.Journal, name string) *Scraped {
	t.Helper()
	m := metrics.New(&metrics.Opts{NoRuntime: true})
	if err := m.WatchJournal(j); err != nil {
		t.Fatal(err)
	}
	if err := m.WatchSinks(j, nil, []string{name}); err != nil {
		t.Fatal(err)
	}
	return &Scraped{m: m}
}

// The registry is told first, the Counts a test waits on last: a test that
// saw a count reach n and then scrapes sees n in /metrics too.
func (s *Scraped) Delivered(n string)        { s.m.Delivered(n); s.Counts.Delivered(n) }
func (s *Scraped) Failed(n string)           { s.m.Failed(n); s.Counts.Failed(n) }
func (s *Scraped) DeadLettered(n string)     { s.m.DeadLettered(n); s.Counts.DeadLettered(n) }
func (s *Scraped) SinkError(n, class string) { s.m.SinkError(n, class) }
func (s *Scraped) Held(n string, k int)      { s.m.Held(n, k) }

// Scrape returns the body of GET /metrics.
func (s *Scraped) Scrape(t testing.TB) string {
	t.Helper()
	rec := httptest.NewRecorder()
	metrics.Handler(s.m, &metrics.Health{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}
