package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/uplink"
)

// syncBuffer is a log sink safe for the processor's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) lines() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		json.Unmarshal([]byte(l), &m)
		out = append(out, m)
	}
	return out
}

// TestUnreadableCountedAndLogRateLimited: every unreadable command is
// counted; the log carries one line a minute with the number held back.
func TestUnreadableCountedAndLogRateLimited(t *testing.T) {
	j, err := journal.Open(t.TempDir(), &journal.Options{Streams: []journal.Stream{Stream}, SyncWindow: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var clock atomic.Int64
	clock.Store(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	var logs syncBuffer
	lg := zerolog.New(&logs)
	var counted atomic.Int64
	p, err := New(context.Background(), j, &executions{}, Options{Gateway: "gw", Now: now, Log: &lg,
		OnMalformed: func() { counted.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	garbage := func(n int) {
		for range n {
			p.dispatch(context.Background(), uplink.Inbound{Device: "door-1", Name: "door.pulse", Payload: []byte(`{"ID":"x"}`),
				Topic: "officegate/gw/devices/door-1/commands/door.pulse"})
		}
	}
	garbage(1000)
	if n := counted.Load(); n != 1000 {
		t.Fatalf("%d of 1000 unreadable commands counted", n)
	}
	if l := logs.lines(); len(l) != 1 || l[0]["suppressed"] != float64(0) {
		t.Fatalf("1000 unreadable commands in a burst logged %d lines: %v", len(l), l)
	}
	p.unreadableSummary() // the minute tick, before the minute is over: nothing
	clock.Add(int64(unreadableEvery))
	p.unreadableSummary() // the minute is over: the summary
	l := logs.lines()
	if len(l) != 2 || l[1]["suppressed"] != float64(999) {
		t.Fatalf("after a minute: %v, want a summary of 999 suppressed", l)
	}
	garbage(1)
	if l := logs.lines(); len(l) != 2 {
		t.Fatalf("a line within a minute of the summary: %v", l[2:])
	}
	clock.Add(int64(unreadableEvery))
	garbage(1)
	if l := logs.lines(); len(l) != 3 || l[2]["suppressed"] != float64(1) {
		t.Fatalf("the next minute: %v, want one line saying 1 suppressed", l)
	}
}
