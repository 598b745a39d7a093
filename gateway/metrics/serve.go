package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Handler serves /metrics from m's registry and /healthz from h.
func Handler(m *Metrics, h *Health) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", &scrapeHandler{reg: m.reg, slots: make(chan struct{}, maxScrapes)})
	mux.Handle("GET /healthz", h)
	return mux
}

// maxScrapes bounds concurrent scrapes: each builds its whole body in memory
// (tens of kilobytes with a floor of devices), and one local agent scrapes
// one at a time, so more than a few at once is a misbehaving client.
const maxScrapes = 4

// scrapeHandler serves the registry in the text format (expose.go).
type scrapeHandler struct {
	reg   *registry
	slots chan struct{} // a token per scrape in progress
}

func (s *scrapeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		http.Error(w, "metrics: too many scrapes in progress", http.StatusServiceUnavailable)
		return
	}
	body := s.reg.appendText(nil)
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(body) // a client gone mid-body is not the gateway's error
}

// Serve listens on addr and serves h until ctx is cancelled, then shuts down
// within a second. It returns nil after cancellation and the listen or serve
// error otherwise, naming the address.
func Serve(ctx context.Context, addr string, h http.Handler) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics: listen on %q: %w", addr, err)
	}
	return ServeListener(ctx, ln, h)
}

// ServeListener is Serve on a listener the caller opened (tests use port 0
// and read the address back). It closes ln.
func ServeListener(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       time.Minute,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("metrics: serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics: serve on %s: %w", ln.Addr(), err)
	}
	return nil
}
