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

// Add registers a check under a name ("journal", "uplink"). A nil error
// means healthy.
func (h *Health) Add(name string, check func() error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks = append(h.checks, namedCheck{name, check})
}

// Check runs every check; the map holds "ok" or the error's text by name,
// and err joins the failures ("uplink: disconnected for 3m0s").
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
// passes and 503 {"status":"failing","checks":{…}} otherwise. With no checks
// registered it answers 503: a daemon still starting is not healthy.
func (h *Health) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	results, err := h.Check()
	body := struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}{"ok", results}
	code := http.StatusOK
	if err != nil || len(results) == 0 {
		body.Status, code = "failing", http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

// JournalCheck fails once the journal has failed a write or an fsync.
func JournalCheck(src StatsSource) func() error {
	return func() error {
		if err := src.Stats().Failed; err != nil {
			return fmt.Errorf("failed: %v", err)
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
