package journal

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The crash test runs this same test binary as a child that appends from many
// goroutines and prints each record as its Append returns; the parent SIGKILLs it
// at a random moment, reopens the journal and checks that every record whose
// Append returned is there exactly once, in order, with the number it was given.

const (
	crashDirEnv = "OFFICEGATE_JOURNAL_CRASH_DIR"
	crashRunEnv = "OFFICEGATE_JOURNAL_CRASH_RUN"
)

func crashOpts() *Options {
	o := smallOpts()
	o.SegmentSize = 64 << 10 // rotate often: a kill lands mid-rotation now and then
	o.SyncWindow = 2 * time.Millisecond
	o.CursorInterval = 5 * time.Millisecond
	return o
}

// TestMain runs the crash child instead of the tests when TestCrashKill9
// started this process as one, so a normal run has no child test to skip.
func TestMain(m *testing.M) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(dir)
		return
	}
	os.Exit(m.Run())
}

// crashChild appends and acknowledges until it is killed.
func crashChild(dir string) {
	run := os.Getenv(crashRunEnv)
	j, err := Open(dir, crashOpts())
	if err != nil {
		fmt.Printf("error %v\n", err)
		os.Exit(3)
	}
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		fmt.Fprintf(os.Stdout, format, args...) // unbuffered: one write(2) per line
		mu.Unlock()
	}
	say("ready\n")
	ctx := context.Background()
	streams := []string{"control", "attendance", "rooms", "diag"}
	for a := 0; a < 16; a++ {
		go func() {
			for i := 0; ; i++ {
				body := fmt.Sprintf("r%s-a%02d-%08d", run, a, i)
				seq, err := j.Append(ctx, streams[a%len(streams)], []byte(body))
				if err != nil {
					say("error %v\n", err)
					return
				}
				say("ok %d %s\n", seq, body)
			}
		}()
	}
	// A consumer acknowledges "rooms" so cursors are saved and segments deleted
	// while the kills happen.
	go func() {
		r, err := j.Reader("rooms")
		if err != nil {
			say("error %v\n", err)
			return
		}
		for {
			rec, err := r.Next(ctx)
			if err != nil {
				say("error %v\n", err)
				return
			}
			if err := r.Ack(rec.Seq); err != nil {
				say("error %v\n", err)
				return
			}
			say("ack %d\n", rec.Seq)
		}
	}()
	select {} // until killed
}

func TestCrashKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	dir := t.TempDir()
	const kills = 50
	okSeq := map[string]uint64{} // body → seq, for every record whose Append returned
	okStream := map[string]string{}
	var lastAck uint64
	for run := 0; run < kills; run++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, fmt.Sprintf("%s=%02d", crashRunEnv, run))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		ready := false
		var killAt <-chan time.Time
		for line := range lines {
			switch f := strings.Fields(line); {
			case line == "ready":
				ready = true
				// The kill lands anywhere from the first appends to well into the run.
				killAt = time.After(time.Duration(rand.IntN(120)+5) * time.Millisecond)
				go func(c <-chan time.Time) { <-c; cmd.Process.Signal(syscall.SIGKILL) }(killAt)
			case len(f) == 3 && f[0] == "ok":
				var seq uint64
				fmt.Sscan(f[1], &seq)
				okSeq[f[2]] = seq
				var r, a, i int
				fmt.Sscanf(f[2], "r%d-a%d-%d", &r, &a, &i)
				okStream[f[2]] = []string{"control", "attendance", "rooms", "diag"}[a%4]
			case len(f) == 2 && f[0] == "ack":
				var seq uint64
				fmt.Sscan(f[1], &seq)
				lastAck = max(lastAck, seq)
			case strings.HasPrefix(line, "error"):
				t.Fatalf("run %d: child: %s", run, line)
			}
		}
		err = cmd.Wait()
		if !ready {
			t.Fatalf("run %d: child never became ready: %v", run, err)
		}
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("run %d: child ended with %v, not by SIGKILL", run, err)
		}
		if run%10 == 9 || run == kills-1 {
			verifyCrashDir(t, dir, run, okSeq, okStream, lastAck)
		}
	}
	t.Logf("%d kills, %d acknowledged appends verified", kills, len(okSeq))
}

func verifyCrashDir(t *testing.T, dir string, run int, okSeq map[string]uint64, okStream map[string]string, lastAck uint64) {
	t.Helper()
	j, err := Open(dir, crashOpts())
	if err != nil {
		t.Fatalf("run %d: reopen: %v", run, err)
	}
	defer j.Close()
	if rec := j.Recovery(); len(rec.Losses) > 0 {
		// A kill cannot tear a write that fdatasync confirmed, so only records
		// whose Append never returned can appear here.
		for _, l := range rec.Losses {
			for body, seq := range okSeq {
				if seq >= l.FirstSeq && (seq <= l.LastSeq || l.LastSeq == 0) {
					t.Fatalf("run %d: %v covers acknowledged record %s (seq %d)", run, l, body, seq)
				}
			}
		}
	}
	seen := map[string]bool{}
	for _, name := range []string{"control", "attendance", "rooms", "diag"} {
		r, err := j.Reader(name)
		if err != nil {
			t.Fatal(err)
		}
		last := map[string]int{} // run+appender → last counter
		for _, rec := range readAll(t, r) {
			body := string(rec.Body)
			if seen[body] {
				t.Fatalf("run %d: %s delivered twice", run, body)
			}
			seen[body] = true
			if seq, ok := okSeq[body]; ok && seq != rec.Seq {
				t.Fatalf("run %d: %s has seq %d, its Append returned %d", run, body, rec.Seq, seq)
			}
			var r, a, n int
			if _, err := fmt.Sscanf(body, "r%d-a%d-%d", &r, &a, &n); err != nil {
				t.Fatalf("run %d: record %d has body %q: %v", run, rec.Seq, body, err)
			}
			key := body[:8] // run and appender
			if prev, ok := last[key]; ok && n <= prev {
				t.Fatalf("run %d: %s after counter %d: out of order", run, body, prev)
			}
			last[key] = n
		}
		r.Close()
	}
	missing := 0
	for body, seq := range okSeq {
		if seen[body] {
			continue
		}
		if okStream[body] == "rooms" && seq <= lastAck {
			continue // acknowledged and possibly deleted: fine
		}
		missing++
		if missing < 5 {
			t.Errorf("run %d: acknowledged record %s (seq %d, stream %s) is missing", run, body, seq, okStream[body])
		}
	}
	if missing > 0 {
		t.Fatalf("run %d: %d acknowledged records missing", run, missing)
	}
}
