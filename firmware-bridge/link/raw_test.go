package link_test

import (
	"context"
	"crypto/sha256"
	"io"
	"testing"
	"time"

	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/link/linktest"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/internal/testkit"
)

// rawPeer speaks hand-made frames: a hostile or buggy peer.
type rawPeer struct {
	t     *testing.T
	w     io.Writer
	flags frame.Flags
	in    chan frame.Frame
}

func newRawPeer(t *testing.T, rw io.ReadWriteCloser, fromDevice bool) *rawPeer {
	p := &rawPeer{t: t, w: rw, in: make(chan frame.Frame, 1024)}
	if fromDevice {
		p.flags = frame.FlagFromDevice
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r := frame.NewReader(rw, nil)
		for {
			f, err := r.Next()
			if err != nil {
				return
			}
			select {
			case p.in <- f:
			default: // a test that stopped reading
			}
		}
	}()
	t.Cleanup(func() { rw.Close(); <-done })
	return p
}

func (p *rawPeer) raw(b []byte) {
	p.t.Helper()
	if _, err := p.w.Write(b); err != nil {
		p.t.Fatal(err)
	}
}

func (p *rawPeer) body(t frame.Type, body []byte, seq, ack uint32, flags frame.Flags) {
	p.t.Helper()
	b, err := frame.Append(nil, frame.Frame{Type: t, Flags: flags, Seq: seq, Ack: ack, Body: body}, nil)
	if err != nil {
		p.t.Fatal(err)
	}
	p.raw(b)
}

func (p *rawPeer) send(m msg.Message, seq, ack uint32) {
	p.t.Helper()
	b, err := msg.Marshal(m)
	if err != nil {
		p.t.Fatal(err)
	}
	p.body(m.Type(), b, seq, ack, p.flags)
}

// expect returns the next frame that satisfies ok, skipping others.
func (p *rawPeer) expect(ctx context.Context, what string, ok func(frame.Frame) bool) frame.Frame {
	p.t.Helper()
	for {
		select {
		case <-ctx.Done():
			p.t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case f := <-p.in:
			if ok(f) {
				return f
			}
		}
	}
}

func (p *rawPeer) expectMsg(ctx context.Context, t frame.Type) (frame.Frame, msg.Message) {
	p.t.Helper()
	f := p.expect(ctx, t.String(), func(f frame.Frame) bool { return f.Type == t })
	m, err := msg.Decode(f)
	if err != nil {
		p.t.Fatalf("%v: %v", t, err)
	}
	return f, m
}

// acked waits for any frame from the peer whose ack reaches n.
func (p *rawPeer) acked(ctx context.Context, n uint32) {
	p.t.Helper()
	p.expect(ctx, "ack "+itoa(n), func(f frame.Frame) bool { return !f.Type.Handshake() && f.Ack >= n })
}

func itoa(n uint32) string {
	s := ""
	for {
		s = string(rune('0'+n%10)) + s
		if n /= 10; n == 0 {
			return s
		}
	}
}

func testHello(hw string) *msg.Hello {
	return &msg.Hello{HardwareID: hw, Model: "RAW", Kind: msg.KindRoomPanel, Firmware: "0.1", Boot: 3,
		Caps: msg.CapEvents | msg.CapCommands, ProtoMin: 1, ProtoMax: 1, MTU: 1024, Window: 8}
}

// TestHostileDevice feeds the gateway garbage, an endless run of non-zero
// bytes, bad CRCs, hostile CBOR (deep nesting, a 4-GiB length header,
// duplicate keys), an unknown sequenced type, a frame without the
// FROM_DEVICE flag, a gap, an ack for nothing and a HELLO of another
// protocol version. It resynchronises, journals the bad bodies as
// diagnostics and acknowledges them (PROTOCOL.md §5.7), and keeps the
// session.
func TestHostileDevice(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 20*time.Second)
	j := new(linktest.Journal)
	g := newGateway(t, j, nil)
	l := newLine(t)
	port := openGateway(t, l)
	run(t, func(ctx context.Context) error { return g.Run(ctx, port) })
	d := newRawPeer(t, l.dev, true)

	garbage := []byte{0x00, 0x13, 0x37, 0x00, 0xff, 0xfe, 0x01, 0x00}
	d.raw(garbage)
	long := make([]byte, 3000)
	for i := range long {
		long[i] = byte(i%255 + 1)
	}
	d.raw(append(long, 0))
	bad, _ := frame.Append(nil, frame.Frame{Type: frame.TypeHeartbeat, Flags: frame.FlagFromDevice}, nil)
	bad[3] ^= 0x40
	d.raw(bad)
	d.send(testHello("RAW-1"), 0, 0)
	_, m := d.expectMsg(ctx, frame.TypeWelcome)
	if w := m.(*msg.Welcome); w.Resume || w.DeviceID != "RAW-1" {
		t.Fatalf("welcome %+v", w)
	}

	deep := []byte{0xa1, 0x05}
	for i := 0; i < 20; i++ {
		deep = append(deep, 0xa1, 0x61, 'k')
	}
	deep = append(deep, 0x01)
	d.body(frame.TypeEvent, deep, 1, 0, frame.FlagFromDevice)
	d.acked(ctx, 1)
	d.body(frame.TypeEvent, []byte{0xa2, 0x01, 0x5a, 0xff, 0xff, 0xff, 0xff}, 2, 0, frame.FlagFromDevice)
	d.acked(ctx, 2)
	d.body(frame.TypeEvent, []byte{0xa2, 0x02, 0x61, 'a', 0x02, 0x61, 'b'}, 3, 0, frame.FlagFromDevice)
	d.acked(ctx, 3)
	d.body(frame.Type(0x30), []byte{0xa0}, 4, 0, frame.FlagFromDevice)
	d.acked(ctx, 4)
	ev := &msg.Event{ID: msg.EventID{Boot: 3, Seq: 1}, Kind: "button", Time: 1}
	evb, _ := msg.Marshal(ev)
	d.body(frame.TypeEvent, evb, 5, 0, 0) // looks like the gateway's own frame: ignored
	d.send(&msg.Event{ID: msg.EventID{Boot: 3, Seq: 9}, Kind: "button", Time: 1}, 9, 0)
	d.send(&msg.Ack{}, 0, 999)
	d.send(&msg.Hello{HardwareID: "RAW-2", Model: "RAW", Firmware: "9", Boot: 1, ProtoMin: 2, ProtoMax: 3, MTU: 1024, Window: 8}, 0, 0)
	_, m = d.expectMsg(ctx, frame.TypeClose)
	if c := m.(*msg.Close); c.Code != msg.CodeUnsupportedVersion {
		t.Fatalf("close %+v", c)
	}
	d.send(ev, 5, 0)
	d.acked(ctx, 5)

	recs := j.Records()
	var malformed, events int
	for _, r := range recs {
		switch r.Kind {
		case link.RecordMalformed:
			malformed++
			if r.Type != frame.TypeEvent || len(r.Body) == 0 || r.Err == "" {
				t.Fatalf("diagnostic record %+v", r)
			}
		case link.RecordEvent:
			events++
		}
	}
	if malformed != 3 || events != 1 {
		t.Fatalf("%d diagnostics and %d events journaled, want 3 and 1", malformed, events)
	}
	s := g.Stats()
	if s.Dropped[frame.ReasonOversize] == 0 || s.Dropped[frame.ReasonBadCRC] == 0 || s.BadAcks == 0 || s.OutOfOrder == 0 || s.Unknown < 2 {
		t.Fatalf("counters %+v", s)
	}
	if !g.Status().Online {
		t.Fatal("session lost")
	}
}

// TestHostileGateway: the emulated firmware answers a malformed COMMAND
// whose id it can read with RESULT error, a CONFIG whose hash does not
// match with bad_hash, a COMMAND past its deadline with expired, a command
// id it has answered with the stored result (not a second execution), and
// retries an EVENT refused with BUSY.
func TestHostileGateway(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 20*time.Second)
	e := newEmu(t, emuOpts(t, t.TempDir()))
	l := newLine(t)
	port := openGateway(t, l)
	gw := newRawPeer(t, port, false)
	run(t, func(ctx context.Context) error { return e.Run(ctx, l.dev) })

	_, m := gw.expectMsg(ctx, frame.TypeHello)
	h := m.(*msg.Hello)
	now := uint64(time.Now().UnixMilli())
	gw.send(&msg.Welcome{DeviceID: "d", Time: now, Window: 8, Heartbeat: 60000, Proto: 1, Caps: h.Caps,
		GatewayBoot: 77, MTU: 1024, RTO: 60000}, 0, 0)

	// A COMMAND whose name breaks the rules, id readable.
	cb := []byte{0xa2, 0x01, 0x62, 'c', '1', 0x02, 0x64, 'B', 'a', 'd', '!'}
	gw.body(frame.TypeCommand, cb, 1, 0, 0)
	_, m = gw.expectMsg(ctx, frame.TypeResult)
	if r := m.(*msg.Result); r.ID != "c1" || r.Status != msg.StatusError {
		t.Fatalf("malformed command: %+v", r)
	}
	gw.send(&msg.Config{Hash: make([]byte, 32), Config: []byte{0xa0}}, 2, 0)
	_, m = gw.expectMsg(ctx, frame.TypeConfigStatus)
	if c := m.(*msg.ConfigStatus); c.State != msg.ConfigRejected || c.Code != msg.CodeBadHash {
		t.Fatalf("bad hash config: %+v", c)
	}
	gw.send(&msg.Command{ID: "late", Name: "ping", Deadline: now - 60_000}, 3, 0)
	_, m = gw.expectMsg(ctx, frame.TypeResult)
	if r := m.(*msg.Result); r.ID != "late" || r.Status != msg.StatusExpired {
		t.Fatalf("expired command: %+v", r)
	}
	gw.send(&msg.Command{ID: "p1", Name: "echo", Args: map[string]any{"v": "first"}}, 4, 0)
	_, m = gw.expectMsg(ctx, frame.TypeResult)
	first := m.(*msg.Result)
	gw.send(&msg.Command{ID: "p1", Name: "echo", Args: map[string]any{"v": "second"}}, 5, 0)
	_, m = gw.expectMsg(ctx, frame.TypeResult)
	if r := m.(*msg.Result); r.ID != "p1" || r.Data["echo"].(map[string]any)["v"] != "first" || first.Data["echo"].(map[string]any)["v"] != "first" {
		t.Fatalf("repeated command id executed again: %+v then %+v", first, r)
	}

	// BUSY: refuse the first event, then take it on its retransmission.
	if _, err := e.Emit("button", map[string]any{"button": uint64(1)}); err != nil {
		t.Fatal(err)
	}
	f, _ := gw.expectMsg(ctx, frame.TypeEvent)
	gw.send(&msg.Busy{Seq: f.Seq, Retry: 50}, 0, 5)
	f2, _ := gw.expectMsg(ctx, frame.TypeEvent)
	if f2.Seq != f.Seq {
		t.Fatalf("after BUSY for %d the device sent %d", f.Seq, f2.Seq)
	}
	gw.send(&msg.Ack{}, 0, 5) // nothing new acknowledged: the event stays held
	if e.Held() != 1 {
		t.Fatalf("device holds %d records", e.Held())
	}
	if s := e.Link().Stats(); s.BusyRecv != 1 || s.Malformed != 1 {
		t.Fatalf("device counters %+v", s)
	}
	_ = sha256.Sum256
}

// TestCrossingHello pins PROTOCOL.md §6.2: a HELLO repeated before its
// WELCOME arrived does not open a second session with the same boot ids,
// on either side. Were it to, the device's next frame would be read under
// the other session's sequence numbers.
func TestCrossingHello(t *testing.T) {
	t.Run("gateway", func(t *testing.T) {
		testkit.NoLeaks(t)
		ctx := testkit.Ctx(t, 20*time.Second)
		j := new(linktest.Journal)
		g := newGateway(t, j, nil)
		l := newLine(t)
		port := openGateway(t, l)
		run(t, func(ctx context.Context) error { return g.Run(ctx, port) })
		d := newRawPeer(t, l.dev, true)
		h := testHello("RAW-X")
		d.send(h, 0, 0)
		_, m := d.expectMsg(ctx, frame.TypeWelcome)
		w1 := m.(*msg.Welcome)
		d.send(&msg.Event{ID: msg.EventID{Boot: 3, Seq: 1}, Kind: "button", Time: 1}, 1, 0)
		d.acked(ctx, 1)
		d.send(h, 0, 0) // the same HELLO, sent before the device had the WELCOME
		_, m = d.expectMsg(ctx, frame.TypeWelcome)
		if w2 := m.(*msg.Welcome); w2.GatewayBoot != w1.GatewayBoot || w2.Resume {
			t.Fatalf("second WELCOME %+v after %+v", w2, w1)
		}
		d.send(&msg.Event{ID: msg.EventID{Boot: 3, Seq: 2}, Kind: "button", Time: 2}, 2, 0)
		d.acked(ctx, 2)
		checkEvents(t, j.Events(), []msg.EventID{{Boot: 3, Seq: 1}, {Boot: 3, Seq: 2}})
		if s := g.Stats(); s.Sessions != 1 {
			t.Fatalf("%d sessions opened", s.Sessions)
		}
	})
	t.Run("device", func(t *testing.T) {
		testkit.NoLeaks(t)
		ctx := testkit.Ctx(t, 20*time.Second)
		e := newEmu(t, emuOpts(t, t.TempDir()))
		l := newLine(t)
		port := openGateway(t, l)
		gw := newRawPeer(t, port, false)
		run(t, func(ctx context.Context) error { return e.Run(ctx, l.dev) })
		_, m := gw.expectMsg(ctx, frame.TypeHello)
		w := &msg.Welcome{DeviceID: "d", Time: uint64(time.Now().UnixMilli()), Window: 8, Heartbeat: 60000, Proto: 1,
			Caps: m.(*msg.Hello).Caps, GatewayBoot: 77, MTU: 1024, RTO: 60000}
		gw.send(w, 0, 0)
		e.Emit("button", nil)
		f, _ := gw.expectMsg(ctx, frame.TypeEvent)
		gw.send(&msg.Ack{}, 0, f.Seq)
		gw.send(w, 0, 0) // answer to a HELLO the device repeated: ignored
		e.Emit("button", nil)
		f2, m2 := gw.expectMsg(ctx, frame.TypeEvent)
		if f2.Seq != f.Seq+1 || m2.(*msg.Event).ID.Seq != 2 {
			t.Fatalf("after a repeated WELCOME the device sent seq %d (event %v), want seq %d", f2.Seq, m2.(*msg.Event).ID, f.Seq+1)
		}
	})
}
