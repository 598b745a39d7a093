package link

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/officegate/officegate/firmware-bridge/frame"
)

// idleCore is one side of an established, idle session whose last frame
// went at lastTx, with H = hb; what it sends is queued on its port.
func idleCore(fromDevice bool, hb time.Duration, lastTx time.Time) *core {
	return &core{
		fromDevice: fromDevice, up: true, hb: hb, lastTx: lastTx, lastRx: lastTx,
		// No writer: the test takes the frames from the queue itself.
		p: &port{out: make(chan []byte, outDepth), stopped: true},
	}
}

// heartbeats runs c's timers from its last frame until end, each time at the
// moment it asks to be woken (as the session loop does), and returns when
// it sent a HEARTBEAT. The peer is taken to talk as often as it must, so the
// link never goes down.
func heartbeats(t *testing.T, c *core, end time.Time) []time.Time {
	t.Helper()
	var sent []time.Time
	for {
		at := c.deadline()
		if at.IsZero() || at.After(end) {
			return sent
		}
		c.lastRx = at // the peer's own heartbeats
		c.tick(at)
		for more := true; more; {
			select {
			case b := <-c.p.out:
				f, err := frame.Decode(b[:len(b)-1])
				if err != nil || f.Type != frame.TypeHeartbeat {
					t.Fatalf("at %v sent %x (%v, %v); want a HEARTBEAT", at, b, f.Type, err)
				}
				sent = append(sent, at)
			default:
				more = false
			}
		}
		if !c.lastTx.Equal(at) {
			t.Fatalf("woken at %v with nothing to send (last frame %v)", at, c.lastTx)
		}
	}
}

// TestGatewayHeartbeatsShareInstants: PROTOCOL.md §6.3 wants a frame from
// each side at least every H. An idle gateway with 64 links whose last
// frames went at 64 different moments keeps that for each link, and sends
// all their heartbeats at no more than 8 distinct instants per H (rounded
// down onto steps of H/8 shared by the links), so that it wakes a few times
// per H rather than once per link. A device keeps its own exact schedule.
func TestGatewayHeartbeatsShareInstants(t *testing.T) {
	const hb = 2 * time.Second
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(int64(hb))))
	end := start.Add(20 * hb)
	instants := map[time.Time]bool{}
	for link := range 64 {
		last := start.Add(time.Duration(rng.Int64N(int64(hb))))
		sent := heartbeats(t, idleCore(false, hb, last), end)
		if len(sent) < 18 {
			t.Fatalf("link %d: %d heartbeats in %v; want one at least every %v", link, len(sent), end.Sub(last), hb)
		}
		prev := last
		for i, at := range sent {
			if gap := at.Sub(prev); gap > hb || gap <= 0 {
				t.Fatalf("link %d: heartbeat %d at %v, %v after the last frame; want (0, %v]", link, i, at, gap, hb)
			}
			if i > 0 && at.Sub(prev) != hb {
				t.Errorf("link %d: heartbeats %v apart once on the steps; want every %v", link, at.Sub(prev), hb)
			}
			if i == 0 && at.Sub(prev) <= hb-hb/heartbeatGrid {
				t.Errorf("link %d: first heartbeat %v after the last frame; want at most %v early", link, at.Sub(prev), hb/heartbeatGrid)
			}
			instants[at] = true
			prev = at
		}
	}
	if perH := float64(len(instants)) / (float64(end.Sub(start)) / float64(hb)); perH > heartbeatGrid {
		t.Errorf("64 links' heartbeats at %d instants over %v: %.1f per H; want at most %d", len(instants), end.Sub(start), perH, heartbeatGrid)
	}

	// A device's heartbeat goes exactly H after its last frame: real devices
	// share no clock, and the gateway must not count on them in step.
	last := start.Add(123456789)
	sent := heartbeats(t, idleCore(true, hb, last), last.Add(3*hb))
	if len(sent) != 3 || !sent[0].Equal(last.Add(hb)) || !sent[2].Equal(last.Add(3*hb)) {
		t.Errorf("device heartbeats at %v after a frame at %v; want every %v exactly", sent, last, hb)
	}
}
