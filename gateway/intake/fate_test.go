package intake

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/gateway/journal"
)

// TestCommitFateDespiteUnplug: a link whose context is cancelled (the device
// was unplugged) while its events wait in a journal commit learns that they
// were committed, and its high-water mark covers them, so the device's resend
// after the re-plug is dropped as a duplicate instead of being journaled a
// second time with a later received.
func TestCommitFateDespiteUnplug(t *testing.T) {
	dir := t.TempDir()
	var (
		mu   sync.Mutex
		gate chan struct{}
	)
	hold := func(on bool) {
		mu.Lock()
		defer mu.Unlock()
		if on {
			gate = make(chan struct{})
		} else if gate != nil {
			close(gate)
			gate = nil
		}
	}
	jo := &journal.Options{Streams: streams(), OnSync: func(time.Duration, int, int) {
		mu.Lock()
		g := gate
		mu.Unlock()
		if g != nil {
			<-g // the committer is held after a commit, as behind a slow disk
		}
	}}
	j, err := journal.Open(filepath.Join(dir, "journal"), jo)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { hold(false); j.Close() }()
	in, err := New(j, dir, Options{Gateway: "gw-1"})
	if err != nil {
		t.Fatal(err)
	}
	punch := func(seq uint32) link.Record {
		return link.Record{Kind: link.RecordEvent, HardwareID: "HW-U", DeviceKind: msg.KindAttendance, DeviceID: "t-u", Received: time.Now(),
			Event: &msg.Event{ID: msg.EventID{Boot: 5, Seq: seq}, Kind: "punch", Time: uint64(time.Now().UnixMilli()),
				Clock: msg.ClockSet, Data: map[string]any{"user": "7", "verify": "card", "state": uint64(0)}}}
	}
	bg := context.Background()
	if err := in.Commit(bg, punch(1)); err != nil {
		t.Fatal(err)
	}

	// Another device's commit holds the committer; this device's batch
	// joins the next commit, and then its cable is pulled.
	hold(true)
	other := make(chan error, 1)
	go func() { _, err := j.Append(bg, StreamDiagnostic, []byte("other device")); other <- err }()
	waitFor(t, "the other commit is held", func() bool { return j.Stats().Commits == 2 })
	held := j.Stats().Pending
	ctx, unplug := context.WithCancel(bg)
	done := make(chan error, 1)
	go func() { done <- in.CommitBatch(ctx, []link.Record{punch(2), punch(3)}) }()
	waitFor(t, "the batch is in the next commit", func() bool { return j.Stats().Pending > held })
	unplug()
	hold(false)
	if err := <-other; err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("CommitBatch after the unplug: %v; the batch was committed, so the device would send it again", err)
	}
	if m, _ := in.Mark(bg, "HW-U"); m.HighWater != (msg.EventID{Boot: 5, Seq: 3}) {
		t.Fatalf("mark %+v after the batch: the resend would be journaled again", m.HighWater)
	}
	if evs := readEvents(t, j, StreamRecords, 3); evs[1].Seq != 2 || evs[2].Seq != 3 {
		t.Fatalf("journaled seqs %d, %d", evs[1].Seq, evs[2].Seq)
	}
	if n := eventRecords(j); n != 4 {
		t.Fatalf("%d records, want 3 punches and the other device's", n)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.After(20 * time.Second)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}
