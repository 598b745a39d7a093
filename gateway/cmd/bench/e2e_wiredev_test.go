package main

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/fwemu"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/link/linktest"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

// TestWireFrames: the EVENT frames a wire device writes by hand decode with
// firmware-bridge/frame and are, byte for byte, what msg.Marshal and
// frame.Append make of the same event.
func TestWireFrames(t *testing.T) {
	d := newWireDev("dev-07", 10007, 3, time.Second, nil)
	cases := []struct {
		seq, ack, ev uint32
		rec          wireRec
	}{
		{1, 0, 1, wireRec{timeMs: 1764000000123}},
		{2, 5, 23, wireRec{timeMs: 1764000000124, tUs: 1764000000124567}},
		{300, 70000, 65536, wireRec{timeMs: 1}},
		{0xFFFFFFFF, 0x01000000, 0xFFFFFFFF, wireRec{timeMs: 1 << 40, tUs: 1}},
		{9, 9, 255, wireRec{timeMs: 1764000000000, tUs: 24}},
	}
	for _, c := range cases {
		d.mu.Lock()
		d.out, d.ack = d.out[:0], c.ack
		d.recs[c.ev&wireRingMask] = c.rec
		d.sendEvent(c.seq, c.ev)
		got := append([]byte(nil), d.out...)
		d.mu.Unlock()

		p := d.userOf(c.ev, c.rec)
		data := map[string]any{"user": fmt.Sprintf("%05d", p.user), "verify": verifyNames[p.verify], "state": uint64(p.state)}
		if c.rec.tUs != 0 {
			data["t_us"] = c.rec.tUs
			if p.user != 10007 || p.verify != 0 || p.state != 0 {
				t.Errorf("latency punch %+v: want the device's user, card, 0", p)
			}
		}
		ev := msg.Event{ID: msg.EventID{Boot: 3, Seq: c.ev}, Kind: "punch", Time: c.rec.timeMs, Clock: msg.ClockSet, Data: data}
		body, err := msg.Marshal(&ev)
		if err != nil {
			t.Fatal(err)
		}
		want, err := frame.Append(nil, frame.Frame{Type: frame.TypeEvent, Flags: frame.FlagFromDevice, Seq: c.seq, Ack: c.ack, Body: body}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("event %d seq %d:\n got %x\nwant %x", c.ev, c.seq, got, want)
			continue
		}
		f, err := frame.Decode(got)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		m, err := msg.Decode(f)
		if err != nil {
			t.Fatalf("msg: %v", err)
		}
		if dec := m.(*msg.Event); !reflect.DeepEqual(dec.ID, ev.ID) || dec.Time != ev.Time || dec.Data["user"] != data["user"] {
			t.Errorf("decoded %+v, want %+v", dec, ev)
		}
	}
	// The generated punches spread over users, methods and states as fwemu's.
	users, verifies, states := map[int]bool{}, map[int]bool{}, map[int]bool{}
	for ev := uint32(1); ev <= 2000; ev++ {
		p := d.userOf(ev, wireRec{})
		if p.user < 10000 || p.user >= 10500 {
			t.Fatalf("user %d", p.user)
		}
		users[p.user], verifies[p.verify], states[p.state] = true, true, true
	}
	if len(users) < 400 || len(verifies) != 4 || len(states) != 2 {
		t.Errorf("generated punches: %d users, %d methods, %d states", len(users), len(verifies), len(states))
	}
}

// Fast timers, as the link's own tests use, so recovery takes milliseconds;
// but a heartbeat of a second: a link is down after three of them unheard,
// and TestWireDeviceLink counts its link downs and sessions exactly, so a
// pause of a loaded machine must not make one (at 150 ms, a 450 ms one
// would).
var wireTestTiming = link.Timing{
	Heartbeat: time.Second,
	RTO:       60 * time.Millisecond,
	AckDelay:  5 * time.Millisecond,
	BusyRetry: 20 * time.Millisecond,
	HelloMin:  30 * time.Millisecond,
	HelloMax:  240 * time.Millisecond,
}

// runLinkGateway runs a real link.Gateway on the tty path until the
// returned stop is called.
func runLinkGateway(t *testing.T, j *linktest.Journal, path string) (stop func()) {
	t.Helper()
	g, err := link.NewGateway(link.GatewayConfig{Sink: j, Store: j, Timing: wireTestTiming,
		Logf: func(f string, a ...any) { t.Logf(f, a...) }})
	if err != nil {
		t.Fatal(err)
	}
	tty, err := fwemu.OpenTTY(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); g.Run(ctx, tty) }()
	return func() { cancel(); <-done }
}

// waitEvents waits until j holds n events, then checks they are the
// device's events 1…n, each once, in order.
func waitEvents(t *testing.T, ctx context.Context, j *linktest.Journal, n int) {
	t.Helper()
	if err := j.WaitFor(ctx, func(recs []link.Record) bool { return linktest.CountEvents(recs) >= n }); err != nil {
		t.Fatal(err)
	}
	evs := j.Events()
	if len(evs) != n {
		t.Fatalf("%d events journaled, want %d", len(evs), n)
	}
	for i, e := range evs {
		if e.ID != (msg.EventID{Boot: 5, Seq: uint32(i + 1)}) || e.Kind != "punch" || e.Clock != msg.ClockSet {
			t.Fatalf("event %d is %+v", i, e)
		}
	}
}

// waitHeld waits until the gateway acknowledged every event the device holds.
func waitHeld(t *testing.T, ctx context.Context, d *wireDev) {
	t.Helper()
	for d.held() != 0 {
		select {
		case <-ctx.Done():
			t.Fatalf("device still holds %d events", d.held())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// TestWireDeviceLink: a wire device on a PTY against a real link.Gateway:
// the gateway accepts its HELLO and every event, in order and once,
// through back-pressure (BUSY, then the device's retransmission), and
// through a gateway restart (the new gateway's CLOSE no_session, a new
// session, the high-water mark), and through a gateway gone for longer
// than the link-down time.
func TestWireDeviceLink(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d, err := startWireDev("dev-01", 10001, 5, wireTestTiming.HelloMin)
	if err != nil {
		t.Fatal(err)
	}
	defer d.stop()
	j := new(linktest.Journal)
	refused := 0
	j.Busy = func(link.Record) bool { refused++; return refused <= 3 } // the first three commits: journal full
	stop := runLinkGateway(t, j, d.path)

	// A first punch with its emit time, then bursts of generated ones.
	if last, err := d.record(1, 1764000000000123); err != nil || last != 1 {
		t.Fatalf("record: %d, %v", last, err)
	}
	for range 20 {
		if _, err := d.record(10, 0); err != nil {
			t.Fatal(err)
		}
	}
	waitEvents(t, ctx, j, 201)
	waitHeld(t, ctx, d)
	if ev := j.Events()[0]; ev.Data["t_us"] != uint64(1764000000000123) || ev.Data["user"] != "10001" {
		t.Errorf("first event %+v", ev)
	}
	st := d.counters()
	if st.BusyRecv == 0 || st.Retransmits == 0 || st.Sessions != 1 {
		t.Errorf("device counters %+v: want BUSY received, retransmissions, one session", st)
	}

	// The gateway restarts: the new one answers the device's frames with
	// CLOSE no_session, the device says HELLO, and the new session's
	// high-water mark covers everything journaled.
	stop()
	if _, err := d.record(50, 0); err != nil {
		t.Fatal(err)
	}
	stop = runLinkGateway(t, j, d.path)
	waitEvents(t, ctx, j, 251)
	waitHeld(t, ctx, d)
	if st := d.counters(); st.Sessions != 2 {
		t.Errorf("device counters %+v: want a second session", st)
	}

	// The gateway goes away for longer than 3 × H: the device declares the
	// link down, keeps its records, and says HELLO to the next gateway.
	stop()
	if _, err := d.record(30, 0); err != nil {
		t.Fatal(err)
	}
	for d.counters().LinkDowns == 0 {
		select {
		case <-ctx.Done():
			t.Fatalf("no link down: %+v", d.counters())
		case <-time.After(10 * time.Millisecond):
		}
	}
	stop = runLinkGateway(t, j, d.path)
	defer stop()
	waitEvents(t, ctx, j, 281)
	waitHeld(t, ctx, d)
	if st := d.counters(); st.Sessions != 3 || st.LinkDowns != 1 {
		t.Errorf("device counters %+v: want a third session after one link down", st)
	}
}
