package link_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/officegate/officegate/firmware-bridge/fwemu"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/link/linktest"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/internal/testkit"
)

// TestFwemuProcessKilled runs the fwemu command as a process on a PTY,
// generating events at 2000/s, and kills it with SIGKILL mid-stream four
// times. At the end the device's flash is drained by one more boot, and
// the journal holds, for every boot, the events 1..n exactly once, in
// order: nothing recorded durably was lost, nothing doubled.
//
// At 2000/s a slow machine fills the flash (10000 records): the device then
// drops new events, counts them (Lost) and the next stored one leaves a gap
// in its boot's numbers (PROTOCOL.md §6.4). Those events were never
// recorded, so the journal may miss them, but only as gap records
// (Record.Missing) and never more than the device says it dropped.
func TestFwemuProcessKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the fwemu command")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command to build fwemu: %v", err)
	}
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 50*time.Second)
	dir := t.TempDir()
	bin := filepath.Join(dir, "fwemu")
	if out, err := exec.Command(gobin, "build", "-o", bin, "../cmd/fwemu").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	m, s, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	gwEnd := pollable(t, m) // the gateway takes any io.ReadWriter
	slave := s.Name()
	t.Cleanup(func() { gwEnd.Close(); s.Close() })
	j := new(linktest.Journal)
	g := newGateway(t, j, func(c *link.GatewayConfig) { c.Timing = link.Timing{} }) // the command's timers are the defaults
	run(t, func(ctx context.Context) error { return g.Run(ctx, gwEnd) })
	state := filepath.Join(dir, "flash")
	for round := 0; round < 4; round++ {
		cmd := exec.Command(bin, "-port", slave, "-state", state, "-rate", "2000", "-hwid", "PROC-1", "-seed", strconv.Itoa(round))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		target := linktest.CountEvents(j.Records()) + 300
		waitEvents(t, ctx, j, target)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	// Drain what the last boots left in flash with an in-process boot.
	e := newEmu(t, fwemu.Options{StatePath: state, HardwareID: "PROC-1"})
	f, err := fwemu.OpenTTY(slave)
	if err != nil {
		t.Fatal(err)
	}
	stopE, _ := run(t, func(ctx context.Context) error { return e.Run(ctx, f) })
	if err := waitFor(ctx, func() bool { return e.Held() == 0 }); err != nil {
		t.Fatalf("flash still holds %d records: %v", e.Held(), err)
	}
	// The last acks reach the journal before the device deletes: the
	// journal is complete now.
	stopE()
	dropped := e.Lost() // every boot's drops, from the flash
	evs := j.Events()
	checkOrder(t, evs)
	next := map[uint32]uint32{}
	missing := uint64(0)
	for _, rec := range j.Records() {
		if rec.Kind != link.RecordEvent {
			continue
		}
		id := rec.Event.ID
		prev, seen := next[id.Boot]
		if gap := id.Seq - prev - 1; gap > 0 {
			// The gateway sees a gap only after an event of the same boot.
			if seen && rec.Missing != gap {
				t.Fatalf("boot %d: event %d after %d journaled with Missing %d: a gap not journaled as one", id.Boot, id.Seq, prev, rec.Missing)
			}
			missing += uint64(gap)
		} else if rec.Missing != 0 {
			t.Fatalf("boot %d: event %d after %d journaled with Missing %d: a false gap", id.Boot, id.Seq, prev, rec.Missing)
		}
		next[id.Boot] = id.Seq
	}
	if missing > dropped {
		t.Fatalf("the journal misses %d events, the device dropped %d when its flash was full: lost records", missing, dropped)
	}
	if len(next) < 4 {
		t.Fatalf("events from %d boots, want 4", len(next))
	}
	t.Logf("%d events from boots %v; %d dropped by the full flash, %d of them inside a boot", len(evs), next, dropped, missing)
	_ = msg.EventID{}
}
