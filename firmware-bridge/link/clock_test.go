package link_test

import (
	"context"
	"testing"
	"time"

	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/link/linktest"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/internal/testkit"
)

// TestClockStepBoundary: a terminal whose battery-backed clock is 5 minutes
// behind records punches while the line is down. When it connects, the
// gateway steps its clock; every punch recorded before the step is reported
// drifted with the offset it had — also those that arrive after the step —
// and every punch recorded after it is synced.
func TestClockStepBoundary(t *testing.T) {
	// Arriving during the first round, the punches are judged by the
	// HELLO's time; held back by a slow journal until the step is done,
	// by TIME_RESP key 6.
	t.Run("arriving before the step", func(t *testing.T) { testClockStep(t, false) })
	t.Run("arriving after the step", func(t *testing.T) { testClockStep(t, true) })
}

// heldSink holds every commit until release is closed.
type heldSink struct {
	j       *linktest.Journal
	release chan struct{}
}

func (h heldSink) Commit(ctx context.Context, rec link.Record) error {
	select {
	case <-h.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return h.j.Commit(ctx, rec)
}

func testClockStep(t *testing.T, hold bool) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 30*time.Second)
	const skew = -5 * time.Minute
	j := new(linktest.Journal)
	release := make(chan struct{})
	if !hold {
		close(release)
	}
	g := newGateway(t, j, func(c *link.GatewayConfig) { c.Sink = heldSink{j, release} })
	o := emuOpts(t, t.TempDir())
	o.RTC, o.ClockSkew = true, skew
	e := newEmu(t, o)
	before, err := e.EmitN(40)
	if err != nil {
		t.Fatal(err)
	}
	l := newLine(t)
	port := openGateway(t, l)
	run(t, func(ctx context.Context) error { return g.Run(ctx, port) })
	run(t, func(ctx context.Context) error { return e.Run(ctx, l.dev) })

	st, err := g.Wait(ctx, func(s link.Status) bool { return s.Clock.Steps >= 1 && s.Clock.State == link.ClockSynced })
	if err != nil {
		t.Fatalf("no step: %v", err)
	}
	if d := st.Clock.StepOffset - skew; d < -time.Second || d > time.Second {
		t.Fatalf("step corrected %v, want about %v", st.Clock.StepOffset, skew)
	}
	if hold {
		if n := linktest.CountEvents(j.Records()); n != 0 {
			t.Fatalf("%d events committed while the sink was held", n)
		}
		close(release)
	}
	after, err := e.EmitN(10)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.WaitFor(ctx, func(r []link.Record) bool { return linktest.CountEvents(r) >= 50 }); err != nil {
		t.Fatal(err)
	}
	clocks := map[msg.EventID]link.ClockInfo{}
	for _, r := range j.Records() {
		if r.Kind == link.RecordEvent {
			clocks[r.Event.ID] = r.Clock
		}
	}
	for _, id := range before {
		c := clocks[id]
		if c.State != link.ClockDrifted {
			t.Errorf("event %v recorded before the step: clock %v, want drifted", id, c.State)
		}
		if d := c.Offset - skew; d < -time.Second || d > time.Second {
			t.Errorf("event %v: offset %v, want about %v", id, c.Offset, skew)
		}
	}
	for _, id := range after {
		if c := clocks[id]; c.State != link.ClockSynced {
			t.Errorf("event %v recorded after the step: clock %v (offset %v), want synced", id, c.State, c.Offset)
		}
	}
	if st := g.Status(); st.Clock.Steps != 1 {
		t.Errorf("%d steps, want 1", st.Clock.Steps)
	}
}

// TestClockStaleHello: a terminal with a correct battery-backed clock has
// been calling a gateway that was not reading the port, and has 100
// punches stored. The first HELLO the gateway reads waited 3 s in the
// line's buffer. Its time (key 17) is not a measurement — every punch of
// the backlog must be judged by a TIME exchange: synced, offset near 0
// (the HELLO's one-way time made it −3 s and every punch drifted).
func TestClockStaleHello(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 30*time.Second)
	j := new(linktest.Journal)
	// A round as long as the default: the HELLO's guess used to stand
	// until it ended.
	g := newGateway(t, j, func(c *link.GatewayConfig) {
		c.TimeSync = link.TimeSync{Samples: 3, Spacing: 2 * time.Second, MaxDelay: 200 * time.Millisecond}
	})
	o := emuOpts(t, t.TempDir())
	o.RTC = true
	e := newEmu(t, o)
	backlog, err := e.EmitN(100)
	if err != nil {
		t.Fatal(err)
	}
	l := newLine(t)
	// The HELLO the device sent 3 s ago, still in the buffer.
	h := msg.Hello{HardwareID: o.HardwareID, Model: "OG-EMU-1", Kind: o.Kind, Firmware: "1.0.0", Boot: e.Boot(),
		Caps: msg.CapEvents | msg.CapCommands | msg.CapTime | msg.CapRTC, ProtoMin: 1, ProtoMax: 1, MTU: 1024, Window: 8,
		Time: uint64(time.Now().Add(-3 * time.Second).UnixMilli()), Clock: msg.ClockSet}
	body, err := msg.Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	stale, err := frame.Append([]byte{0}, frame.Frame{Type: frame.TypeHello, Flags: frame.FlagFromDevice, Body: body}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.dev.Write(stale); err != nil {
		t.Fatal(err)
	}
	port := openGateway(t, l)
	run(t, func(ctx context.Context) error { return g.Run(ctx, port) })
	run(t, func(ctx context.Context) error { return e.Run(ctx, l.dev) })

	if err := j.WaitFor(ctx, func(r []link.Record) bool { return linktest.CountEvents(r) >= len(backlog) }); err != nil {
		t.Fatal(err)
	}
	for _, r := range j.Records() {
		if r.Kind != link.RecordEvent {
			continue
		}
		if r.Clock.State != link.ClockSynced || r.Clock.Offset < -200*time.Millisecond || r.Clock.Offset > 200*time.Millisecond {
			t.Errorf("event %v: clock %v, offset %v; want synced, near 0", r.Event.ID, r.Clock.State, r.Clock.Offset)
		}
	}
}

// TestClockSetFromWelcome: a panel without a battery-backed clock sets its
// clock from WELCOME (§8). Punches recorded after that carry a set clock
// and are synced at once — not unknown until the first round of samples
// ends (it used to take the whole round, 6 s by default).
func TestClockSetFromWelcome(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 30*time.Second)
	j := new(linktest.Journal)
	g := newGateway(t, j, func(c *link.GatewayConfig) {
		c.TimeSync = link.TimeSync{Samples: 3, Spacing: 2 * time.Second, MaxDelay: 200 * time.Millisecond}
	})
	o := emuOpts(t, t.TempDir())
	o.RTC = false
	e := newEmu(t, o)
	unset, err := e.EmitN(5) // recorded before the clock was set
	if err != nil {
		t.Fatal(err)
	}
	l := newLine(t)
	port := openGateway(t, l)
	run(t, func(ctx context.Context) error { return g.Run(ctx, port) })
	run(t, func(ctx context.Context) error { return e.Run(ctx, l.dev) })
	if err := e.Link().WaitEstablished(ctx); err != nil {
		t.Fatal(err)
	}
	set, err := e.EmitN(10)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.WaitFor(ctx, func(r []link.Record) bool { return linktest.CountEvents(r) >= 15 }); err != nil {
		t.Fatal(err)
	}
	clocks := map[msg.EventID]link.ClockInfo{}
	for _, r := range j.Records() {
		if r.Kind == link.RecordEvent {
			clocks[r.Event.ID] = r.Clock
		}
	}
	for _, id := range unset {
		if c := clocks[id]; c.State != link.ClockUnknown {
			t.Errorf("event %v recorded with the clock unset: %v, want unknown", id, c.State)
		}
	}
	for _, id := range set {
		if c := clocks[id]; c.State != link.ClockSynced {
			t.Errorf("event %v recorded after WELCOME set the clock: %v (offset %v), want synced", id, c.State, c.Offset)
		}
	}
}

// TestSyncClockTwice: a second clock sync asked for right after a first
// gets a measurement of its own. The first returns on the round's first
// good sample, with the round still going; the second used to wait for a
// sample better than the best, and when none came, for the next round (10
// minutes by default), so a second "time.set" went unanswered.
func TestSyncClockTwice(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 60*time.Second)
	j := new(linktest.Journal)
	g := newGateway(t, j, func(c *link.GatewayConfig) {
		c.TimeSync = link.TimeSync{Every: time.Hour, Samples: 3, Spacing: 300 * time.Millisecond, MaxDelay: 200 * time.Millisecond}
	})
	o := emuOpts(t, t.TempDir())
	o.RTC = true
	e := newEmu(t, o)
	l := newLine(t)
	port := openGateway(t, l)
	run(t, func(ctx context.Context) error { return g.Run(ctx, port) })
	run(t, func(ctx context.Context) error { return e.Run(ctx, l.dev) })
	if _, err := g.Wait(ctx, func(s link.Status) bool { return s.Online && s.Clock.State == link.ClockSynced }); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		// Each well within the hour to the next scheduled round.
		sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		before := g.Status().Clock.At
		info, err := g.SyncClock(sctx)
		cancel()
		if err != nil {
			t.Fatalf("sync %d: %v", i+1, err)
		}
		if !info.At.After(before) || info.State != link.ClockSynced {
			t.Fatalf("sync %d: clock measured at %v (before the call: %v), state %v", i+1, info.At, before, info.State)
		}
	}
}
