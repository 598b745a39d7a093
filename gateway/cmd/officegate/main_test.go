package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDemo runs the README's first command for a few seconds: events from the
// emulated devices reach the embedded broker and the demo's ping is answered.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := run(ctx, []string{"demo", "--duration", "6s", "--rate", "5"}, &out, &errb); err != nil {
		t.Fatalf("demo: %v\n%s\n%s", err, out.String(), errb.String())
	}
	s := out.String()
	m := regexp.MustCompile(`received (\d+) events \((\d+) unique ids\), (\d+) command results`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no summary in the demo's output:\n%s", s)
	}
	events, _ := strconv.Atoi(m[1])
	results, _ := strconv.Atoi(m[3])
	if events < 10 || results < 1 {
		t.Fatalf("demo delivered %d events and %d command results:\n%s", events, results, s)
	}
	for _, want := range []string{"mosquitto_sub -h 127.0.0.1", "attendance.punch", "result of ping", "STATUS gateway demo", "reader-lobby", "credential=card person="} {
		if !strings.Contains(s, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}

func TestCheckConfig(t *testing.T) {
	var out, errb bytes.Buffer
	example := filepath.Join("..", "..", "config", "example.toml")
	if err := run(context.Background(), []string{"check-config", example}, &out, &errb); err != nil {
		t.Fatalf("example config: %v", err)
	}
	if !strings.Contains(out.String(), ": ok (gateway") {
		t.Fatalf("check-config output: %s", out.String())
	}
	bad := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(bad, []byte("[gateway]\nid = \"gw-1\"\n\n[mqtt]\nurl = \"tcp://127.0.0.1:1883\"\nqos = 2\n"), 0o600)
	err := run(context.Background(), []string{"check-config", bad}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "bad.toml:6") || !strings.Contains(err.Error(), "qos") {
		t.Fatalf("bad config: %v", err)
	}
}

func TestUsageAndVersion(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), nil, &out, &errb); !errors.Is(err, errUsage) {
		t.Errorf("no arguments: %v", err)
	}
	if err := run(context.Background(), []string{"fly"}, &out, &errb); !errors.Is(err, errUsage) {
		t.Errorf("unknown command: %v", err)
	}
	if err := run(context.Background(), []string{"version"}, &out, &errb); err != nil || !strings.HasPrefix(out.String(), "officegate ") {
		t.Errorf("version: %v %q", err, out.String())
	}
}
