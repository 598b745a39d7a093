package daemon

import (
	"context"
	"reflect"
	"sync"
	"time"

	"github.com/officegate/officegate/firmware-bridge/link"
)

// lastSeenEvery is how often the link watcher takes every link's status
// without a change, to carry last_seen forward into the retained status and
// the registry.
const lastSeenEvery = 30 * time.Second

// linkWatch is the one goroutine that mirrors the status of many links (a
// stage's) into their retained statuses, histories and the registry: each
// link marks itself when its status changes (link.Gateway.OnChange), and
// the watcher takes the marked ones in turn. A goroutine waiting on each
// link cost its stack a link, and as much again in the collector's goal
// (docs/PERFORMANCE.md, Memory).
//
// At every carry (MQTT.md: last_seen carried forward at least every 30 s)
// it takes every link, so an idle gateway wakes once per lastSeenEvery for
// all its links, their retained statuses published in one burst.
type linkWatch struct {
	kick  chan struct{} // a link was marked; buffered 1
	carry chan struct{} // carryNow was called; buffered 1

	mu sync.Mutex
	// Guarded by mu.
	links []*watchedLink
}

// watchedLink is one link of a linkWatch.
type watchedLink struct {
	lg *link.Gateway
	// update mirrors st, the link's status now; last is the one it was given
	// before (zero the first time).
	update func(ctx context.Context, st, last link.Status)
	// refused is the link's count of refused HELLOs update has reported: a
	// count that moved is a change.
	refused func() uint64

	marked bool // guarded by linkWatch.mu

	last link.Status // owned by the watcher's goroutine
}

func newLinkWatch() *linkWatch {
	return &linkWatch{kick: make(chan struct{}, 1), carry: make(chan struct{}, 1)}
}

// add watches lg from now on: update is called with its status at once, and
// then whenever it changes in anything but LastSeen, its count of refused
// HELLOs moves from what refused says, or the watcher carries.
func (w *linkWatch) add(lg *link.Gateway, update func(ctx context.Context, st, last link.Status), refused func() uint64) {
	l := &watchedLink{lg: lg, update: update, refused: refused, marked: true}
	w.mu.Lock()
	w.links = append(w.links, l)
	w.mu.Unlock()
	lg.OnChange(func() { w.mark(l) })
	w.wake(w.kick)
}

// mark notes that l changed. It is called with l's link mutex held: it takes
// only w.mu, which is never held while calling a link.
func (w *linkWatch) mark(l *watchedLink) {
	w.mu.Lock()
	l.marked = true
	w.mu.Unlock()
	w.wake(w.kick)
}

// carryNow makes the watcher take every link's status at its next turn.
func (w *linkWatch) carryNow() { w.wake(w.carry) }

func (w *linkWatch) wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// run watches until ctx ends, carrying at every tick (nil: only at
// carryNow).
func (w *linkWatch) run(ctx context.Context, tick <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.kick:
			w.turn(ctx, false)
		case <-w.carry:
			w.turn(ctx, true)
		case <-tick:
			w.turn(ctx, true)
		}
	}
}

// turn mirrors the marked links, or every link if carry.
func (w *linkWatch) turn(ctx context.Context, carry bool) {
	w.mu.Lock()
	todo := make([]*watchedLink, 0, len(w.links))
	for _, l := range w.links {
		if carry || l.marked {
			todo = append(todo, l)
		}
		l.marked = false
	}
	w.mu.Unlock()
	for _, l := range todo {
		if ctx.Err() != nil {
			return
		}
		st := l.lg.Status()
		if !carry && !changed(l.lg, st, l.last, l.refused()) {
			continue
		}
		l.update(ctx, st, l.last)
		l.last = st
	}
}

// changed reports whether st differs from last in anything but LastSeen,
// or lg's count of refused HELLOs moved from refused. LastSeen moves with
// every frame, without a notification: compared, it only made a wake-up
// race with the next frame; carried forward every lastSeenEvery, the
// retained last_seen is never older than that while the device talks.
func changed(lg *link.Gateway, st, last link.Status, refused uint64) bool {
	st.LastSeen = last.LastSeen
	return !reflect.DeepEqual(st, last) || lg.Stats().AuthRefused != refused
}
