package reader

import (
	"context"
	"slices"
	"time"

	"github.com/officegate/officegate/devices/wiegand"
)

// maxAnchors bounds the reads remembered while no frame comes out (noise): a frame's
// first edge is at most a few reads old, so 64 is plenty.
const maxAnchors = 64

// anchor ties the kernel time of the last edge of a read to the wall time the read
// returned.
type anchor struct {
	kernel time.Duration
	wall   time.Time
}

// wallSource wraps an EdgeSource and remembers, for each read that returned edges, the
// wall time it returned, so frame times can be put on the wall clock (doc.go §Time).
// Used by Run's goroutine only.
type wallSource struct {
	src     wiegand.EdgeSource
	now     func() time.Time
	anchors []anchor // in read order, so in kernel time order
}

func (w *wallSource) ReadEdges(ctx context.Context, dst []wiegand.Edge, wait time.Duration) (int, error) {
	n, err := w.src.ReadEdges(ctx, dst, wait)
	if n > 0 {
		if len(w.anchors) == maxAnchors {
			w.anchors = slices.Delete(w.anchors, 0, 1)
		}
		w.anchors = append(w.anchors, anchor{kernel: dst[n-1].Time, wall: w.now()})
	}
	return n, err
}

// wall returns the wall time of the edge at kernel time t, which a read returned. Frames
// come out in time order, so the reads before the one that held t are forgotten.
func (w *wallSource) wall(t time.Duration) time.Time {
	if len(w.anchors) == 0 {
		return w.now().Round(0)
	}
	i := 0
	for i < len(w.anchors)-1 && w.anchors[i].kernel < t {
		i++
	}
	w.anchors = slices.Delete(w.anchors, 0, i)
	a := w.anchors[0]
	// Round(0) drops the monotonic reading: the time is a time of day.
	return a.wall.Add(t - a.kernel).Round(0)
}
