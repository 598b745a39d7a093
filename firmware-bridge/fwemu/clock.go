package fwemu

import "github.com/officegate/officegate/firmware-bridge/msg"

// stepClock is the device clock as the link sees it: stepping it and reading
// the next event seq happen under the emulator's lock, which record holds
// while it reads the clock, so no event can straddle a step (PROTOCOL.md §8,
// TIME_RESP key 6).
type stepClock struct{ e *Emulator }

func (c stepClock) Now() (uint64, msg.ClockState) { return c.e.clock.Now() }

func (c stepClock) Adjust(delta int64) { c.Step(delta) }

func (c stepClock) Step(delta int64) uint32 {
	c.e.mu.Lock()
	defer c.e.mu.Unlock()
	if delta != 0 {
		c.e.clock.Adjust(delta)
	}
	return c.e.nextSeq
}
