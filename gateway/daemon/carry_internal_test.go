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

// TestLinkWatchCarriesEveryLink: one watcher serves every link: with no
// change it mirrors none of them, one tick (or carryNow) mirrors each of
// them once with its link's status (MQTT.md: last_seen carried forward at
// least every 30 s), and it returns when its context ends.
func TestLinkWatchCarriesEveryLink(t *testing.T) {
	testkit.NoLeaks(t)
	bound := testkit.Ctx(t, 20*time.Second)
	ctx, stop := context.WithCancel(bound)
	defer stop()
	lw := newLinkWatch()
	tick := make(chan time.Time)
	ran := make(chan struct{})
	go func() { defer close(ran); lw.run(ctx, tick) }()

	type woke struct {
		i  int
		st link.Status
	}
	const links = 8
	res := make(chan woke, 4*links)
	for i := range links {
		lg, err := link.NewGateway(link.GatewayConfig{Sink: discardSink{}})
		if err != nil {
			t.Fatal(err)
		}
		lw.add(lg, func(_ context.Context, st, _ link.Status) { res <- woke{i, st} }, func() uint64 { return 0 })
	}
	carried := func(how string, carry func()) {
		t.Helper()
		carry()
		seen := map[int]bool{}
		for range links {
			select {
			case w := <-res:
				if seen[w.i] {
					t.Errorf("%s: link %d mirrored twice", how, w.i)
				}
				seen[w.i] = true
			case <-bound.Done():
				t.Fatalf("%s did not mirror every link: %d of %d", how, len(seen), links)
			}
		}
	}
	carried("a tick", func() {
		select {
		case tick <- time.Now():
		case <-bound.Done():
			t.Fatal("the watcher does not take its tick")
		}
	})
	carried("carryNow", lw.carryNow)
	// The links never changed: what add and the carries did is all.
	lw.carryNow()
	for range links {
		<-res
	}
	select {
	case w := <-res:
		t.Fatalf("link %d mirrored with no change and no carry: %+v", w.i, w.st)
	default:
	}
	stop()
	select {
	case <-ran:
	case <-bound.Done():
		t.Fatal("the watcher outlives its context")
	}
}
