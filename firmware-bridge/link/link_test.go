package link_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/link/linktest"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/internal/testkit"
)

// TestExchange runs thousands of events up and commands down at the same
// time between the gateway link (on the PTY's slave through
// devices/serialport) and the emulated firmware (on its master): every
// event arrives once and in order, every command gets exactly one result,
// and the journal holds each result once.
func TestExchange(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 40*time.Second)
	j := new(linktest.Journal)
	g := newGateway(t, j, nil)
	e := newEmu(t, emuOpts(t, t.TempDir()))
	l := newLine(t)
	port := openGateway(t, l)
	run(t, func(ctx context.Context) error { return g.Run(ctx, port) })
	run(t, func(ctx context.Context) error { return e.Run(ctx, l.dev) })

	const nEvents, nCmds = 3000, 400
	var want []msg.EventID
	var wg sync.WaitGroup
	results := make([]msg.Result, nCmds)
	errs := make([]error, nCmds)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < nCmds; i += 4 {
				results[i], errs[i] = g.Send(ctx, ping(i))
			}
		}()
	}
	for len(want) < nEvents {
		ids, err := e.EmitN(100)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, ids...)
	}
	wg.Wait()
	if err := j.WaitFor(ctx, func(r []link.Record) bool { return linktest.CountEvents(r) >= nEvents }); err != nil {
		t.Fatal(err)
	}
	checkEvents(t, j.Events(), want)
	for i, r := range results {
		if errs[i] != nil || r.Status != msg.StatusOK || r.ID != ping(i).ID {
			t.Fatalf("command %d: %+v, %v", i, r, errs[i])
		}
		echo, _ := r.Data["echo"].(map[string]any)
		if echo["n"] != uint64(i) {
			t.Fatalf("command %d echoed %v", i, r.Data)
		}
	}
	seen := map[string]bool{}
	for _, r := range j.Results() {
		if seen[r.Result.ID] {
			t.Fatalf("result %s committed twice", r.Result.ID)
		}
		seen[r.Result.ID] = true
	}
	if len(seen) != nCmds {
		t.Fatalf("%d results committed, want %d", len(seen), nCmds)
	}
	// A repeated Send of an answered id returns the answer, sends nothing.
	r, err := g.Send(ctx, ping(5))
	if err != nil || r.Status != msg.StatusOK || len(j.Results()) != nCmds {
		t.Fatalf("repeated send: %+v %v, %d results", r, err, len(j.Results()))
	}
	// Under load (-race on 2 busy cores) the link may be between a missed
	// heartbeat and its resume right now: wait for it to be up, not a snapshot.
	st, err := g.Wait(ctx, func(s link.Status) bool { return s.Online })
	if err != nil {
		t.Fatalf("link not back online: %v (status %+v)", err, g.Status())
	}
	if st.HardwareID != "TERM-0001" || st.Boot != e.Boot() {
		t.Fatalf("status %+v", st)
	}
	if _, err := g.Wait(ctx, func(s link.Status) bool { return s.Clock.State == link.ClockSynced }); err != nil {
		t.Fatalf("time sync: %v", err)
	}
	t.Logf("gateway stats %+v", g.Stats())
	_ = errors.New
}
