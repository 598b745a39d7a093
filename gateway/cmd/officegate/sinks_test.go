package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/officegate/officegate/provisioning/admin"
)

// sinkTable is an admin.Sinks over one sink whose dead letters a replay
// delivers, and whose backlog is alarmed.
type sinkTable struct {
	mu   sync.Mutex
	dead []admin.DeadLetter
}

func (s *sinkTable) SinkStatus(context.Context) ([]admin.SinkStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return []admin.SinkStatus{{Name: "hr", Streams: []string{"attendance"}, Backlog: 1200, Oldest: time.Now().Add(-time.Hour),
		BacklogBytes: 600 << 20, Alarm: true, Down: "webhook: 100 events: HTTP 503", Class: "status", DeadLetters: len(s.dead),
		Delivered: 98765, Retries: 4321}}, nil
}

func (s *sinkTable) DeadLetters(_ context.Context, sink string) ([]admin.DeadLetter, error) {
	if sink != "hr" {
		return nil, fmt.Errorf("%w: %q", admin.ErrNoSink, sink)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]admin.DeadLetter{}, s.dead...), nil
}

func (s *sinkTable) Replay(_ context.Context, sink string) (admin.ReplayResult, error) {
	if sink != "hr" {
		return admin.ReplayResult{}, fmt.Errorf("%w: %q", admin.ErrNoSink, sink)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	res := admin.ReplayResult{Delivered: len(s.dead)}
	s.dead = nil
	return res, nil
}

// officegate sinks status|deadletters|replay against a served admin service.
func TestSinksCLI(t *testing.T) {
	tab := &sinkTable{dead: []admin.DeadLetter{{Sink: "hr", Stream: "attendance", Seq: 42, ID: "e-42", Device: "t-1",
		Type: "attendance.punch", Error: "webhook: event e-42: HTTP 422", At: time.Now()}}}
	sock, _ := adminDaemonWith(t, func(d *admin.Deps) { d.Sinks = tab })
	out, errs, code := cli(t, "sinks", "status", "--socket", sock)
	if code != 0 || !strings.Contains(out, "hr") || !strings.Contains(out, "1200") || !strings.Contains(out, "ALARM") ||
		!strings.Contains(out, "DELIVERED") || !strings.Contains(out, "98765") || !strings.Contains(out, "4321") ||
		!strings.Contains(out, "failing (status): webhook: 100 events: HTTP 503") || !strings.Contains(out, "half the journal's disk cap") {
		t.Fatalf("status: exit %d\n%s%s", code, out, errs)
	}
	out, _, code = cli(t, "sinks", "status", "--json", "--socket", sock)
	var st []admin.SinkStatus
	if err := json.Unmarshal([]byte(out), &st); code != 0 || err != nil || len(st) != 1 || !st[0].Alarm || st[0].DeadLetters != 1 {
		t.Fatalf("status --json: exit %d %v\n%s", code, err, out)
	}
	out, _, code = cli(t, "sinks", "deadletters", "hr", "--socket", sock)
	if code != 0 || !strings.Contains(out, "HTTP 422") || !strings.Contains(out, "e-42") || !strings.Contains(out, "1 dead letter(s)") {
		t.Fatalf("deadletters: exit %d\n%s", code, out)
	}
	if _, errs, code := cli(t, "sinks", "deadletters", "nosuch", "--socket", sock); code != 1 || !strings.Contains(errs, "no such sink") {
		t.Fatalf("deadletters of an unknown sink: exit %d\n%s", code, errs)
	}
	out, _, code = cli(t, "sinks", "replay", "hr", "--socket", sock)
	if code != 0 || !strings.Contains(out, "hr: 1 dead letter(s) delivered, 0 not") {
		t.Fatalf("replay: exit %d\n%s", code, out)
	}
	if out, _, _ := cli(t, "sinks", "deadletters", "hr", "--socket", sock); !strings.Contains(out, "0 dead letter(s)") {
		t.Fatalf("after the replay:\n%s", out)
	}
}
