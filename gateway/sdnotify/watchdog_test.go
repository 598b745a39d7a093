package sdnotify_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/sdnotify"
)

// stallable is a real journal whose committer can be held after a commit's
// fdatasync (in OnSync, on the committer goroutine): every later append
// waits, as behind a hung disk.
type stallable struct {
	*journal.Journal
	mu   sync.Mutex
	gate chan struct{} // guarded by mu; nil: not stalled
}

func openStallable(t *testing.T) *stallable {
	t.Helper()
	s := &stallable{}
	j, err := journal.Open(t.TempDir(), &journal.Options{
		Streams: []journal.Stream{{Name: "records", Priority: journal.PriorityRecord}},
		OnSync: func(time.Duration, int, int) {
			s.mu.Lock()
			g := s.gate
			s.mu.Unlock()
			if g != nil {
				<-g
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Journal = j
	t.Cleanup(func() { s.release(); j.Close() })
	return s
}

func (s *stallable) stall() {
	s.mu.Lock()
	s.gate = make(chan struct{})
	s.mu.Unlock()
}

func (s *stallable) release() {
	s.mu.Lock()
	if s.gate != nil {
		close(s.gate)
		s.gate = nil
	}
	s.mu.Unlock()
}

// appendAsync appends one record; its result arrives on the channel.
func (s *stallable) appendAsync(t *testing.T) <-chan error {
	ch := make(chan error, 1)
	go func() {
		_, err := s.Append(context.Background(), "records", []byte("punch"))
		ch <- err
	}()
	return ch
}

// waitFor waits on a ticker until cond holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// waitPending waits until the journal holds uncommitted bytes.
func waitPending(t *testing.T, j *stallable) {
	t.Helper()
	waitFor(t, "an append is pending", func() bool { return j.Stats().Pending > 0 })
}

func TestProgressJournal(t *testing.T) {
	j := openStallable(t)
	p := sdnotify.NewProgress(j, nil, nil, sdnotify.Limits{Journal: 10 * time.Second})
	now := time.Unix(1_700_000_000, 0)
	if err := p.Check(now); err != nil {
		t.Fatalf("idle journal: %v", err)
	}
	if err := <-j.appendAsync(t); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	if err := p.Check(now); err != nil {
		t.Fatalf("idle after a commit, an hour later: %v", err)
	}

	j.stall()
	first := j.appendAsync(t) // commits, then holds the committer in OnSync
	waitPending(t, j)
	// The first commit is counted before its OnSync blocks.
	waitFor(t, "the held commit is counted", func() bool { return j.Stats().Commits == 2 })
	second := j.appendAsync(t) // waits behind the held committer
	if err := p.Check(now); err != nil {
		t.Fatalf("a commit just begun: %v", err)
	}
	if err := p.Check(now.Add(9 * time.Second)); err != nil {
		t.Fatalf("a commit 9 s long (limit 10 s): %v", err)
	}
	err := p.Check(now.Add(10 * time.Second))
	if err == nil || !strings.Contains(err.Error(), "journal: no commit completed for 10s") {
		t.Fatalf("stalled 10 s: %v; want a journal stall", err)
	}

	j.release()
	for _, ch := range []<-chan error{first, second} {
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Check(now.Add(11 * time.Second)); err != nil {
		t.Fatalf("released: %v", err)
	}
}

type fakeUplink struct{ up bool }

func (f *fakeUplink) Connected() (bool, time.Time) { return f.up, time.Time{} }

type fakeLink struct{ st link.Status }

func (f *fakeLink) Status() link.Status { return f.st }

func TestProgressUplinkAndLinks(t *testing.T) {
	j := openStallable(t)
	up := &fakeUplink{up: true}
	dev := &fakeLink{}
	p := sdnotify.NewProgress(j, up, map[string]sdnotify.LinkStatus{"t1": dev}, sdnotify.Limits{Uplink: time.Minute, Link: time.Minute})
	now := time.Unix(1_700_000_000, 0)
	if err := <-j.appendAsync(t); err != nil { // one record nobody acknowledges
		t.Fatal(err)
	}
	if err := p.Check(now); err != nil {
		t.Fatal(err)
	}
	if err := p.Check(now.Add(time.Minute)); err == nil || !strings.Contains(err.Error(), "uplink: connected, 1 records waiting") {
		t.Fatalf("connected with a backlog and no ack for 1 min: %v", err)
	}
	up.up = false // backing off: normal, the journal holds the events
	if err := p.Check(now.Add(2 * time.Minute)); err != nil {
		t.Fatalf("disconnected: %v", err)
	}

	dev.st = link.Status{Online: false, LastSeen: now} // unplugged: normal
	if err := p.Check(now.Add(time.Hour)); err != nil {
		t.Fatalf("device offline: %v", err)
	}
	dev.st.Online = true
	if err := p.Check(now.Add(59 * time.Second)); err != nil {
		t.Fatalf("device heard 59 s ago: %v", err)
	}
	if err := p.Check(now.Add(time.Minute)); err == nil || !strings.Contains(err.Error(), `device "t1"`) {
		t.Fatalf("online but silent for 1 min: %v", err)
	}
}

// TestWatchdogStopsPingsWhileJournalStalled runs the real loop against a fake
// NOTIFY_SOCKET: pings while healthy, none while the journal is held, pings
// again once it commits.
func TestWatchdogStopsPingsWhileJournalStalled(t *testing.T) {
	sock := listen(t)
	n, err := sdnotify.New(sock.path)
	if err != nil {
		t.Fatal(err)
	}
	j := openStallable(t)
	const every = 20 * time.Millisecond
	p := sdnotify.NewProgress(j, nil, nil, sdnotify.Limits{Journal: 3 * every})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		sdnotify.RunWatchdog(ctx, n, sdnotify.WatchdogOptions{Every: every, Check: p.Check, Log: zerolog.Nop()})
	}()
	defer func() { cancel(); <-done }()

	for range 3 {
		if m := sock.next(t, 5*time.Second); m != sdnotify.Watchdog {
			t.Fatalf("healthy: got %q, want pings", m)
		}
	}
	j.stall()
	first := j.appendAsync(t)
	waitPending(t, j)
	second := j.appendAsync(t)
	// Pings already in flight may arrive; then the stall is reported once.
	for {
		m := sock.next(t, 5*time.Second)
		if m == sdnotify.Watchdog {
			continue
		}
		if !strings.HasPrefix(m, "STATUS=stalled: journal") {
			t.Fatalf("got %q, want the stall's STATUS", m)
		}
		break
	}
	// No ping for 25 periods (systemd would restart the service).
	select {
	case m := <-sock.ch:
		t.Fatalf("stalled, yet got %q", m)
	case <-time.After(25 * every):
	}
	j.release()
	for _, ch := range []<-chan error{first, second} {
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
	}
	if m := sock.next(t, 5*time.Second); m != "WATCHDOG=1\nSTATUS=running" {
		t.Fatalf("after release: %q, want a ping with STATUS=running", m)
	}
	if m := sock.next(t, 5*time.Second); m != sdnotify.Watchdog {
		t.Fatalf("after release: %q, want pings", m)
	}
}
