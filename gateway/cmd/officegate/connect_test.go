package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/officegate/officegate/internal/natstest"
)

// syncBuffer is a log writer the test reads while connect writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// TestConnectCommand: officegate connect --config FILE takes a gateway's
// events from the JetStream stream into a file sink, and a message it
// cannot read into the dead letters, with the gateway's dead-letter alarm
// (the file sink reads every stream: the alarm too); officegate sinks status, deadletters
// and replay --socket work on it as on a gateway, and /metrics has the
// same sink families plus connect's own.
func TestConnectCommand(t *testing.T) {
	c := natstest.Start(t)
	js := c.Nodes[0].JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "OFFICEGATE", Subjects: []string{"officegate.>"}, Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	httpAddr := l.Addr().String()
	l.Close()
	sock := filepath.Join(dir, "admin.sock")
	events := filepath.Join(dir, "events.jsonl")
	conf := filepath.Join(dir, "connect.toml")
	os.WriteFile(conf, []byte(fmt.Sprintf(`
[connect]
state_dir = %q
socket = %q

[connect.jetstream]
urls = [%q, %q]
stream = "OFFICEGATE"
ack_wait = "5s"

[http]
listen = %q

[[sinks]]
name = "archive"
kind = "file"
[sinks.settings]
path = %q
`, filepath.Join(dir, "state"), sock, c.Nodes[1].NATSURL, c.Nodes[2].NATSURL, httpAddr, events)), 0o600)

	if out, errs, code := cli(t, "connect", "--config", conf, "--check"); code != 0 || !strings.Contains(out, "ok (1 sinks, source jetstream OFFICEGATE/connect, replicas standby)") {
		t.Fatalf("connect --check: exit %d: %s%s", code, out, errs)
	}
	logs := &syncBuffer{}
	rctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(rctx, []string{"connect", "--config", conf}, logs, io.Discard) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("connect: %v", err)
		}
	}()

	good := `{"v":1,"id":"0b7d1c4e-0000-8000-8000-000000000001","type":"attendance.punch","gateway":"gw-1","device":"t1","boot":1,"seq":1,"time":"2026-12-07T09:00:00.000+08:00","time_raw":"","clock":"synced","received":"2026-12-07T01:00:00.000Z","data":{"person":"p1"}}`
	for _, m := range []struct{ subj, body string }{
		{"officegate.gw-1.devices.t1.events.attendance//punch", good},
		{"officegate.gw-1.devices.t1.events.attendance//punch", good}, // published twice: a lost PUBACK
		{"officegate.gw-1.devices.t1.events.attendance//punch", `{"v":1,"type":"attendance.punch"}`},
		{"officegate.gw-1.status", `{"state":"online"}`}, // not for the sinks
	} {
		if _, err := js.Publish(ctx, m.subj, []byte(m.body)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the event and the dead letter's alarm in the file sink, the bad one dead-lettered", func() bool {
		b, _ := os.ReadFile(events)
		out, _, _ := cli(t, "sinks", "status", "--json", "--socket", sock)
		return bytes.Count(b, []byte("\n")) == 2 && strings.Contains(out, `"dead_letters": 1`)
	})
	if b, _ := os.ReadFile(events); !bytes.Contains(b, []byte(`"type":"device.alarm"`)) || !bytes.Contains(b, []byte(`sink \"archive\" can never deliver event  (attendance.punch)`)) {
		t.Fatalf("the file sink has no dead-letter alarm:\n%s", b)
	}
	out, errs, code := cli(t, "sinks", "status", "--socket", sock)
	if code != 0 || !strings.Contains(out, "archive") || !strings.Contains(out, "delivering") {
		t.Fatalf("sinks status: exit %d\n%s%s", code, out, errs)
	}
	out, errs, code = cli(t, "sinks", "deadletters", "archive", "--socket", sock)
	if code != 0 || !strings.Contains(out, "the envelope has no id") || !strings.Contains(out, "1 dead letter(s)") {
		t.Fatalf("sinks deadletters: exit %d\n%s%s", code, out, errs)
	}
	if _, errs, code = cli(t, "sinks", "replay", "archive", "--socket", sock); code != 1 || !strings.Contains(errs, "no id") {
		t.Fatalf("sinks replay of a message that can never be read: exit %d: %s", code, errs)
	}
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`officegate_sink_delivered_total{sink="archive"} 2`, // the event, the alarm
		`officegate_sink_dead_lettered_total{sink="archive"} 1`,
		`officegate_sink_backlog{sink="archive"} 0`,
		`officegate_connect_received_total 3`,
		`officegate_connect_duplicates_total 1`,
		`officegate_connect_active 1`, // the lease's holder: the only replica
		`officegate_connect_takeovers_total 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s\nlog:\n%s", body, logs.b.String())
	}
	var st []map[string]any
	out, _, _ = cli(t, "sinks", "status", "--json", "--socket", sock)
	if err := json.Unmarshal([]byte(out), &st); err != nil || len(st) != 1 {
		t.Fatalf("sinks status --json: %v: %s", err, out)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
