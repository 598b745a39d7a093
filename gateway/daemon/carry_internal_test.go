package daemon

import (
	"context"
	"testing"
	"time"

	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/internal/testkit"
)

type discardSink struct{}

func (discardSink) Commit(context.Context, link.Record) error { return nil }

// TestLinkWatchersShareOneCarry: the watchers of every link wait for the
// same turn of one carry-forward, not each on a timer of its own: one tick
// wakes them all, each with its link's status (MQTT.md: last_seen carried
// forward at least every 30 s), and the next turn waits for the next tick.
// When the watchers' context ends, so does every turn.
func TestLinkWatchersShareOneCarry(t *testing.T) {
	testkit.NoLeaks(t)
	bound := testkit.Ctx(t, 20*time.Second)
	ctx, stop := context.WithCancel(bound)
	defer stop()
	cf := newCarryForward(ctx)
	tick := make(chan time.Time)
	ran := make(chan struct{})
	go func() { defer close(ran); cf.run(tick) }()

	type woke struct {
		i   int
		st  link.Status
		err error
	}
	const links = 8
	res := make(chan woke, links)
	var gws []*link.Gateway
	for i := range links {
		lg, err := link.NewGateway(link.GatewayConfig{Sink: discardSink{}})
		if err != nil {
			t.Fatal(err)
		}
		gws = append(gws, lg)
		last, turn := lg.Status(), cf.next()
		go func() {
			st, err := nextStatus(ctx, lg, last, 0, turn)
			res <- woke{i, st, err}
		}()
	}
	select {
	case w := <-res:
		t.Fatalf("watcher %d woke with no change and no carry: %+v, %v", w.i, w.st, w.err)
	default:
	}
	select {
	case tick <- time.Now():
	case <-bound.Done():
		t.Fatal("the carry-forward does not take its tick")
	}
	for range links {
		select {
		case w := <-res:
			if w.err != nil {
				t.Errorf("watcher %d: %v; want its link's status at the carry", w.i, w.err)
			}
		case <-bound.Done():
			t.Fatal("one tick did not wake every watcher")
		}
	}
	if err := cf.next().Err(); err != nil {
		t.Fatalf("the turn after a carry is already over: %v", err)
	}

	turn := cf.next()
	stop()
	<-ran
	select {
	case <-turn.Done():
	case <-bound.Done():
		t.Fatal("a turn outlives the watchers' context")
	}
	if _, err := nextStatus(ctx, gws[0], gws[0].Status(), 0, turn); err == nil {
		t.Error("nextStatus returned a status after the watchers' context ended; want its error")
	}
}
