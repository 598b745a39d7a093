package link_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/officegate/officegate/devices/serialport"
	"github.com/officegate/officegate/firmware-bridge/fwemu"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/link/linktest"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

// Fast timers so that recovery in tests takes milliseconds; the protocol
// allows them (heartbeat ≥ 100 ms, retransmit timeout ≥ 10 ms).
var fastTiming = link.Timing{
	Heartbeat: 150 * time.Millisecond,
	RTO:       60 * time.Millisecond,
	AckDelay:  5 * time.Millisecond,
	BusyRetry: 20 * time.Millisecond,
	HelloMin:  30 * time.Millisecond,
	HelloMax:  240 * time.Millisecond,
}

var fastSync = link.TimeSync{Every: time.Second, Samples: 3, Spacing: 30 * time.Millisecond, MaxDelay: 200 * time.Millisecond}

// signer is the test firmware signing key.
var signer = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))

// line is one PTY: the device end is the master (made pollable so that
// Close ends a blocked Read and hangs the slave up, as unplugging a USB
// adapter does), the gateway end is the slave, opened by name.
type line struct {
	dev   *os.File
	slave string
	hold  *os.File // the slave descriptor pty.Open returned, closed at cleanup
}

func newLine(t *testing.T) *line { return newLineB(t) }

func newLineB(t testing.TB) *line {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Fatalf("pty: %v", err)
	}
	if err := fwemu.MakeRaw(s); err != nil {
		t.Fatalf("raw: %v", err)
	}
	l := &line{dev: pollable(t, m), slave: s.Name(), hold: s}
	t.Cleanup(func() { l.dev.Close(); s.Close() })
	return l
}

// pollable swaps f for a non-blocking duplicate under Go's poller: a
// creack/pty master otherwise ignores deadlines and Close.
func pollable(t testing.TB, f *os.File) *os.File {
	t.Helper()
	fd, err := unix.Dup(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return os.NewFile(uintptr(fd), "ptmx")
}

// openGateway opens the gateway's end with the real serial port package.
func openGateway(t *testing.T, l *line) *serialport.Port { return openGatewayB(t, l) }

func openGatewayB(t testing.TB, l *line) *serialport.Port {
	t.Helper()
	p, err := serialport.Open(serialport.Config{Name: l.slave})
	if err != nil {
		t.Fatalf("open %s: %v", l.slave, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// run starts f in a goroutine and returns a channel with its error; the
// test's cleanup cancels and waits for it.
func run(t *testing.T, f func(ctx context.Context) error) (cancel func(), done <-chan error) {
	ctx, c := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	fin := make(chan struct{})
	go func() { ch <- f(ctx); close(fin) }()
	stop := func() { c(); <-fin }
	t.Cleanup(stop)
	return stop, ch
}

func newGateway(t *testing.T, j *linktest.Journal, mod func(*link.GatewayConfig)) *link.Gateway {
	t.Helper()
	cfg := link.GatewayConfig{Sink: j, Store: j, Timing: fastTiming, TimeSync: fastSync,
		Logf: func(f string, a ...any) { t.Logf(f, a...) }}
	if mod != nil {
		mod(&cfg)
	}
	g, err := link.NewGateway(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func emuOpts(_ testing.TB, dir string) fwemu.Options {
	return fwemu.Options{
		StatePath: filepath.Join(dir, "flash"), HardwareID: "TERM-0001", Kind: msg.KindAttendance,
		Seed: 7, SigningKey: signer.Public().(ed25519.PublicKey), Timing: fastTiming, SlotSize: 256 << 10,
	}
}

func newEmuB(o fwemu.Options) (*fwemu.Emulator, error) { return fwemu.New(o) }

func newEmu(t *testing.T, o fwemu.Options) *fwemu.Emulator {
	t.Helper()
	e, err := fwemu.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// checkEvents asserts that got is exactly want, in order.
func checkEvents(t *testing.T, got []msg.Event, want []msg.EventID) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("journal holds %d events, want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if got[i].ID != want[i] {
			t.Fatalf("event %d is %v, want %v (duplicate, loss or reorder)", i, got[i].ID, want[i])
		}
	}
}

// checkNoDup asserts that every event id in got is unique and ascending.
func checkOrder(t *testing.T, got []msg.Event) {
	t.Helper()
	for i := 1; i < len(got); i++ {
		a, b := got[i-1].ID, got[i].ID
		if !(b.Boot > a.Boot || b.Boot == a.Boot && b.Seq > a.Seq) {
			t.Fatalf("event %d %v after %v: duplicate or reorder", i, b, a)
		}
	}
}

func ping(n int) msg.Command {
	return msg.Command{ID: fmt.Sprintf("cmd-%06d", n), Name: "ping", Args: map[string]any{"n": uint64(n)}}
}

// waitFor polls cond until it holds or ctx ends; for state that has no
// change notification (the emulator's slot, its config).
func waitFor(ctx context.Context, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
	return nil
}

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }
