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
	// The device clock as it is now has not been measured yet: the session
	// is new, or a step was sent. Until it is (or holdUntil passes), the
	// device's sequenced frames wait in Gateway.held, so that every event
	// is judged by a measurement, not by a guess.
	unmeasured bool
	holdUntil  time.Time
	// again: SyncClock asked for a measurement while a round was going;
	// the round's later samples update the clock only when better than its
	// best, so a new round starts as soon as this one ends.
	again bool
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

// start begins a session's time sync. The clock is unknown until the
// first exchange of the session answers: the HELLO's own time (key 17) is
// not used, because it is one-way and a HELLO can wait in the line's
// buffer for seconds (a gateway that starts after the device has been
// calling) — which would make a correct clock look seconds behind.
// Events arriving before that first answer are held for it (holding).
func (t *timeSync) start(now time.Time, caps msg.Caps, h *msg.Hello, ts TimeSync) {
	t.enabled = caps&msg.CapTime != 0
	t.sent, t.best, t.adjust, t.stepping, t.unmeasured, t.again = 0, nil, 0, false, false, false
	t.nextAt = time.Time{}
	if t.boundary.Boot != h.Boot {
		t.boundary = stepBoundary{}
	}
	steps, from := t.info.Steps, t.info.StepOffset
	t.info = ClockInfo{State: ClockUnknown, Device: h.Clock, Steps: steps, StepOffset: from}
	if !t.enabled {
		return
	}
	t.nextAt = now
	t.await(now, ts)
}

// await marks the device clock unmeasured from now until a TIME_RESP
// measures it, for at most one round: a device whose answers never come
// (or all come too late) is not held back longer.
func (t *timeSync) await(now time.Time, ts TimeSync) {
	t.unmeasured = true
	t.holdUntil = now.Add(time.Duration(ts.Samples)*ts.Spacing + ts.MaxDelay)
}

// holding reports whether the device's sequenced frames must wait for a
// measurement of its clock (§8): the first of the session, or the one that
// tells where a step fell and what the stepped clock reads.
func (t *timeSync) holding(now time.Time) bool {
	return t.enabled && (t.unmeasured || t.stepping) && now.Before(t.holdUntil)
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
			t.await(now, g.tsync)
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
	// t.info already holds the best sample (onTimeResp).
	if b.theta > g.tsync.Step || b.theta < -g.tsync.Step {
		t.adjust = -b.theta.Milliseconds()
		t.nextAt = now // step at once, then measure again
	} else if t.again {
		t.nextAt = now // a sync was asked for during this round
	} else {
		t.nextAt = now.Add(g.tsync.Every)
	}
	t.again = false
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
		// Each sample is a measurement (within δ/2, at most 100 ms):
		// events are judged by the best one so far rather than waiting
		// for the round to end.
		t.info = ClockInfo{Offset: theta, Delay: delta, At: now, Device: m.Clock, State: ClockSynced,
			Steps: t.info.Steps, StepOffset: t.info.StepOffset}
		switch {
		case m.Clock == msg.ClockUnset:
			t.info.State = ClockUnknown
		case theta > g.tsync.Step || theta < -g.tsync.Step:
			t.info.State = ClockDrifted
		}
		t.unmeasured = false
		g.notify()
	}
}

// clockFor says how far an arriving event's time can be trusted: an event
// recorded before a step carries the clock as it was then, whenever it
// arrives. It is asked when the event is handed to the worker, after any
// hold for a measurement (holding), so the stepping case below is only
// reached when that measurement did not come in time.
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
		t.nextAt = g.clock.Now()
	} else {
		// A round is going: its samples from now on count, but one
		// updates the clock only if better than the round's best, so
		// have another round follow it.
		t.again = true
	}
	g.mu.Unlock()
	g.wake()
	st, err := g.Wait(ctx, func(s Status) bool {
		return s.Clock.At.After(before) && s.Clock.State != ClockDrifted
	})
	if err != nil {
		return st.Clock, fmt.Errorf("link: syncing the clock of %q: %w", st.HardwareID, err)
	}
	return st.Clock, nil
}
