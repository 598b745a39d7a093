package zk4370_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/zk4370"
	"github.com/officegate/officegate/devices/zk4370/zk4370sim"
	"github.com/officegate/officegate/internal/testkit"
)

// TestUDPTransport: a terminal reached over the protocol's UDP transport.
// The stored log is backfilled at connect (in 1 KiB datagrams, 16 KiB
// chunks), real-time punches follow; real-time datagrams lost on the way
// leave their punches only in the log, where the record count finds them
// before a later punch can overtake them; a cut (the terminal gone: nothing but silence on UDP) is
// found by the keepalive, and after it every punch recorded meanwhile
// arrives. Every punch once, in order.
func TestUDPTransport(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 30*time.Second)
	term := zk4370sim.New(zk4370sim.Options{Serial: "UDP0001", Location: time.UTC})
	if err := term.ListenUDP("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(term.Cut)
	addr := term.Addr()
	j := newJournal()
	var want []string
	for i := range 600 { // 24 KB of 40-byte records: more than one chunk
		want = append(want, fmt.Sprint(1000+i))
		punch(t, ctx, term, want[i])
	}
	o := zk4370.DefaultOptions()
	o.Address, o.TimeZone, o.Transport = addr, "UTC", "udp"
	o.BackoffMin, o.BackoffMax, o.Timeout, o.Keepalive = "5ms", "50ms", "300ms", "50ms"
	d, err := zk4370.NewDriver("t-udp", o, zk4370.Deps{StateDir: t.TempDir(), Log: zerolog.New(zerolog.NewTestWriter(t))})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx, j) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	j.wait(t, ctx, len(want))
	waitOnline(t, ctx, term)
	for i := range 5 { // one at a time: each comes by its datagram
		want = append(want, fmt.Sprint(2000+i))
		punch(t, ctx, term, want[len(want)-1])
		j.wait(t, ctx, len(want))
	}
	// A datagram may be lost even on loopback (a full socket buffer): its
	// punch then comes from the log, still in order. Most come in real time.
	// The driver counts a punch after the journal took it: the count may
	// trail the journal by the last one.
	waitStatus(t, ctx, d, "online, punches in real time, every one journaled once", func(st devices.Status) bool {
		return st.Online && st.Counters["realtime"] >= 1 && st.Counters["realtime"]+st.Counters["backfilled"] == uint64(len(want))
	})

	term.LoseEvents(2)
	for i := range 3 {
		want = append(want, fmt.Sprint(3000+i))
		punch(t, ctx, term, want[len(want)-1])
	}
	j.wait(t, ctx, len(want))
	if n := d.Status().Counters["datagrams_lost"]; n < 1 {
		t.Errorf("datagrams_lost %d after two lost datagrams", n)
	}

	term.Cut()
	for i := range 4 {
		want = append(want, fmt.Sprint(4000+i))
		punch(t, ctx, term, want[len(want)-1])
	}
	if err := term.ListenUDP(addr); err != nil {
		t.Fatal(err)
	}
	waitOnline(t, ctx, term)
	want = append(want, "4999") // real time again
	punch(t, ctx, term, "4999")
	checkOnce(t, j.wait(t, ctx, len(want)), want)
	if st := d.Status(); st.Counters["reconnects"] < 1 {
		t.Errorf("status %+v: the cut was not noticed", st)
	}
}

func TestTransportOption(t *testing.T) {
	for _, tc := range []struct {
		transport, keepalive string
		ok                   bool
	}{{"tcp", "10s", true}, {"udp", "1s", true}, {"sctp", "10s", false}, {"", "", true}, {"udp", "0s", false}, {"udp", "2h", false}} {
		o := zk4370.DefaultOptions()
		o.Address, o.Transport, o.Keepalive = "10.0.3.21", tc.transport, tc.keepalive
		_, err := zk4370.NewDriver("t", o, zk4370.Deps{})
		if (err == nil) != tc.ok {
			t.Errorf("transport %q keepalive %q: %v", tc.transport, tc.keepalive, err)
		}
	}
}

// TestTimeSetCommand: time.set checks the terminal's clock now, sets it when
// it is off by more than the threshold, and answers with the offset it
// found (corrected_ms) and the one it left; args are refused.
func TestTimeSetCommand(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 10*time.Second)
	r := newRig(t, zk4370sim.Options{})
	d, _ := r.run(t, r.term.Addr(), 0)
	for !d.Status().Online { // the session is up for commands
		select {
		case <-ctx.Done():
			t.Fatal("the driver never came online")
		case <-time.After(time.Millisecond):
		}
	}
	if res := d.Handle(ctx, devices.Command{ID: "bad", Name: "time.set", Args: map[string]any{"ms": int64(5)}}); res.Status != devices.StatusError {
		t.Fatalf("time.set with args: %+v", res)
	}
	r.term.SetClock(time.Now().Add(-5 * time.Minute)) // someone at its menu
	res := d.Handle(ctx, devices.Command{ID: "ts", Name: "time.set", Args: map[string]any{}})
	if res.Status != devices.StatusOK || res.Data["stepped"] != true || res.Data["clock"] != devices.ClockSynced {
		t.Fatalf("time.set: %+v", res)
	}
	if c, _ := res.Data["corrected_ms"].(int64); c > -290000 || c < -310000 {
		t.Errorf("corrected_ms %v, want about -300000", res.Data["corrected_ms"])
	}
	if o, _ := res.Data["clock_offset_ms"].(int64); o > 2000 || o < -2000 {
		t.Errorf("clock_offset_ms %v after the set", res.Data["clock_offset_ms"])
	}
	if off := time.Until(r.term.Clock()); off > 2*time.Second || off < -2*time.Second {
		t.Errorf("terminal clock off by %v after time.set", off)
	}
	again := d.Handle(ctx, devices.Command{ID: "ts2", Name: "time.set", Args: map[string]any{}})
	if again.Status != devices.StatusOK || again.Data["stepped"] != false || again.Data["corrected_ms"] != nil {
		t.Fatalf("time.set on a clock within the threshold: %+v", again)
	}
}
