package link_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/officegate/officegate/firmware-bridge/fwemu"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/link/linktest"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/internal/testkit"
)

// noise says how a noisy direction damages the bytes that cross it. Rates
// are per byte except Garbage (per read).
type noise struct {
	Flip, Drop, Dup, Garbage float64
	MaxDelay                 time.Duration // some writes wait up to this long
}

type noiseStats struct{ flips, drops, dups, garbage, writes atomic.Int64 }

// corrupt copies src to dst, damaging the bytes, splitting reads into
// several writes and merging several reads into one. It returns when
// either side fails.
func corrupt(dst io.Writer, src io.Reader, n noise, seed uint64, st *noiseStats) {
	r := rand.New(rand.NewPCG(seed, 99))
	buf := make([]byte, 128)
	var out []byte
	for {
		k, err := src.Read(buf[:1+r.IntN(len(buf))])
		for _, b := range buf[:k] {
			switch p := r.Float64(); {
			case p < n.Drop:
				st.drops.Add(1)
				continue
			case p < n.Drop+n.Dup:
				st.dups.Add(1)
				out = append(out, b)
			case p < n.Drop+n.Dup+n.Flip:
				st.flips.Add(1)
				b ^= 1 << r.IntN(8)
			}
			out = append(out, b)
		}
		if r.Float64() < n.Garbage {
			st.garbage.Add(1)
			for i := r.IntN(24); i >= 0; i-- {
				out = append(out, byte(r.IntN(4))*byte(r.Uint32())) // zeros among them
			}
		}
		if err != nil {
			return
		}
		if r.IntN(3) == 0 && len(out) < 512 {
			continue // merge with the next read
		}
		for len(out) > 0 {
			cut := 1 + r.IntN(len(out))
			if n.MaxDelay > 0 && r.IntN(40) == 0 {
				time.Sleep(time.Duration(r.Int64N(int64(n.MaxDelay)))) // the line's latency, not synchronisation
			}
			if _, err := dst.Write(out[:cut]); err != nil {
				return
			}
			st.writes.Add(1)
			out = out[cut:]
		}
	}
}

// TestNoisyLine puts a proxy between the gateway (on a PTY, through the
// serial port package) and the emulated firmware (on an in-process pipe)
// that flips bits, drops and duplicates bytes, injects garbage, splits,
// merges and delays writes, both ways. Every event arrives once and in
// order, every command is executed once and answered once, and the link
// resynchronises by itself.
func TestNoisyLine(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 50*time.Second)
	j := new(linktest.Journal)
	g := newGateway(t, j, nil)
	var mu sync.Mutex
	executed := map[string]int{}
	opts := emuOpts(t, t.TempDir())
	opts.Commands = map[string]fwemu.CommandFunc{"count": func(ctx context.Context, args map[string]any) (map[string]any, error) {
		mu.Lock()
		defer mu.Unlock()
		executed[args["id"].(string)]++
		return map[string]any{"id": args["id"]}, nil
	}}
	e := newEmu(t, opts)

	l := newLine(t)
	port := openGateway(t, l)
	devEnd, proxyEnd := net.Pipe()
	n := noise{Flip: 1.0 / 2000, Drop: 1.0 / 4000, Dup: 1.0 / 4000, Garbage: 1.0 / 100, MaxDelay: 2 * time.Millisecond}
	var up, down noiseStats
	var pw sync.WaitGroup
	pw.Add(2)
	go func() { defer pw.Done(); corrupt(l.dev, proxyEnd, n, 1, &up) }()
	go func() { defer pw.Done(); corrupt(proxyEnd, l.dev, n, 2, &down) }()
	t.Cleanup(func() { proxyEnd.Close(); l.dev.Close(); pw.Wait() })
	run(t, func(ctx context.Context) error { return g.Run(ctx, port) })
	run(t, func(ctx context.Context) error { return e.Run(ctx, devEnd) })

	var cmds []msg.Command
	for i := 0; i < 300; i++ {
		id := fmt.Sprintf("noisy-%04d", i)
		cmds = append(cmds, msg.Command{ID: id, Name: "count", Args: map[string]any{"id": id}})
	}
	snd := sendAll(ctx, g, cmds)
	var want []msg.EventID
	for i := 0; i < 20; i++ {
		ids, err := e.EmitN(100)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, ids...)
	}
	waitEvents(t, ctx, j, len(want))
	snd.wg.Wait()
	checkEvents(t, j.Events(), want)
	if len(snd.errs) > 0 || len(snd.res) != len(cmds) {
		t.Fatalf("%d results, errors %v", len(snd.res), snd.errs)
	}
	for _, c := range cmds {
		if r := snd.res[c.ID]; r.Status != msg.StatusOK || r.Data["id"] != c.ID {
			t.Fatalf("%s: %+v", c.ID, r)
		}
		if k := executed[c.ID]; k != 1 {
			t.Fatalf("%s executed %d times", c.ID, k)
		}
	}
	gs, ds := g.Stats(), e.Link().Stats()
	t.Logf("fast retransmits: gateway %d, device %d", gs.FastRetransmits, ds.FastRetransmits)
	if gs.DroppedTotal() == 0 || ds.DroppedTotal() == 0 || gs.Retransmits+ds.Retransmits == 0 {
		t.Fatalf("the noise did nothing: gateway %+v device %+v", gs, ds)
	}
	t.Logf("noise up: %d flips %d drops %d dups %d garbage; down: %d flips %d drops %d dups %d garbage",
		up.flips.Load(), up.drops.Load(), up.dups.Load(), up.garbage.Load(),
		down.flips.Load(), down.drops.Load(), down.dups.Load(), down.garbage.Load())
	t.Logf("gateway: dropped %v, retransmits %d, duplicates %d, out of order %d, sessions %d, resumes %d",
		gs.Dropped, gs.Retransmits, gs.Duplicates, gs.OutOfOrder, gs.Sessions, gs.Resumes)
	t.Logf("device: dropped %v, retransmits %d, duplicates %d, out of order %d",
		ds.Dropped, ds.Retransmits, ds.Duplicates, ds.OutOfOrder)
}

// TestBusy: the journal refuses a tenth of the commits (disk full): the
// gateway answers BUSY, the device keeps its records and retries, and the
// journal still ends with every event once, in order.
func TestBusy(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 40*time.Second)
	r := rand.New(rand.NewPCG(5, 5))
	var rmu sync.Mutex
	j := &linktest.Journal{Busy: func(link.Record) bool { rmu.Lock(); defer rmu.Unlock(); return r.IntN(10) == 0 }}
	g := newGateway(t, j, nil)
	e := newEmu(t, emuOpts(t, t.TempDir()))
	l := newLine(t)
	port := openGateway(t, l)
	run(t, func(ctx context.Context) error { return g.Run(ctx, port) })
	run(t, func(ctx context.Context) error { return e.Run(ctx, l.dev) })
	want, _ := e.EmitN(500)
	var cmds []msg.Command
	for i := 0; i < 50; i++ {
		cmds = append(cmds, ping(i))
	}
	snd := sendAll(ctx, g, cmds)
	waitEvents(t, ctx, j, len(want))
	snd.wg.Wait()
	checkEvents(t, j.Events(), want)
	if len(snd.res) != len(cmds) || len(j.Results()) != len(cmds) {
		t.Fatalf("%d results, %d committed", len(snd.res), len(j.Results()))
	}
	if gs, ds := g.Stats(), e.Link().Stats(); gs.BusySent == 0 || ds.BusyRecv == 0 {
		t.Fatalf("no BUSY exchanged: gateway sent %d, device received %d", gs.BusySent, ds.BusyRecv)
	}
}
