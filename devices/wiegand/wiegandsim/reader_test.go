package wiegandsim_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/officegate/officegate/devices/wiegand"
	"github.com/officegate/officegate/devices/wiegand/wiegandsim"
)

// TestPulseTrain checks the simulator's output is a real pulse train: pulse widths and
// spacings within jitter of the timing, edges in time order, sequence numbers unbroken.
func TestPulseTrain(t *testing.T) {
	for _, tm := range []wiegandsim.Timing{wiegandsim.Typical, wiegandsim.WidePulse, wiegandsim.Slowest} {
		r := wiegandsim.NewReader(1)
		r.Timing, r.BothEdges, r.Jitter = tm, true, 0.1
		edges, err := r.Card(wiegand.H10304, 1234, 56789)
		if err != nil {
			t.Fatal(err)
		}
		if len(edges) != 2*37 {
			t.Fatalf("%d edges", len(edges))
		}
		within := func(d, want time.Duration) bool {
			return d >= want*9/10 && d <= want*11/10
		}
		var lineSeq [2]uint32
		for i, e := range edges {
			lineSeq[e.Line]++
			if e.Seq != uint32(i+1) || e.LineSeq != lineSeq[e.Line] {
				t.Fatalf("edge %d numbered %d/%d", i, e.Seq, e.LineSeq)
			}
			if e.Falling != (i%2 == 0) {
				t.Fatalf("edge %d falling=%v", i, e.Falling)
			}
			if i%2 == 1 {
				if w := e.Time - edges[i-1].Time; e.Line != edges[i-1].Line || !within(w, tm.Width) {
					t.Fatalf("%v: pulse %d lasts %v", tm, i/2, w)
				}
			} else if i > 0 {
				if g := e.Time - edges[i-1].Time; !within(g, tm.Gap) {
					t.Fatalf("%v: gap before pulse %d is %v", tm, i/2, g)
				}
			}
		}
		if r.Now() != edges[len(edges)-1].Time {
			t.Errorf("Now %v, last edge %v", r.Now(), edges[len(edges)-1].Time)
		}
	}
}

func TestNoise(t *testing.T) {
	r := wiegandsim.NewReader(2)
	r.Noise = wiegandsim.Noise{Drop: 0.2}
	edges, _ := r.Card(wiegand.H10301, 1, 2)
	gaps := 0
	for i := 1; i < len(edges); i++ {
		if edges[i].Seq != edges[i-1].Seq+1 {
			gaps++
		}
	}
	if len(edges) >= 26 || gaps == 0 {
		t.Errorf("drop: %d edges, %d gaps", len(edges), gaps)
	}
	r.Noise = wiegandsim.Noise{Spurious: 0.2}
	if edges, _ = r.Card(wiegand.H10301, 1, 2); len(edges) <= 26 {
		t.Errorf("spurious: %d edges", len(edges))
	}
}

func TestSource(t *testing.T) {
	s := wiegandsim.NewSource()
	ctx := context.Background()
	dst := make([]wiegand.Edge, 2)
	if n, err := s.ReadEdges(ctx, dst, time.Millisecond); n != 0 || err != nil {
		t.Fatalf("empty: %d %v", n, err)
	}
	s.Push(wiegand.Edge{Seq: 1}, wiegand.Edge{Seq: 2}, wiegand.Edge{Seq: 3})
	s.Close()
	for _, want := range []int{2, 1} {
		if n, err := s.ReadEdges(ctx, dst, time.Millisecond); n != want || err != nil {
			t.Fatalf("read %d, %v; want %d", n, err, want)
		}
	}
	if _, err := s.ReadEdges(ctx, dst, time.Millisecond); err != io.EOF {
		t.Fatalf("drained: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := wiegandsim.NewSource().ReadEdges(cctx, dst, time.Hour); err != context.Canceled {
		t.Fatalf("cancelled: %v", err)
	}
}
