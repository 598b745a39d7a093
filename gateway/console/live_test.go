package console_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/console"
)

func punch(i int) console.Event {
	return console.Event{ID: fmt.Sprintf("e%d", i), Type: "attendance.punch", Device: "term-1", Received: time.Unix(int64(i), 0)}
}

// A subscriber that does not keep up loses events, and the loss is counted.
func TestSubscriptionCountsMissed(t *testing.T) {
	h := console.NewHub(time.UTC, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub := h.Subscribe(ctx)
	const n = 1000 // far more than any page's buffer
	for i := range n {
		h.Add(punch(i))
	}
	got := 0
	for len(sub.C) > 0 {
		<-sub.C
		got++
	}
	missed := sub.Missed()
	if got == 0 || missed == 0 || int64(got)+missed != n {
		t.Fatalf("received %d, missed %d: want both > 0 and %d in all", got, missed, n)
	}
	if m := sub.Missed(); m != 0 {
		t.Fatalf("Missed again: %d, want 0 (it counts since the last call)", m)
	}
}

// stalled is a ResponseWriter whose first Flush (the stream's ": live")
// blocks until release is closed: a page that does not read.
type stalled struct {
	hdr     http.Header
	opened  chan struct{}
	release chan struct{}
	once    sync.Once
	mu      sync.Mutex
	body    bytes.Buffer // guarded by mu
	flushes int          // guarded by mu
}

func (w *stalled) Header() http.Header { return w.hdr }
func (w *stalled) WriteHeader(int)     {}
func (w *stalled) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.body.Write(b)
}
func (w *stalled) Flush() {
	w.once.Do(func() { close(w.opened); <-w.release })
}
func (w *stalled) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.body.String()
}

// The live events stream tells a page that fell behind how many events it
// was not sent, instead of leaving a silent hole in its table.
func TestStreamSaysMissed(t *testing.T) {
	f := newFixture(t)
	c := f.client("en")
	c.login("vic")
	req, _ := http.NewRequest("GET", f.srv.URL+"/events/stream", nil)
	u, _ := url.Parse(f.srv.URL)
	for _, ck := range c.c.Jar.Cookies(u) {
		req.AddCookie(ck)
	}
	ctx, cancel := context.WithCancel(context.Background())
	req = req.WithContext(ctx)
	w := &stalled{hdr: http.Header{}, opened: make(chan struct{}), release: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.handler.ServeHTTP(w, req)
	}()
	defer func() { cancel(); <-done }()
	select {
	case <-w.opened:
	case <-done:
		t.Fatalf("the stream ended: %q", w.String())
	}
	const n = 1000
	for i := range n {
		f.hub.Add(punch(i))
	}
	close(w.release)
	re := regexp.MustCompile(`event: missed\ndata: (\d+)\n\n`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		body := w.String()
		if m := re.FindStringSubmatch(body); m != nil {
			missed, _ := strconv.Atoi(m[1])
			if sent := strings.Count(body, "data: {"); missed > 0 && sent+missed == n {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no count of missed events that adds up to %d: %d data lines, body starts %.200q", n, strings.Count(body, "data: {"), body)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition
	}
}
