package journal

import (
	"bufio"
	"context"
	"errors"
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
	crashCapEnv = "OFFICEGATE_JOURNAL_CRASH_CAP"
)

// crashOpts: with capped, the disk cap is a few segments, so kills land in
// compactions (the cap is reached within the first runs and stays reached).
func crashOpts(capped bool) *Options {
	o := smallOpts()
	o.SegmentSize = 64 << 10 // rotate often: a kill lands mid-rotation now and then
	o.SyncWindow = 2 * time.Millisecond
	o.CursorInterval = 5 * time.Millisecond
	if capped {
		o.SegmentSize = 16 << 10
		o.MaxBytes = 4 * o.SegmentSize
	}
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
	capped := os.Getenv(crashCapEnv) != ""
	j, err := Open(dir, crashOpts(capped))
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
				if capped && errors.Is(err, ErrFull) {
					// Told busy: a device keeps the record and sends it again.
					time.Sleep(time.Millisecond)
					i--
					continue
				}
				if err != nil {
					say("error %v\n", err)
					return
				}
				say("ok %d %s\n", seq, body)
			}
		}()
	}
	// A consumer acknowledges "rooms" so cursors are saved and segments deleted
	// while the kills happen. Capped, consumers acknowledge "attendance" and
	// "control" instead: rooms and diag stay undelivered and fill the cap, so
	// the journal sheds them, out of segments shared with delivered records,
	// by compaction.
	consume := func(stream string, line string) {
		r, err := j.Reader(stream)
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
			say(line, rec.Seq)
		}
	}
	if capped {
		go func() {
			for range time.Tick(5 * time.Millisecond) {
				say("compactions %d\n", j.Stats().Compactions)
			}
		}()
		go consume("attendance", "ack attendance %d\n")
		go consume("control", "ack control %d\n")
	} else {
		go consume("rooms", "ack %d\n")
	}
	select {} // until killed
}

func TestCrashKill9(t *testing.T) { crashKill9(t, false, 50) }

// TestCrashKill9Capped kills the child while the cap makes it compact
// segments: nothing acknowledged may be lost but what the cap sheds (rooms,
// diag), nothing delivered twice or out of order.
func TestCrashKill9Capped(t *testing.T) { crashKill9(t, true, 30) }

func crashKill9(t *testing.T, capped bool, kills int) {
	if testing.Short() {
		t.Skip("-short")
	}
	dir := t.TempDir()
	okSeq := map[string]uint64{} // body → seq, for every record whose Append returned
	okStream := map[string]string{}
	var lastAck uint64
	lastAckBy := map[string]uint64{} // capped: per acknowledged stream
	compactions := map[int]uint64{}  // capped: by run, as the child last said
	shed := 0
	for run := 0; run < kills; run++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, fmt.Sprintf("%s=%02d", crashRunEnv, run))
		if capped {
			cmd.Env = append(cmd.Env, crashCapEnv+"=1")
		}
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
		killed := false
		kill := func(after time.Duration) {
			killed = true
			go func() { <-time.After(after); cmd.Process.Signal(syscall.SIGKILL) }()
		}
		// Capped, until a run has compacted, a run is killed only once its
		// child says it compacted: how far a run gets in a given time depends
		// on the machine's load, and the test is about kills that land
		// while the cap is at work.
		waitCompaction := func() bool {
			if !capped {
				return false
			}
			for _, n := range compactions {
				if n > 0 {
					return false
				}
			}
			return true
		}
		for line := range lines {
			switch f := strings.Fields(line); {
			case line == "ready":
				ready = true
				if !waitCompaction() {
					// The kill lands anywhere from the first appends to well into the run.
					kill(time.Duration(rand.IntN(120)+5) * time.Millisecond)
				}
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
			case len(f) == 2 && f[0] == "compactions":
				var n uint64
				fmt.Sscan(f[1], &n)
				if n > 0 && !killed && waitCompaction() {
					kill(time.Duration(rand.IntN(20)) * time.Millisecond)
				}
				compactions[run] = max(compactions[run], n)
			case len(f) == 3 && f[0] == "ack":
				var seq uint64
				fmt.Sscan(f[2], &seq)
				lastAckBy[f[1]] = max(lastAckBy[f[1]], seq)
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
			shed = verifyCrashDir(t, dir, run, capped, okSeq, okStream, lastAck, lastAckBy)
		}
	}
	var compacted uint64
	for _, n := range compactions {
		compacted += n
	}
	if capped && (shed == 0 || compacted == 0) {
		t.Fatalf("%d records shed, %d segments compacted: the cap was never at work", shed, compacted)
	}
	t.Logf("%d kills, %d acknowledged appends verified, %d shed, %d segments compacted", kills, len(okSeq), shed, compacted)
}

// verifyCrashDir returns how many acknowledged records were shed (capped).
func verifyCrashDir(t *testing.T, dir string, run int, capped bool, okSeq map[string]uint64, okStream map[string]string,
	lastAck uint64, lastAckBy map[string]uint64) int {
	t.Helper()
	j, err := Open(dir, crashOpts(capped))
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
	missing, shed := 0, 0
	for body, seq := range okSeq {
		if seen[body] {
			continue
		}
		switch {
		case !capped && okStream[body] == "rooms" && seq <= lastAck:
			continue // acknowledged and possibly deleted: fine
		case capped && seq <= lastAckBy[okStream[body]]:
			continue // acknowledged and possibly deleted or compacted away
		case capped && (okStream[body] == "rooms" || okStream[body] == "diag"):
			shed++
			continue // shed under the cap
		}
		missing++
		if missing < 5 {
			t.Errorf("run %d: acknowledged record %s (seq %d, stream %s) is missing", run, body, seq, okStream[body])
		}
	}
	if missing > 0 {
		t.Fatalf("run %d: %d acknowledged records missing", run, missing)
	}
	return shed
}
