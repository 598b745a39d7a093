package journal

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// gatedJournal is a journal whose committer can be held in OnSync, after a
// commit's fdatasync and before its appenders are released.
type gatedJournal struct {
	*Journal
	mu   sync.Mutex
	gate chan struct{} // guarded by mu; nil: not held
}

func openGated(t *testing.T, dir string) *gatedJournal {
	t.Helper()
	g := &gatedJournal{}
	j, err := Open(dir, &Options{Streams: testStreams, OnSync: func(time.Duration, int, int) {
		g.mu.Lock()
		gate := g.gate
		g.mu.Unlock()
		if gate != nil {
			<-gate
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	g.Journal = j
	t.Cleanup(func() { g.release(); j.Close() })
	return g
}

func (g *gatedJournal) hold() {
	g.mu.Lock()
	g.gate = make(chan struct{})
	g.mu.Unlock()
}

func (g *gatedJournal) release() {
	g.mu.Lock()
	if g.gate != nil {
		close(g.gate)
		g.gate = nil
	}
	g.mu.Unlock()
}

// TestAppendFateDespiteCancel: an append whose context ends while its record
// waits in a commit returns that commit's outcome, not ctx's error: the record
// is durable, and a caller told otherwise would store it again. An append whose
// context ended before it joined a commit appends nothing.
func TestAppendFateDespiteCancel(t *testing.T) {
	dir := t.TempDir()
	j := openGated(t, dir)
	bg := context.Background()
	if _, err := j.Append(bg, "attendance", []byte("zero")); err != nil {
		t.Fatal(err)
	}

	j.hold()
	first := make(chan error, 1)
	go func() { _, err := j.Append(bg, "attendance", []byte("one")); first <- err }()
	waitFor(t, "the first commit is held", func() bool { return j.Stats().Commits == 2 })
	held := j.Stats().Pending // the held commit's bytes, released after OnSync

	ctx, cancel := context.WithCancel(bg)
	type result struct {
		seq uint64
		err error
	}
	second := make(chan result, 1)
	go func() { seq, err := j.Append(ctx, "attendance", []byte("two")); second <- result{seq, err} }()
	waitFor(t, "the second record is in the next commit", func() bool { return j.Stats().Pending > held })
	cancel()
	j.release()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	r := <-second
	if r.err != nil || r.seq != 3 {
		t.Fatalf("append cancelled while in a commit: seq %d, %v; want its fate: seq 3, durable", r.seq, r.err)
	}

	if _, err := j.Append(ctx, "attendance", []byte("three")); !errors.Is(err, context.Canceled) {
		t.Fatalf("append with an ended context: %v", err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j2, err := Open(dir, &Options{Streams: testStreams})
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	var got []string
	if err := j2.Replay(bg, "attendance", func(rec Record) error { got = append(got, string(rec.Body)); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[2] != "two" {
		t.Fatalf("journal holds %q, want zero, one, two", got)
	}
}
