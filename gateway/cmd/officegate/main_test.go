package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestDemo runs the README's first command until events from the emulated
// devices reach the embedded broker and the demo's ping is answered, then
// stops it as Ctrl-C would. It waits on what the demo prints, not on a fixed
// duration: on a loaded machine the start-up alone takes seconds.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	var out, errb demoOutput
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	// --duration bounds a demo that never shows everything awaited.
	go func() {
		done <- run(ctx, []string{"demo", "--duration", "120s", "--rate", "5", "--console", "127.0.0.1:0"}, &out, &errb)
	}()
	wants := []string{"mosquitto_sub -h 127.0.0.1", "attendance.punch", "result of ping", "FACILITIES gateway demo",
		"web console is at http://127.0.0.1:", "reader-lobby", "credential=card person="}
	eventLine := regexp.MustCompile(`seq \S+ +id `)
	missing := func(s string) []string {
		var m []string
		for _, w := range wants {
			if !strings.Contains(s, w) {
				m = append(m, w)
			}
		}
		if n := len(eventLine.FindAllString(s, -1)); n < 10 {
			m = append(m, fmt.Sprintf("10 events (%d so far)", n))
		}
		return m
	}
	var err error
	stopped := false
wait:
	for {
		select {
		case err = <-done:
			stopped = true
			break wait
		case <-out.changed():
			if len(missing(out.String())) == 0 {
				break wait
			}
		}
	}
	cancel()
	if !stopped {
		err = <-done
	}
	s := out.String()
	if err != nil {
		t.Fatalf("demo: %v\n%s\n%s", err, s, errb.String())
	}
	if m := missing(s); len(m) > 0 {
		t.Fatalf("the demo ended (after its --duration) without showing %q:\n%s", m, s)
	}
	m := regexp.MustCompile(`received (\d+) events \((\d+) unique ids\), (\d+) command results`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no summary in the demo's output:\n%s", s)
	}
	events, _ := strconv.Atoi(m[1])
	results, _ := strconv.Atoi(m[3])
	if events < 10 || results < 1 {
		t.Fatalf("demo delivered %d events and %d command results:\n%s", events, results, s)
	}
}

// demoOutput is a bytes.Buffer the demo writes from its goroutines while
// the test reads it, telling the reader of every write.
type demoOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer  // guarded by mu
	ch  chan struct{} // guarded by mu; closed by the next write
}

func (b *demoOutput) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch != nil {
		close(b.ch)
		b.ch = nil
	}
	return b.buf.Write(p)
}

func (b *demoOutput) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// changed is closed by the next write.
func (b *demoOutput) changed() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch == nil {
		b.ch = make(chan struct{})
	}
	return b.ch
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

// TestHelp: -h and --help on the binary and on every subcommand its usage
// texts name print that usage to stdout and succeed (main exits 0), with
// nothing on stderr and no daemon needed.
func TestHelp(t *testing.T) {
	cmds := [][]string{nil, {"help"}}
	for _, line := range strings.Split(usage+adminUsage, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "officegate ")
		if !ok {
			continue
		}
		words := strings.Fields(rest)
		isAdmin := strings.Contains(adminUsage, line)
		for _, group := range strings.Split(words[0], "|") {
			cmds = append(cmds, []string{group})
			// An admin line's second word, in lower case, is a subcommand.
			if isAdmin && len(words) > 1 && strings.ToLower(words[1]) == words[1] && !strings.HasPrefix(words[1], "-") && !strings.HasPrefix(words[1], "[") {
				for _, sub := range strings.Split(words[1], "|") {
					cmds = append(cmds, []string{group, sub})
				}
			}
		}
	}
	seen := map[string]bool{}
	for _, c := range cmds {
		for _, h := range []string{"-h", "--help"} {
			args := append(append([]string{}, c...), h)
			if c != nil && c[0] == "help" {
				args = c
			}
			key := strings.Join(args, " ")
			if seen[key] {
				continue
			}
			seen[key] = true
			var out, errb bytes.Buffer
			err := run(context.Background(), args, &out, &errb)
			if err != nil || !strings.HasPrefix(out.String(), "usage") || errb.Len() != 0 {
				t.Errorf("officegate %s: err %v, stdout %q, stderr %q", key, err, out.String(), errb.String())
			}
		}
	}
	for _, want := range []string{"run --help", "demo -h", "check-config --help", "version -h", "devices approve --help",
		"devices retire -h", "enroll status --help", "config push -h", "firmware rollout --help", "firmware status -h"} {
		if !seen[want] {
			t.Errorf("%q not tried (the usage texts changed?)", want)
		}
	}
	// A flag error is still a usage error on stderr (exit 2).
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"devices", "list", "--nope"}, &out, &errb); !errors.Is(err, errUsage) ||
		out.Len() != 0 || !strings.Contains(errb.String(), "usage") {
		t.Errorf("bad flag: %v, stdout %q, stderr %q", err, out.String(), errb.String())
	}
}

// TestRetentionTypo: a [journal.retention] key naming no stream ("visitor"
// for "visitors") is an error with its line in check-config and in run,
// which stops before starting anything.
func TestRetentionTypo(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	doc := "[gateway]\nid = \"gw-1\"\n\n[mqtt]\nurl = \"tcp://127.0.0.1:1\"\n\n[journal]\ndir = \"" + filepath.Join(dir, "journal") +
		"\"\n\n[journal.retention]\nvisitor = \"30d\"\n\n[http]\nlisten = \"127.0.0.1:0\"\n"
	if err := os.WriteFile(bad, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	const want = "bad.toml:11: journal.retention.visitor: no such stream"
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"check-config", bad}, &out, &errb); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("check-config: %v, want %q", err, want)
	}
	// run must refuse it at once; were it to start, the deadline would end
	// it without an error.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := run(ctx, []string{"run", "--config", bad}, &out, &errb); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("run: %v, want %q", err, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "journal")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("run made the journal before refusing the configuration: %v", err)
	}
	// The same file with the stream's real name passes.
	good := filepath.Join(dir, "good.toml")
	os.WriteFile(good, []byte(strings.Replace(doc, "visitor =", "visitors =", 1)), 0o600)
	if err := run(context.Background(), []string{"check-config", good}, &out, &errb); err != nil {
		t.Errorf("check-config with visitors: %v", err)
	}
}

// TestSinkConfig: check-config knows the sink kinds, their settings and the
// stream names, with the line of each mistake; a good [[sinks]] passes.
func TestSinkConfig(t *testing.T) {
	dir := t.TempDir()
	head := "[gateway]\nid = \"gw-1\"\n\n[mqtt]\nurl = \"tcp://127.0.0.1:1\"\n\n[journal]\ndir = \"" + filepath.Join(dir, "journal") + "\"\n\n"
	for _, c := range []struct{ sinks, want string }{
		{"[[sinks]]\nname = \"a\"\nkind = \"ftp\"\n", `bad.toml:12: sinks[0].kind = "ftp": configuration invalid for sink "a": unknown kind "ftp"`},
		{"[[sinks]]\nname = \"a\"\nkind = \"file\"\n[sinks.settings]\npaht = \"x\"\n", `bad.toml:12: sinks[0].kind = "file": configuration invalid for sink "a": unknown setting "paht"`},
		{"[[sinks]]\nname = \"a\"\nkind = \"file\"\nstreams = [\"visitor\"]\n[sinks.settings]\npath = \"x\"\n", `bad.toml:13: sinks[0].streams[0] = "visitor": not a published stream`},
		{"[[sinks]]\nname = \"a\"\nkind = \"file\"\nstreams = [\"visitors\"]\n[sinks.settings]\npath = \"x\"\n", ""},
	} {
		bad := filepath.Join(dir, "bad.toml")
		if err := os.WriteFile(bad, []byte(head+c.sinks), 0o600); err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		err := run(context.Background(), []string{"check-config", bad}, &out, &errb)
		if c.want == "" {
			if err != nil {
				t.Errorf("check-config of %q: %v", c.sinks, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("check-config of %q: %v, want %q", c.sinks, err, c.want)
		}
	}
}
