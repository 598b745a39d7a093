package cloudtest

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/sinks"
)

// Clock is a clock a test moves, read by a sink and its double alike.
type Clock struct {
	mu sync.Mutex
	t  time.Time // guarded by mu
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Leak is a platform's part in SecretsNeverLeak.
type Leak struct {
	Double *Double
	// Sink is built from its settings (as the daemon builds it) against
	// Double, with a short timeout, mapping person 1001 to a user the
	// platform has and 9999 to one it does not.
	Sink sinks.Sink
	At   time.Time // a punch time the platform takes, by the Double's clock
	// Secret is the app's secret; SetSecret changes the one the double
	// expects.
	Secret    string
	SetSecret func(string)
	// Forbidden are further texts no error, alarm, log line or metric may
	// hold: the query keys or header scheme that carry a secret.
	Forbidden []string
}

// SecretsNeverLeak checks that neither the app's secret nor any token the
// double ever issued appears in an error, a dead letter's alarm, the runner's
// log or /metrics, whatever goes wrong: a hanging, down or garbled
// platform, a revoked token, a wrong secret, a refused record. It returns
// every text it looked at, for a platform's own further checks.
func SecretsNeverLeak(t *testing.T, l Leak) []string {
	t.Helper()
	d := l.Double
	ev := EventOf(t, "t1", "attendance.punch", l.At, map[string]any{"person": "1001", "credential": "card", "state": "in"})
	var texts []string
	try := func(set func()) {
		d.Locked(set)
		if err := l.Sink.Deliver(context.Background(), ev); err != nil {
			texts = append(texts, err.Error())
		}
	}
	try(func() {})
	try(func() { d.Hang = true })
	try(func() { d.Hang, d.Down = false, 1 })
	try(func() { d.Malformed = 1 })
	d.Revoke()
	l.SetSecret("rotated") // refused on the token fetch
	try(func() {})
	if len(texts) < 4 {
		t.Fatalf("only %d failures: %q", len(texts), texts)
	}
	// The same through the runner: its log, alarms and metrics.
	l.SetSecret(l.Secret)
	h := Start(t, "leak", l.Sink, nil)
	h.Punch(t, "t1", "9999", l.At)
	WaitFor(t, "a dead letter", func() bool { _, _, dl := h.Counts(); return dl == 1 })
	d.Locked(func() { d.Hang = true })
	h.Punch(t, "t1", "1001", l.At)
	WaitFor(t, "a timeout", func() bool { _, f, _ := h.Counts(); return f >= 1 })
	for _, a := range h.Alarms() {
		texts = append(texts, a.Error)
	}
	texts = append(texts, h.Log.String())
	scrape := h.Scrape(t) // /metrics: every label value the sink's families carry
	if !strings.Contains(scrape, `officegate_sink_dead_lettered_total{sink="`+h.Name+`"} 1`) {
		t.Fatalf("/metrics does not show the sink's failures:\n%s", scrape)
	}
	texts = append(texts, scrape)
	tokens := d.Issued() // the dead letter took a call with one at least
	if len(tokens) == 0 {
		t.Fatal("no token was issued")
	}
	NoSecret(t, "errors, alarms, log and /metrics", texts, append(append(tokens, l.Secret), l.Forbidden...)...)
	return texts
}

// TimedOut says whether err is a call given up at the sink's timeout, to
// be retried: not a refusal, and not any other failure that a test of a
// hanging platform would take for one.
func TimedOut(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() && !errors.Is(err, sinks.ErrPermanent)
}
