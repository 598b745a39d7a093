package fwcheck_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/internal/testkit"
)

// onceDevice gives up on a frame after one retransmission: after each
// WELCOME it sends two events, sends them again once after the session's
// timeout, and never again (§5.4 has no retry limit). With again set it
// goes on retransmitting instead, but every timeout, never doubling it.
func onceDevice(ctx context.Context, rw *ptyEnd, again bool) {
	hello := &msg.Hello{HardwareID: "ONCE-1", Model: "BAD", Kind: msg.KindAttendance, Firmware: "0.1", Boot: 5,
		Caps: msg.CapEvents, ProtoMin: 1, ProtoMax: 1, MTU: 1024, Window: 8}
	send := func(m msg.Message, seq uint32) {
		f, _ := msg.Frame(m, seq, 0)
		f.Flags = frame.FlagFromDevice
		b, _ := frame.Append(nil, f, nil)
		rw.Write(b)
	}
	events := func() {
		for i := uint32(1); i <= 2; i++ {
			send(&msg.Event{ID: msg.EventID{Boot: 5, Seq: i}, Kind: "punch", Time: 1}, i)
		}
	}
	send(hello, 0)
	frames := readFrames(rw)
	var rto time.Duration
	var timer <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case f, ok := <-frames:
			if !ok {
				return
			}
			switch f.Type {
			case frame.TypeWelcome:
				m, err := msg.Decode(f)
				if err != nil {
					continue
				}
				events()
				rto = time.Duration(m.(*msg.Welcome).RTO) * time.Millisecond
				timer = time.After(rto)
			case frame.TypeClose:
				send(hello, 0)
			}
		case <-timer:
			events()
			timer = nil
			if again {
				timer = time.After(rto)
			}
		}
	}
}

// TestRetransmitsOnce: a device that retransmits a frame once and then
// gives up fails the retransmission check, citing §5.4.
func TestRetransmitsOnce(t *testing.T) {
	testkit.NoLeaks(t)
	dev, gw := newPTY(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); onceDevice(ctx, dev, false) }()
	defer func() { cancel(); dev.Close(); <-done }()
	rep := runCheck(t, gw)
	if c, ok := rep.Find("retransmission timing"); !ok || c.Err == nil || c.Section != "5.4" {
		t.Errorf("check %q: %+v, want a failure citing §5.4", "retransmission timing", c)
	}
}

// TestRetransmitsWithoutDoubling: a device that retransmits every initial
// timeout, never doubling it, fails the retransmission check, citing §5.4.
func TestRetransmitsWithoutDoubling(t *testing.T) {
	testkit.NoLeaks(t)
	dev, gw := newPTY(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); onceDevice(ctx, dev, true) }()
	defer func() { cancel(); dev.Close(); <-done }()
	rep := runCheck(t, gw)
	if c, ok := rep.Find("retransmission timing"); !ok || c.Err == nil || c.Section != "5.4" || !strings.Contains(c.Err.Error(), "must double") {
		t.Errorf("check %q: %+v, want a failure citing §5.4: the timeout must double", "retransmission timing", c)
	}
}
