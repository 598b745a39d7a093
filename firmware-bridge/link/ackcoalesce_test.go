package link_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/link/linktest"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/internal/testkit"
)

// gatedJournal is a linktest.Journal whose first single-record Commit waits
// for gate (a slow fsync), and which records the last sequence number of
// every commit, so a test knows where each commit ends. Sequence numbers
// of the test's events equal their frames'.
type gatedJournal struct {
	*linktest.Journal
	gate chan struct{}
	once sync.Once

	mu   sync.Mutex
	ends []uint32 // guarded by mu
}

func (j *gatedJournal) Commit(ctx context.Context, rec link.Record) error {
	j.once.Do(func() {
		select {
		case <-j.gate:
		case <-ctx.Done():
		}
	})
	if err := j.Journal.Commit(ctx, rec); err != nil {
		return err
	}
	j.mu.Lock()
	j.ends = append(j.ends, 1) // the RESULT is frame 1
	j.mu.Unlock()
	return nil
}

func (j *gatedJournal) CommitBatch(ctx context.Context, recs []link.Record) error {
	if err := j.Journal.CommitBatch(ctx, recs); err != nil {
		return err
	}
	j.mu.Lock()
	j.ends = append(j.ends, recs[len(recs)-1].Event.ID.Seq)
	j.mu.Unlock()
	return nil
}

func (j *gatedJournal) commitEnds() []uint32 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.ends)
}

// TestAcksCoalesced: a device's burst of a window of frames, written in one
// go on a real PTY, is acknowledged with one cumulative ACK per commit
// (PROTOCOL.md §5.3), never in the middle of one. The first frame (a
// RESULT, committed on its own) is held by a slow commit while the seven
// EVENTs after it arrive; they are then committed together and must get
// one ACK for all seven, where acknowledging by half windows sent one
// after the fourth.
func TestAcksCoalesced(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 20*time.Second)
	j := &gatedJournal{Journal: new(linktest.Journal), gate: make(chan struct{})}
	g := newGateway(t, j.Journal, func(c *link.GatewayConfig) {
		c.Sink, c.Store = j, j
		c.Timing.Heartbeat = 10 * time.Second // no heartbeat frames in the count
	})
	l := newLine(t)
	port := openGateway(t, l)
	run(t, func(ctx context.Context) error { return g.Run(ctx, port) })
	d := newRawPeer(t, l.dev, true)
	d.send(testHello("RAW-ACK"), 0, 0)
	_, m := d.expectMsg(ctx, frame.TypeWelcome)
	if w := m.(*msg.Welcome); w.Window != 8 {
		t.Fatalf("window %d, want 8", w.Window)
	}

	// The whole window in one write: RESULT seq 1, EVENTs seq 2..8.
	var burst []byte
	add := func(m msg.Message, seq uint32) {
		b, err := msg.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		w, err := frame.Append(nil, frame.Frame{Type: m.Type(), Flags: frame.FlagFromDevice, Seq: seq, Body: b}, nil)
		if err != nil {
			t.Fatal(err)
		}
		burst = append(burst, w...)
	}
	add(&msg.Result{ID: "cmd-1", Status: msg.StatusOK}, 1)
	for seq := uint32(2); seq <= 8; seq++ {
		add(&msg.Event{ID: msg.EventID{Boot: 3, Seq: seq}, Kind: "button", Time: 1}, seq)
	}
	d.raw(burst)
	// Every frame is read, and handed to the worker, before the first
	// commit ends.
	if err := waitFor(ctx, func() bool { return g.Stats().FramesIn == 9 }); err != nil {
		t.Fatalf("frames read: %d of 9: %v", g.Stats().FramesIn, err)
	}
	close(j.gate)

	var acks []uint32
	for {
		f := d.expect(ctx, "ack 8", func(frame.Frame) bool { return true })
		if f.Type == frame.TypeAck {
			acks = append(acks, f.Ack)
		}
		if f.Ack >= 8 {
			break
		}
	}
	ends := j.commitEnds()
	if !slices.Equal(ends, []uint32{1, 8}) {
		t.Fatalf("commits ended at %v, want [1 8]: the test did not hold the events together", ends)
	}
	// One ACK per commit at most (two commits reported together share one),
	// each at the end of a commit.
	if len(acks) == 0 || len(acks) > len(ends) || acks[len(acks)-1] != 8 {
		t.Fatalf("ACK frames %v for commits ending at %v: want at most one per commit, the last acknowledging 8", acks, ends)
	}
	for i, a := range acks {
		if !slices.Contains(ends, a) || i > 0 && a <= acks[i-1] {
			t.Fatalf("ACK frames %v for commits ending at %v: %d acknowledges part of a commit", acks, ends, a)
		}
	}
	if n := len(j.Events()); n != 7 {
		t.Fatalf("%d events journaled, want 7", n)
	}
}
