package commands

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/uplink"
)

// twoDoors is a router with a stuck door (its commands wait on release) and
// a free one, and gateway commands.
type twoDoors struct {
	release chan struct{}
	mu      sync.Mutex
	ran     []string // ids in execution order, stuck door included when it starts
}

func (d *twoDoors) Check(dev, _ string) error {
	if dev != "" && dev != "stuck" && dev != "free" {
		return ErrUnknownDevice
	}
	return nil
}

func (d *twoDoors) Execute(ctx context.Context, req Request) Outcome {
	d.mu.Lock()
	d.ran = append(d.ran, req.ID)
	d.mu.Unlock()
	if req.Device == "stuck" {
		select {
		case <-d.release:
		case <-ctx.Done():
			return Outcome{Status: envelope.StatusError, Error: ctx.Err().Error()}
		}
	}
	return Outcome{Status: envelope.StatusOK}
}

func (d *twoDoors) executed() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.ran...)
}

// TestFloodDelaysOnlyItsOwnLane: 10 000 commands for one stuck device do not
// delay a command for another device, nor a gateway command: both are
// executed and answered while the stuck device's first command still runs
// (causality, not timing). The flood costs a bounded number of journal
// commits: the dispatcher does not wait for a commit per command (it did,
// which made a ping wait 109 s behind 10 000 commands). The stuck device's
// lane holds QueuePerDev commands in order; the rest are answered busy, once
// each, without executing.
func TestFloodDelaysOnlyItsOwnLane(t *testing.T) {
	var commits atomic.Int64
	j, err := journal.Open(t.TempDir(), &journal.Options{
		Streams: []journal.Stream{Stream}, SyncWindow: time.Millisecond,
		OnSync: func(time.Duration, int, int) { commits.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	d := &twoDoors{release: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	p, err := New(ctx, j, d, Options{Gateway: "gw", QueuePerDev: 16})
	if err != nil {
		t.Fatal(err)
	}
	in := make(chan uplink.Inbound)
	done := make(chan struct{})
	go func() { p.Run(ctx, in); close(done) }()
	defer func() { cancel(); <-done }()
	r, _ := j.Reader(Stream.Name)
	defer r.Close()

	send := func(dev, id string) {
		topic := "officegate/gw/devices/" + dev + "/commands/door.pulse"
		if dev == "" {
			topic = "officegate/gw/commands/devices.list"
		}
		in <- uplink.Inbound{Device: dev, Name: "door.pulse", Topic: topic, Payload: []byte(`{"id":"` + id + `"}`)}
	}
	const flood = 10000
	send("stuck", "s-0")
	waitFor(t, func() bool { return len(d.executed()) == 1 }) // s-0 is executing, and stays so
	before := commits.Load()
	for i := 1; i < flood; i++ {
		send("stuck", fmt.Sprint("s-", i))
	}
	send("free", "ping")
	send("", "gw-ping")

	status := map[string]string{}
	var order []string
	next := func() {
		t.Helper()
		rctx, rcancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer rcancel()
		rec, err := r.Next(rctx)
		if err != nil {
			t.Fatalf("waiting for results (%d so far): %v", len(status), err)
		}
		r.Ack(rec.Seq)
		ob, _ := envelope.DecodeOutbound(rec.Body)
		if ob == nil || ob.Result == nil {
			return
		}
		if _, dup := status[ob.Result.ID]; dup {
			t.Fatalf("%s answered twice", ob.Result.ID)
		}
		status[ob.Result.ID] = ob.Result.Status
		order = append(order, ob.Result.ID)
	}
	for status["ping"] == "" || status["gw-ping"] == "" {
		next()
	}
	pingCommits := commits.Load() - before
	if status["ping"] != "ok" || status["gw-ping"] != "ok" {
		t.Fatalf("ping %s, gateway ping %s", status["ping"], status["gw-ping"])
	}
	if ran := d.executed(); len(ran) != 3 || ran[0] != "s-0" {
		t.Fatalf("executed %v while s-0 is stuck, want s-0, ping, gw-ping", ran)
	}
	// Every busy answer arrives; the lane's 16 are not answered yet.
	for len(status) < flood-1-16+2 {
		next()
	}
	for i := 1; i < flood; i++ {
		id := fmt.Sprint("s-", i)
		want := "busy"
		if i <= 16 {
			want = ""
		}
		if status[id] != want {
			t.Fatalf("%s: status %q, want %q", id, status[id], want)
		}
	}
	close(d.release)
	for len(status) < flood+2 {
		next()
	}
	ran := d.executed()
	if len(ran) != 3+16 {
		t.Fatalf("executed %d commands, want 19", len(ran))
	}
	for i, id := range ran[3:] {
		if want := fmt.Sprint("s-", i+1); id != want {
			t.Fatalf("stuck lane ran %s in place %d, want %s (arrival order)", id, i+1, want)
		}
	}
	// One commit per command would be 10 000 and more before the ping.
	if pingCommits > flood/10 {
		t.Fatalf("%d journal commits before the ping was answered, for %d commands", pingCommits, flood)
	}
	t.Logf("%d commits before the ping's result; %d in all", pingCommits, commits.Load()-before)
}

// TestRefusalsWithSmallCommits: a journal whose commits are smaller than the
// answerer's batch still gets every refusal, in halves.
func TestRefusalsWithSmallCommits(t *testing.T) {
	j, err := journal.Open(t.TempDir(), &journal.Options{Streams: []journal.Stream{Stream}, SyncWindow: time.Millisecond,
		MaxRecordSize: 1024, MaxBatchBytes: 2048, SegmentSize: 64 << 10, MaxBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx, cancel := context.WithCancel(context.Background())
	p, err := New(ctx, j, &twoDoors{}, Options{Gateway: "gw"})
	if err != nil {
		t.Fatal(err)
	}
	in := make(chan uplink.Inbound)
	done := make(chan struct{})
	go func() { p.Run(ctx, in); close(done) }()
	defer func() { cancel(); <-done }()
	r, _ := j.Reader(Stream.Name)
	defer r.Close()
	const n = 300
	for i := range n {
		in <- uplink.Inbound{Device: "ghost", Name: "door.pulse", Topic: "officegate/gw/devices/ghost/commands/door.pulse",
			Payload: []byte(fmt.Sprintf(`{"id":"g-%d"}`, i))}
	}
	got := map[string]bool{}
	rctx, rcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer rcancel()
	for len(got) < n {
		rec, err := r.Next(rctx)
		if err != nil {
			t.Fatalf("%d of %d refusals journaled: %v", len(got), n, err)
		}
		r.Ack(rec.Seq)
		if ob, _ := envelope.DecodeOutbound(rec.Body); ob != nil && ob.Result != nil {
			if ob.Result.Status != envelope.StatusError || got[ob.Result.ID] {
				t.Fatalf("result %+v (repeat %v)", ob.Result, got[ob.Result.ID])
			}
			got[ob.Result.ID] = true
		}
	}
}
