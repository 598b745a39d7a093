package zk4370sim_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/officegate/officegate/devices/zk4370"
	"github.com/officegate/officegate/devices/zk4370/zk4370sim"
	"github.com/officegate/officegate/internal/testkit"
)

func start(t *testing.T, o zk4370sim.Options) *zk4370sim.Terminal {
	t.Helper()
	term := zk4370sim.New(o)
	if err := term.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(term.Cut)
	return term
}

func dial(t *testing.T, term *zk4370sim.Terminal, key uint32) *zk4370.Client {
	t.Helper()
	cl, err := zk4370.Dial(testkit.Ctx(t, 10*time.Second), term.Addr(), key, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

// TestSession drives the emulator with the package's client over loopback:
// the comm key, the serial, the clock, real-time punches and the log read in
// every shape a buffered read can take.
func TestSession(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 20*time.Second)
	base := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	for _, o := range []zk4370sim.Options{
		{CommKey: 123456, Serial: "BJ2C1", RecordSize: 40, RealtimeSize: 32, InlineMax: 1 << 20},
		{RecordSize: 16, RealtimeSize: 12, InlineMax: 64, DataPacket: 100},
		{RecordSize: 8, RealtimeSize: 10, InlineMax: 8, DataPacket: 7},
	} {
		t.Run(fmt.Sprintf("log%d-rt%d", o.RecordSize, o.RealtimeSize), func(t *testing.T) {
			o.Now = func() time.Time { return base }
			o.Location = time.UTC
			term := start(t, o)
			if o.CommKey != 0 {
				if _, err := zk4370.Dial(ctx, term.Addr(), o.CommKey+1, 5*time.Second); err == nil {
					t.Fatal("a wrong comm key was accepted")
				}
			}
			cl := dial(t, term, o.CommKey)
			if sn, err := cl.Serial(); err != nil || (o.Serial != "" && sn != o.Serial) {
				t.Fatalf("serial %q, %v", sn, err)
			}
			st, err := cl.Time()
			if err != nil || st != zk4370.StampOf(base) {
				t.Fatalf("time %s, %v", st, err)
			}
			later := zk4370.StampOf(base.Add(90 * time.Minute))
			if err := cl.SetTime(later); err != nil {
				t.Fatal(err)
			}
			if got := zk4370.StampOf(term.Clock()); got != later {
				t.Fatalf("terminal clock %s after set to %s", got, later)
			}
			if err := cl.RegisterEvents(zk4370.EFAttLog); err != nil {
				t.Fatal(err)
			}
			var want []zk4370.AttRecord
			for i := range 30 {
				r, err := term.Punch(fmt.Sprint(100+i), 1, uint8(i%2))
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, r)
			}
			var got []zk4370.AttRecord
			for len(got) < len(want) {
				recs, overflow, bad, more := cl.Events()
				if overflow || bad != 0 {
					t.Fatalf("overflow %v, %d malformed", overflow, bad)
				}
				got = append(got, recs...)
				if len(got) < len(want) {
					select {
					case <-more:
					case <-ctx.Done():
						t.Fatalf("%d of %d real-time punches", len(got), len(want))
					}
				}
			}
			for i := range want {
				if got[i].PIN != want[i].PIN || got[i].Time != want[i].Time || got[i].State != want[i].State || got[i].Verify != want[i].Verify {
					t.Fatalf("real-time punch %d: %+v, want %+v", i, got[i], want[i])
				}
			}
			log, err := cl.ReadLog()
			if err != nil {
				t.Fatal(err)
			}
			if len(log) != len(want) {
				t.Fatalf("log of %d, want %d", len(log), len(want))
			}
			for i := range want {
				if log[i].PIN != want[i].PIN || log[i].Time != want[i].Time || log[i].State != want[i].State || log[i].Verify != want[i].Verify {
					t.Fatalf("log record %d: %+v, want %+v", i, log[i], want[i])
				}
			}
			if err := term.Wait(ctx, func(s zk4370sim.State) bool { return s.Stats.EventAcks >= len(want) && !s.Disabled }); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestUsersAndRefusals: the user table, a full log, a disabled terminal.
func TestUsersAndRefusals(t *testing.T) {
	testkit.NoLeaks(t)
	term := start(t, zk4370sim.Options{Capacity: 2})
	cl := dial(t, term, 0)
	u := zk4370.User{SN: 5, Name: "Li Wei", PIN: "10042", Card: 77}
	if err := cl.WriteUser(u); err != nil {
		t.Fatal(err)
	}
	us, err := cl.Users()
	if err != nil || len(us) != 1 || us[0] != u {
		t.Fatalf("users %+v, %v", us, err)
	}
	if err := cl.DeleteUser(5); err != nil {
		t.Fatal(err)
	}
	if us, err := cl.Users(); err != nil || len(us) != 0 {
		t.Fatalf("users after delete %+v, %v", us, err)
	}
	for range 2 {
		if _, err := term.Punch("1", 1, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := term.Punch("1", 1, 0); !errors.Is(err, zk4370sim.ErrFull) {
		t.Fatalf("third punch on a log of 2: %v", err)
	}
	// A disabled terminal takes no punch; the session that disabled it
	// ending enables it again.
	term2 := start(t, zk4370sim.Options{})
	cl2, err := zk4370.Dial(context.Background(), term2.Addr(), 0, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := cl2.Exit(); err != nil {
		t.Fatal(err)
	}
	if _, err := term2.Punch("1", 1, 0); err != nil {
		t.Fatal(err)
	}
}

// TestSessionUDP: the emulator's UDP transport with the package's client:
// the serial, a real-time punch, a log read in 1 KiB datagrams over several
// chunks, a damaged datagram ignored and counted, CMD_EXIT ending the
// session.
func TestSessionUDP(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 20*time.Second)
	term := zk4370sim.New(zk4370sim.Options{Serial: "UDPSIM1", Location: time.UTC})
	if err := term.ListenUDP("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(term.Cut)
	for i := range 1000 { // 40 KB: three 16 KiB chunks
		if _, err := term.Punch(fmt.Sprint(100+i), 1, 0); err != nil {
			t.Fatal(err)
		}
	}
	cl, err := zk4370.DialNetwork(ctx, "udp", term.Addr(), 0, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if sn, err := cl.Serial(); err != nil || sn != "UDPSIM1" {
		t.Fatalf("serial %q, %v", sn, err)
	}
	if err := cl.RegisterEvents(zk4370.EFAttLog); err != nil {
		t.Fatal(err)
	}
	if _, err := term.Punch("7", 15, 1); err != nil {
		t.Fatal(err)
	}
	for {
		recs, _, _, more := cl.Events()
		if len(recs) == 1 && recs[0].PIN == "7" {
			break
		}
		select {
		case <-more:
		case <-ctx.Done():
			t.Fatal("no real-time punch over UDP")
		}
	}
	log, err := cl.ReadLog()
	if err != nil || len(log) != 1001 || log[1000].PIN != "7" {
		t.Fatalf("log of %d, %v", len(log), err)
	}
	c, err := net.Dial("udp", term.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte{0xe8, 0x03, 0x00, 0x00, 0, 0, 0, 0}) // CMD_CONNECT with a wrong checksum
	c.Close()
	if err := term.Wait(ctx, func(s zk4370sim.State) bool { return s.Stats.BadFrames == 1 }); err != nil {
		t.Fatal(err)
	}
	if err := cl.Exit(); err != nil {
		t.Fatal(err)
	}
	if err := term.Wait(ctx, func(s zk4370sim.State) bool { return s.Open == 0 }); err != nil {
		t.Fatal(err)
	}
}
