package link

import (
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
}

type sample struct {
	theta, delta time.Duration
	clock        msg.ClockState
}

func (t *timeSync) start(now time.Time, caps msg.Caps) {
	t.enabled = caps&msg.CapTime != 0
	t.sent, t.best, t.adjust = 0, nil, 0
	t.nextAt = time.Time{}
	if t.enabled {
		t.nextAt = now
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
	t.info = ClockInfo{Offset: b.theta, Delay: b.delta, At: now, Device: b.clock, State: ClockSynced}
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

// clockFor says how far an arriving event's time can be trusted.
func (g *Gateway) clockFor(ev *msg.Event) ClockInfo {
	info := g.ts.info
	if ev.Clock == msg.ClockUnset || info.At.IsZero() {
		info.State = ClockUnknown
	}
	return info
}
