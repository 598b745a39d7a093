package metrics

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Health is the set of checks /healthz runs. The daemon adds checks as it
// starts its parts; each check must be quick and must not block (read a
// state, do not probe).
type Health struct {
	mu sync.Mutex
	// Guarded by mu.
	checks []namedCheck
}

type namedCheck struct {
	name  string
	check func() error
}

// ErrDegraded marks a check's error as degraded rather than failing: the
// gateway works but not fully (a full journal refuses events; restarting
// would not help), so /healthz says "degraded" with the reason and still
// answers 200, and a liveness probe does not restart it.
var ErrDegraded = errors.New("degraded")

// Add registers a check under a name ("journal", "uplink"). A nil error
// means healthy; an error wrapping ErrDegraded means degraded.
func (h *Health) Add(name string, check func() error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks = append(h.checks, namedCheck{name, check})
}

// Check runs every check; the map holds "ok" or the error's text by name,
// and err joins the failures ("uplink: disconnected for 3m0s"), degraded
// ones included (errors.Is(err, ErrDegraded) then tells them apart only when
// nothing else failed: see status).
func (h *Health) Check() (map[string]string, error) {
	h.mu.Lock()
	checks := append([]namedCheck(nil), h.checks...)
	h.mu.Unlock()
	results := make(map[string]string, len(checks))
	var errs []error
	for _, c := range checks {
		if err := c.check(); err != nil {
			results[c.name] = err.Error()
			errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
		} else {
			results[c.name] = "ok"
		}
	}
	return results, errors.Join(errs...)
}

// ServeHTTP answers 200 {"status":"ok","checks":{…}} when every check
// passes, 200 {"status":"degraded",…} when the only failures are degraded
// ones, and 503 {"status":"failing","checks":{…}} otherwise. With no checks
// registered it answers 503: a daemon still starting is not healthy.
func (h *Health) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	results, err := h.Check()
	body := struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}{"ok", results}
	code := http.StatusOK
	switch {
	case len(results) == 0 || (err != nil && !onlyDegraded(err)):
		body.Status, code = "failing", http.StatusServiceUnavailable
	case err != nil:
		body.Status = "degraded"
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

// onlyDegraded reports whether every error joined in err is degraded.
func onlyDegraded(err error) bool {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return errors.Is(err, ErrDegraded)
	}
	for _, e := range j.Unwrap() {
		if !errors.Is(e, ErrDegraded) {
			return false
		}
	}
	return true
}

// JournalCheck fails once the journal has failed a write or an fsync, and is
// degraded while the journal is full (refusing events: devices keep them).
func JournalCheck(src StatsSource) func() error {
	return func() error {
		s := src.Stats()
		if err := s.Failed; err != nil {
			return fmt.Errorf("failed: %v", err)
		}
		if f := s.Full; f.Full {
			return fmt.Errorf("%w: journal full (%s) since %s (%d records refused since start): %s", ErrDegraded,
				f.Cause, f.Since.UTC().Format(time.RFC3339), f.Refused, f.Reason)
		}
		return nil
	}
}

// UplinkCheck fails when the uplink has been disconnected (or never
// connected) for longer than grace: a broker restart is not an outage of the
// gateway, an hour without one is.
func (m *Metrics) UplinkCheck(grace time.Duration) func() error {
	return func() error {
		m.mu.Lock()
		up, since, ever := m.connected, m.changed, m.seenUp
		m.mu.Unlock()
		if up {
			return nil
		}
		d := m.now().Sub(since)
		if d <= grace {
			return nil
		}
		if !ever {
			return fmt.Errorf("not connected since start %v ago", d.Round(time.Second))
		}
		return fmt.Errorf("disconnected for %v", d.Round(time.Second))
	}
}
