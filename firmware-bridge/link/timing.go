package link

import (
	"fmt"
	"time"

	"github.com/officegate/officegate/firmware-bridge/frame"
)

// Timing holds the timers and sizes of PROTOCOL.md §5.4 and §6.3. The zero
// value of a field means its default for Baud. The gateway tells the device
// the heartbeat interval, the initial retransmit timeout and the window in
// WELCOME; the device's own values only apply before WELCOME (HELLO retry)
// and to what it offers (window).
type Timing struct {
	// Baud is the line rate. It sets the defaults below and lets a sender
	// start a retransmit timer when the frame has left the UART rather than
	// when it was queued (§5.4). 0 means 115200.
	Baud int
	// Heartbeat is H: a side that sent nothing for H sends a HEARTBEAT; the
	// link is down after 3 × H without a valid frame. Default
	// defaultHeartbeat: 2 s at 9600 baud and above.
	Heartbeat time.Duration
	// RTO is the initial retransmit timeout. Default defaultRTO: 500 ms
	// at 115200, 3 s at 9600.
	RTO time.Duration
	// RTOMax caps the doubling. Default defaultRTOMax: 4 s at 115200,
	// 16 s at 9600.
	RTOMax time.Duration
	// AckDelay bounds how long a delivered frame waits for a frame to carry
	// its ack before a standalone ACK goes. Default defaultAckDelay: 20 ms
	// at 115200, 100 ms at 9600.
	AckDelay time.Duration
	// BusyRetry is what this side asks a refused peer to wait. Default 1 s.
	BusyRetry time.Duration
	// HelloMin and HelloMax bound the device's HELLO retry schedule:
	// HelloMin doubling to HelloMax, ±20 % jitter. Defaults 1 s and 8 s
	// (16 s at 9600).
	HelloMin, HelloMax time.Duration
	// Window is the most unacknowledged sequenced frames per direction, 1..16.
	// Default 8 (4 at 9600).
	Window int
}

const (
	minHeartbeat = 100 * time.Millisecond
	maxHeartbeat = 60 * time.Second
	minRTO       = 10 * time.Millisecond
	maxRTO       = 60 * time.Second
	// maxBusyWait is the longest a sender waits after repeated BUSY (§5.5).
	maxBusyWait = 30 * time.Second
	// missedBeats is how many heartbeat intervals of silence mean link down
	// (§6.3): three leave room at 9600 baud for two maximal frames queued
	// ahead of a heartbeat.
	missedBeats = 3
)

// withDefaults returns t with zero fields set and checks the ranges the
// protocol allows, naming the bad value.
func (t Timing) withDefaults() (Timing, error) {
	if t.Baud == 0 {
		t.Baud = 115200
	}
	if t.Baud < 300 {
		return t, fmt.Errorf("link: baud %d too low", t.Baud)
	}
	slow := t.Baud <= 9600
	if t.Heartbeat == 0 {
		t.Heartbeat = defaultHeartbeat(t.Baud)
	}
	if t.AckDelay == 0 {
		t.AckDelay = defaultAckDelay(t.Baud)
	}
	if t.RTO == 0 {
		t.RTO = defaultRTO(t.Baud, t.AckDelay)
	}
	if t.RTOMax == 0 {
		t.RTOMax = defaultRTOMax(t.RTO)
	}
	if t.BusyRetry == 0 {
		t.BusyRetry = time.Second
	}
	if t.HelloMin == 0 {
		t.HelloMin = time.Second
	}
	if t.HelloMax == 0 {
		t.HelloMax = 8 * time.Second
		if slow {
			t.HelloMax = 16 * time.Second
		}
	}
	if t.Window == 0 {
		t.Window = 8
		if slow {
			t.Window = 4
		}
	}
	switch {
	case t.Heartbeat < minHeartbeat || t.Heartbeat > maxHeartbeat:
		return t, fmt.Errorf("link: heartbeat %v outside [%v, %v]", t.Heartbeat, minHeartbeat, maxHeartbeat)
	case t.RTO < minRTO || t.RTO > maxRTO:
		return t, fmt.Errorf("link: retransmit timeout %v outside [%v, %v]", t.RTO, minRTO, maxRTO)
	case t.RTOMax < t.RTO:
		return t, fmt.Errorf("link: retransmit cap %v below the initial timeout %v", t.RTOMax, t.RTO)
	case t.Window < 1 || t.Window > 16:
		return t, fmt.Errorf("link: window %d outside [1, 16]", t.Window)
	case t.BusyRetry <= 0 || t.BusyRetry > maxBusyWait:
		return t, fmt.Errorf("link: busy retry %v outside (0, %v]", t.BusyRetry, maxBusyWait)
	case t.HelloMin <= 0 || t.HelloMax < t.HelloMin:
		return t, fmt.Errorf("link: hello retry %v..%v is empty", t.HelloMin, t.HelloMax)
	case t.AckDelay < 0:
		return t, fmt.Errorf("link: ack delay %v is negative", t.AckDelay)
	}
	return t, nil
}

// The timer formulas of PROTOCOL.md §5.4, for any baud rate (8N1: 10 bits
// a byte). They give the table's values at 115200 and 9600 baud.
const (
	// maxFrameBits is the longest frame on the wire: 1029 encoded bytes
	// and the delimiter (§2.4).
	maxFrameBits = (frame.MaxWireLen) * 10
	// ackFrameBits is a standalone ACK on the wire: 17 bytes decoded, one
	// COBS code byte, the delimiter.
	ackFrameBits = (frame.MinLen + 2) * 10
	// timeExchangeBits is a TIME_REQ and its TIME_RESP on the wire, about
	// 100 bytes together.
	timeExchangeBits = 100 * 10
	// ackDelayBits is one typical EVENT frame (96 bytes with its framing):
	// waiting that long lets one ACK cover the next frame of a burst.
	ackDelayBits = 96 * 10
	// commitBudget is the gateway's group commit and an SD card's slow
	// fsync (100–200 ms), before an event can be acknowledged.
	commitBudget = 250 * time.Millisecond
	// rtoStep: the initial timeout is rounded up to a multiple of it; a
	// safety net needs no finer tuning.
	rtoStep = 500 * time.Millisecond
	// rtoCapMax bounds the doubling unless the initial timeout is longer.
	rtoCapMax = 16 * time.Second
)

// bitsTime is how long n bits take at baud, rounded up to a nanosecond.
func bitsTime(n, baud int) time.Duration {
	return time.Duration((int64(n)*int64(time.Second) + int64(baud) - 1) / int64(baud))
}

// defaultHeartbeat is §6.3's H at baud: 2 s, or the longest frame's time
// rounded up to 100 ms if that is longer (below 9600 baud), so that three
// missed beats always leave room for two maximal frames queued ahead of a
// heartbeat.
func defaultHeartbeat(baud int) time.Duration {
	const step = 100 * time.Millisecond
	return max(2*time.Second, (bitsTime(maxFrameBits, baud)+step-1)/step*step)
}

// defaultSampleLimit is §8's limit on a time sample's round trip δ at
// baud: 200 ms, 1 s at 9600 baud and below, and never less than twice the
// wire time of a TIME_REQ and its TIME_RESP (100 bytes), rounded up to
// 100 ms.
func defaultSampleLimit(baud int) time.Duration {
	const step = 100 * time.Millisecond
	d := 200 * time.Millisecond
	if baud <= 9600 {
		d = time.Second
	}
	return max(d, (2*bitsTime(timeExchangeBits, baud)+step-1)/step*step)
}

// defaultAckDelay is §5.4's ack delay at baud: the time of 96 bytes, at
// least 20 ms, rounded up to a whole millisecond.
func defaultAckDelay(baud int) time.Duration {
	d := max(20*time.Millisecond, bitsTime(ackDelayBits, baud))
	return (d + time.Millisecond - 1) / time.Millisecond * time.Millisecond
}

// defaultRTO is §5.4's initial retransmit timeout at baud: the longest
// round trip of a frame's acknowledgement — the ACK may wait behind two
// maximal frames the peer is sending (one on the wire, one in its
// transmit buffer), then takes its own wire time — plus the commit budget
// and the ack delay, rounded up to a multiple of 500 ms.
func defaultRTO(baud int, ackDelay time.Duration) time.Duration {
	d := 2*bitsTime(maxFrameBits, baud) + bitsTime(ackFrameBits, baud) + commitBudget + ackDelay
	return (d + rtoStep - 1) / rtoStep * rtoStep
}

// defaultRTOMax is §5.4's cap on the doubling: 8 × the initial timeout,
// at most 16 s unless the initial timeout itself is longer.
func defaultRTOMax(rto time.Duration) time.Duration {
	return min(8*rto, max(rtoCapMax, rto))
}

// wireTime is how long n bytes take on the line: 10 bit times each (8N1).
func (t *Timing) wireTime(n int64) time.Duration {
	return time.Duration(n * 10 * int64(time.Second) / int64(t.Baud))
}
