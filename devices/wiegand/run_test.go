package wiegand_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/officegate/officegate/devices/wiegand"
	"github.com/officegate/officegate/devices/wiegand/wiegandsim"
)

// TestRunPlayback plays a finished capture: Run reads it in batches, flushes at its end
// and returns nil.
func TestRunPlayback(t *testing.T) {
	r := wiegandsim.NewReader(11)
	src := wiegandsim.NewSource()
	var want []uint64
	for i := range uint64(100) { // 2600+ edges: several reads of 512
		e, _ := r.Card(wiegand.H10301, 1, i)
		src.Push(e...)
		want = append(want, i)
	}
	keys, _ := r.Keys("42#")
	src.Push(keys...)
	src.Close()
	d, _ := wiegand.New(nil)
	var got []wiegand.Frame
	if err := wiegand.Run(context.Background(), src, d, func(f wiegand.Frame) { got = append(got, f) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want)+1 || got[len(got)-1].Keys != "42" {
		t.Fatalf("%d frames, want %d", len(got), len(want)+1)
	}
	for i, c := range want {
		if got[i].Card != c {
			t.Fatalf("frame %d: %v", i, got[i])
		}
	}
}

// TestRunLive feeds a source that stays open: the frame must come out after the lines
// have been quiet for the end gap, with no later edge to end it, and cancelling ctx must
// stop Run.
func TestRunLive(t *testing.T) {
	src := wiegandsim.NewSource()
	d, _ := wiegand.New(nil)
	frames := make(chan wiegand.Frame, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- wiegand.Run(ctx, src, d, func(f wiegand.Frame) {
			select {
			case frames <- f:
			case <-ctx.Done():
			}
		})
	}()
	e, _ := wiegandsim.NewReader(12).Card(wiegand.H10304, 9, 99)
	src.Push(e...)
	select {
	case f := <-frames:
		if f.Card != 99 {
			t.Errorf("frame %v", f)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no frame 10 s after the edges")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run still running 10 s after cancel")
	}
}

type failingSource struct{ err error }

func (s failingSource) ReadEdges(context.Context, []wiegand.Edge, time.Duration) (int, error) {
	return 0, s.err
}

func TestRunSourceError(t *testing.T) {
	d, _ := wiegand.New(nil)
	if err := wiegand.Run(context.Background(), failingSource{wiegand.ErrClosed}, d, func(wiegand.Frame) {}); !errors.Is(err, wiegand.ErrClosed) {
		t.Errorf("Run = %v", err)
	}
}
