package link

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/officegate/officegate/firmware-bridge/msg"
)

// timeSync runs the NTP-style exchange of PROTOCOL.md §8 on the gateway:
// rounds of Samples TIME_REQs Spacing apart, keeping the sample with the
// smallest round trip, stepping the device clock when it is off by more
// than Step.
type timeSync struct {
	enabled bool
	nextAt  time.Time // next TIME_REQ or end of round; zero when idle
	id      uint32    // id of the last TIME_REQ
	first   uint32    // first id of the current round
	sent    int       // TIME_REQs sent in the current round
	best    *sample
	adjust  int64 // ms the next TIME_REQ adds to the device clock
	info    ClockInfo
	// A step in flight: the TIME_REQ that carries it was sent, and no
	// TIME_RESP said where in the device's events it fell.
	stepping bool
	stepID   uint32        // id of that TIME_REQ
	stepFrom time.Duration // θ the step corrects
	boundary stepBoundary  // where the last step fell
}

// stepBoundary says which events were recorded before the last clock step:
// those of Boot with a seq below Next, whose clock was off by Offset.
type stepBoundary struct {
	Boot   uint32
	Next   uint32
	Offset time.Duration
}

type sample struct {
	theta, delta time.Duration
	clock        msg.ClockState
}

// start begins a session's time sync. Until its first round ends, the
// device's clock is judged by the time in its HELLO, off by at most the
// HELLO's transit and lookup: good enough to flag a clock off by more than
// step among the events the device resends at once.
func (t *timeSync) start(now time.Time, caps msg.Caps, h *msg.Hello, step time.Duration) {
	t.enabled = caps&msg.CapTime != 0
	t.sent, t.best, t.adjust, t.stepping = 0, nil, 0, false
	t.nextAt = time.Time{}
	if t.boundary.Boot != h.Boot {
		t.boundary = stepBoundary{}
	}
	if !t.enabled {
		return
	}
	t.nextAt = now
	steps, from := t.info.Steps, t.info.StepOffset
	t.info = ClockInfo{State: ClockUnknown, Device: h.Clock, Steps: steps, StepOffset: from}
	if h.Time != 0 && h.Clock == msg.ClockSet {
		theta := time.Duration(int64(h.Time)-int64(unixMS(now))) * time.Millisecond
		t.info.State, t.info.Offset, t.info.At, t.info.Estimated = ClockSynced, theta, now, true
		if theta > step || theta < -step {
			t.info.State = ClockDrifted
		}
	}
}

func (g *Gateway) tickTime(now time.Time) {
	t := &g.ts
	if !g.up || !t.enabled || t.nextAt.IsZero() || now.Before(t.nextAt) {
		return
	}
	if t.sent < g.tsync.Samples {
		t.id++
		if t.sent == 0 {
			t.first = t.id
		}
		g.sendCtl(now, &msg.TimeReq{ID: t.id, T1: unixMS(now), Adjust: t.adjust})
		if t.adjust != 0 {
			t.info.State = ClockDrifted // stepped; measured again in this round
			t.stepping, t.stepID, t.stepFrom = true, t.id, -time.Duration(t.adjust)*time.Millisecond
			t.info.Steps++
			t.info.StepOffset = t.stepFrom
		}
		t.adjust = 0
		t.sent++
		t.nextAt = now.Add(g.tsync.Spacing)
		return
	}
	// The round is over.
	t.sent = 0
	b := t.best
	t.best = nil
	if b == nil {
		t.nextAt = now.Add(g.tsync.Spacing) // every sample lost or too slow: again
		return
	}
	t.info = ClockInfo{Offset: b.theta, Delay: b.delta, At: now, Device: b.clock, State: ClockSynced,
		Steps: t.info.Steps, StepOffset: t.info.StepOffset}
	if b.theta > g.tsync.Step || b.theta < -g.tsync.Step {
		t.info.State = ClockDrifted
		t.adjust = -b.theta.Milliseconds()
		t.nextAt = now // step at once, then measure again
	} else {
		t.nextAt = now.Add(g.tsync.Every)
	}
	if b.clock == msg.ClockUnset && t.adjust == 0 {
		t.info.State = ClockUnknown
	}
	g.notify()
}

func (g *Gateway) onTimeResp(now time.Time, m *msg.TimeResp) {
	t := &g.ts
	if t.stepping && m.ID >= t.stepID && m.ID <= t.id {
		// The first answer since the step: its key 6 (read after the step,
		// so an upper bound if this is a later sample) bounds the events
		// recorded with the old clock.
		t.stepping = false
		if m.Next != 0 && g.sess != nil {
			t.boundary = stepBoundary{Boot: g.sess.devBoot, Next: m.Next, Offset: t.stepFrom}
		}
	}
	if m.ID < t.first || m.ID > t.id || t.first == 0 {
		return // from an earlier round
	}
	t4 := int64(unixMS(now))
	t1, t2, t3 := int64(m.T1), int64(m.T2), int64(m.T3)
	theta := time.Duration((t2-t1)+(t3-t4)) * time.Millisecond / 2
	delta := time.Duration((t4-t1)-(t3-t2)) * time.Millisecond
	if delta < 0 {
		delta = 0
	}
	if delta > g.tsync.MaxDelay {
		return
	}
	if t.best == nil || delta < t.best.delta {
		t.best = &sample{theta: theta, delta: delta, clock: m.Clock}
	}
}

// clockFor says how far an arriving event's time can be trusted: an event
// recorded before a step carries the clock as it was then, whenever it
// arrives.
func (g *Gateway) clockFor(ev *msg.Event) ClockInfo {
	t := &g.ts
	info := t.info
	switch b := t.boundary; {
	case ev.Clock == msg.ClockUnset || info.At.IsZero():
		info.State = ClockUnknown
	case t.stepping && g.sess != nil && ev.ID.Boot == g.sess.devBoot:
		// Before or after the step in flight: no way to tell yet.
		info.State, info.Offset = ClockDrifted, t.stepFrom
	case b.Next != 0 && ev.ID.Boot == b.Boot && ev.ID.Seq < b.Next:
		info.State, info.Offset = ClockDrifted, b.Offset
	}
	return info
}

// ErrNoClock is returned by SyncClock for a device that is not connected or
// has no clock to sync (no time capability).
var ErrNoClock = errors.New("link: no device clock to sync")

// SyncClock runs a time-sync round now (PROTOCOL.md §8) rather than at the
// next interval, stepping the device clock if it is off, and returns the
// clock as measured once it is within the threshold. ctx bounds the wait.
func (g *Gateway) SyncClock(ctx context.Context) (ClockInfo, error) {
	g.mu.Lock()
	t := &g.ts
	if !g.up || !t.enabled {
		g.mu.Unlock()
		return ClockInfo{}, ErrNoClock
	}
	before := t.info.At
	if t.sent == 0 && t.adjust == 0 {
		t.nextAt = g.clock.Now() // a round in progress is as good
	}
	g.mu.Unlock()
	g.wake()
	st, err := g.Wait(ctx, func(s Status) bool {
		return s.Clock.At.After(before) && !s.Clock.Estimated && s.Clock.State != ClockDrifted
	})
	if err != nil {
		return st.Clock, fmt.Errorf("link: syncing the clock of %q: %w", st.HardwareID, err)
	}
	return st.Clock, nil
}
