package fwemu_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/officegate/officegate/firmware-bridge/fwemu"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/link/linktest"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

// Fast timers, as the link's own tests use, so recovery takes milliseconds.
var fastTiming = link.Timing{
	Heartbeat: 150 * time.Millisecond,
	RTO:       60 * time.Millisecond,
	AckDelay:  5 * time.Millisecond,
	BusyRetry: 20 * time.Millisecond,
	HelloMin:  30 * time.Millisecond,
	HelloMax:  240 * time.Millisecond,
}

// ptyPair returns the two ends of a raw PTY; the device's master is made
// pollable so that Close ends a blocked Read (as in the link's tests).
func ptyPair(t *testing.T) (dev, gw *os.File) {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Fatalf("pty: %v", err)
	}
	if err := fwemu.MakeRaw(s); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Dup(int(m.Fd()))
	if err == nil {
		err = unix.SetNonblock(fd, true)
	}
	m.Close()
	if err != nil {
		t.Fatal(err)
	}
	dev = os.NewFile(uintptr(fd), "ptmx")
	t.Cleanup(func() { dev.Close(); s.Close() })
	return dev, s
}

// serve runs f until the test ends.
func serve(t *testing.T, f func(ctx context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// TestAttendanceFetchOverLink: punches reach the gateway and are
// acknowledged; the terminal keeps them in its log; attendance_fetch sends
// them again as new events that name the originals.
func TestAttendanceFetchOverLink(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	devEnd, gwEnd := ptyPair(t)
	j := new(linktest.Journal)
	g, err := link.NewGateway(link.GatewayConfig{Sink: j, Store: j, Timing: fastTiming,
		Logf: func(f string, a ...any) { t.Logf(f, a...) }})
	if err != nil {
		t.Fatal(err)
	}
	e, err := fwemu.New(fwemu.Options{StatePath: filepath.Join(t.TempDir(), "flash"), HardwareID: "TERM-0001",
		Kind: msg.KindAttendance, Seed: 7, Timing: fastTiming, Door: true})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, func(ctx context.Context) error { return e.Run(ctx, devEnd) })
	serve(t, func(ctx context.Context) error { return g.Run(ctx, gwEnd) })

	ids, err := e.EmitMany("punch", []map[string]any{
		{"user": "10042", "verify": "card", "state": uint64(0)},
		{"user": "10043", "verify": "face", "state": uint64(1)},
		{"user": "10044", "verify": "pin", "state": uint64(0)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.WaitFor(ctx, func(r []link.Record) bool { return linktest.CountEvents(r) >= 3 }); err != nil {
		t.Fatal(err)
	}
	for e.Held() > 0 { // acknowledged: the store lets them go, the log keeps them
		select {
		case <-ctx.Done():
			t.Fatalf("%d records never acknowledged", e.Held())
		case <-time.After(2 * time.Millisecond):
		}
	}
	orig := j.Events()

	res, err := g.Send(ctx, msg.Command{ID: "fetch-1", Name: "attendance_fetch",
		Args: map[string]any{"since_ms": uint64(0), "until_ms": uint64(0), "limit": uint64(500)}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != msg.StatusOK || !reflect.DeepEqual(res.Data, map[string]any{"count": uint64(3), "more": false}) {
		t.Fatalf("fetch: %+v", res)
	}
	if err := j.WaitFor(ctx, func(r []link.Record) bool { return linktest.CountEvents(r) >= 6 }); err != nil {
		t.Fatal(err)
	}
	evs := j.Events()
	for i, rep := range evs[3:6] {
		o := orig[i]
		if o.ID != ids[i] {
			t.Fatalf("original %d is %v, want %v", i, o.ID, ids[i])
		}
		want := map[string]any{"boot": uint64(o.ID.Boot), "seq": uint64(o.ID.Seq)}
		if rep.ID == o.ID || rep.Kind != "punch" || rep.Time != o.Time || rep.Clock != o.Clock ||
			!reflect.DeepEqual(rep.Data["replay"], want) || rep.Data["user"] != o.Data["user"] {
			t.Fatalf("replay %+v of %+v", rep, o)
		}
	}

	// The same command id again is the same answer, not a second replay
	// (the link deduplicates, §9.2).
	if res2, err := g.Send(ctx, msg.Command{ID: "fetch-1", Name: "attendance_fetch",
		Args: map[string]any{"since_ms": uint64(0), "until_ms": uint64(0), "limit": uint64(500)}}); err != nil ||
		!reflect.DeepEqual(res2, res) {
		t.Fatalf("repeated fetch: %+v, %v", res2, err)
	}
	if n := len(e.AttendanceLog()); n != 3 {
		t.Fatalf("log holds %d, want 3", n)
	}

	// A door pulse over the link, and busy while it runs.
	r, err := g.Send(ctx, msg.Command{ID: "door-1", Name: "door_pulse", Args: map[string]any{"ms": uint64(10000)}})
	if err != nil || r.Status != msg.StatusOK {
		t.Fatalf("door_pulse: %+v, %v", r, err)
	}
	r, err = g.Send(ctx, msg.Command{ID: "door-2", Name: "door_pulse"})
	if err != nil || r.Status != msg.StatusBusy {
		t.Fatalf("second door_pulse: %+v, %v; want busy", r, err)
	}
}
