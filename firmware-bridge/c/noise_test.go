package c_test

import (
	"context"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/officegate/officegate/firmware-bridge/c/cdevtest"
	"github.com/officegate/officegate/firmware-bridge/fwemu"
	"github.com/officegate/officegate/firmware-bridge/link/linktest"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/internal/testkit"
)

// damage copies src to dst, flipping, dropping and duplicating bytes and
// throwing in bursts of garbage (zeros among them), until src fails.
func damage(dst io.Writer, src io.Reader, rate float64, seed uint64, hits *atomic.Int64) {
	r := rand.New(rand.NewPCG(seed, 5))
	buf := make([]byte, 256)
	for {
		n, err := src.Read(buf)
		var out []byte
		for _, b := range buf[:n] {
			switch p := r.Float64(); {
			case p < rate/3:
				hits.Add(1)
				continue
			case p < 2*rate/3:
				hits.Add(1)
				b ^= 1 << r.IntN(8)
			case p < rate:
				hits.Add(1)
				out = append(out, b)
			}
			out = append(out, b)
		}
		if r.Float64() < rate*10 {
			for i := r.IntN(16); i >= 0; i-- {
				out = append(out, byte(r.IntN(3))*byte(r.Uint32()))
			}
		}
		if len(out) > 0 {
			if _, werr := dst.Write(out); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// pollableFile puts f under Go's poller so Close ends a blocked Read.
func pollableFile(t *testing.T, f *os.File) *os.File {
	fd, err := unix.Dup(int(f.Fd()))
	if err == nil {
		err = unix.SetNonblock(fd, true)
	}
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	return os.NewFile(uintptr(fd), f.Name())
}

// TestNoisyLine (§2.6, §5): between the C device and the gateway every
// byte in both directions has a 0.3 % chance of being dropped, flipped or
// doubled, with bursts of garbage; 500 punches still arrive once each, in
// order, and commands are answered.
func TestNoisyLine(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 120*time.Second)
	j := new(linktest.Journal)
	g := newGateway(t, j, nil)
	d := cdevtest.Start(t, t.TempDir(), "-r")
	devEnd, err := os.OpenFile(d.TTY, os.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := fwemu.MakeRaw(devEnd); err != nil {
		t.Fatal(err)
	}
	m, s, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	if err := fwemu.MakeRaw(s); err != nil {
		t.Fatal(err)
	}
	gwEnd := pollableFile(t, m)
	var hits atomic.Int64
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); damage(gwEnd, devEnd, 0.003, 1, &hits) }()
	go func() { defer wg.Done(); damage(devEnd, gwEnd, 0.003, 2, &hits) }()
	t.Cleanup(func() { devEnd.Close(); gwEnd.Close(); wg.Wait(); s.Close() })
	attach(t, g, s.Name())
	boot := uint32(deviceStatus(t, d).Int("boot"))
	if err := d.Emit(500); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		r, err := g.Send(cctx, msg.Command{ID: "n-" + string(rune('a'+i)), Name: "ping"})
		cancel()
		if err != nil || r.Status != msg.StatusOK {
			t.Fatalf("command over the noisy line: %v %v", r, err)
		}
	}
	if err := waitFor(ctx, "every punch", func() bool { return linktest.CountEvents(j.Records()) >= 500 }); err != nil {
		t.Fatalf("%v (%d arrived)", err, linktest.CountEvents(j.Records()))
	}
	checkPunches(t, j.Events(), boot, 500)
	st := deviceStatus(t, d)
	t.Logf("%d bytes damaged; device dropped %s frames for their CRC, retransmitted %s; gateway dropped %d",
		hits.Load(), st["bad_crc"], st["retransmits"], g.Stats().DroppedTotal())
	if hits.Load() == 0 || g.Stats().DroppedTotal() == 0 {
		t.Fatalf("the line was not noisy: %d hits, %d drops", hits.Load(), g.Stats().DroppedTotal())
	}
	if err := d.Kill(); err != nil {
		t.Fatal(err)
	}
}
