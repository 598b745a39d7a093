package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// fleetConsumer reads the phase's events out of the stream its publisher's
// acknowledgements stand for (fleetEnv.phaseStream): a pull consumer of the
// phase's own (no acks, in stream order) from the stream's end when the
// phase starts, so what it receives was stored first. It is replicated as
// the stream is ($MQTT_msgs, with interest retention, takes no other, so no
// ordered consumer), and outlives a change of leader.
type fleetConsumer struct {
	st   jetstream.Stream
	name string
	cc   jetstream.ConsumeContext

	mu sync.Mutex
	// Guarded by mu.
	seen map[string]arrival
	bad  int // payloads without an id
}

// arrival is an event's first delivery.
type arrival struct {
	at  time.Time
	due time.Time // the t_us it carries
	seq uint64    // its stream sequence
	n   int       // deliveries
}

// startFleetConsumer reads the events of subject filter from st.
func startFleetConsumer(ctx context.Context, st jetstream.Stream, filter string) (*fleetConsumer, error) {
	c := &fleetConsumer{st: st, seen: map[string]arrival{}}
	cctx, cancel := context.WithTimeout(ctx, phaseTimeout)
	defer cancel()
	sc := st.CachedInfo().Config
	cons, err := st.CreateConsumer(cctx, jetstream.ConsumerConfig{
		FilterSubject: filter, DeliverPolicy: jetstream.DeliverNewPolicy, AckPolicy: jetstream.AckNonePolicy,
		Replicas: sc.Replicas, InactiveThreshold: phaseTimeout})
	if err != nil {
		return nil, fmt.Errorf("bench: consumer of the stream %s: %w", sc.Name, err)
	}
	c.name = cons.CachedInfo().Name
	if c.cc, err = cons.Consume(c.onMessage); err != nil {
		c.delete()
		return nil, fmt.Errorf("bench: consume the stream %s: %w", sc.Name, err)
	}
	return c, nil
}

func (c *fleetConsumer) onMessage(m jetstream.Msg) {
	now := time.Now()
	var e struct {
		ID   string `json:"id"`
		Data struct {
			T float64 `json:"t_us"` // a float: integers may render in exponent form
		} `json:"data"`
	}
	err := json.Unmarshal(m.Data(), &e)
	var seq uint64
	if md, mdErr := m.Metadata(); mdErr == nil {
		seq = md.Sequence.Stream
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil || e.ID == "" {
		c.bad++
		return
	}
	a, ok := c.seen[e.ID]
	if !ok {
		a = arrival{at: now, due: time.UnixMicro(int64(e.Data.T)), seq: seq}
	}
	a.n++
	c.seen[e.ID] = a
}

// stop ends the consumer: deleted, it no longer keeps the later phases'
// messages in $MQTT_msgs.
func (c *fleetConsumer) stop() {
	c.cc.Stop()
	c.delete()
}

func (c *fleetConsumer) delete() {
	ctx, cancel := context.WithTimeout(context.Background(), phaseTimeout)
	defer cancel()
	_ = c.st.DeleteConsumer(ctx, c.name) // else it goes after InactiveThreshold
}

// consumed is what the consumer made of a phase.
type consumed struct {
	doneAt  time.Time       // the last wanted event's arrival
	lastSeq uint64          // the highest stream sequence among them
	lat     []time.Duration // due → arrival, sorted
	dups    int             // wanted events delivered more than once
}

// await waits until every id in want has arrived, then checks that nothing
// else did.
func (c *fleetConsumer) await(ctx context.Context, want map[string]struct{}, timeout time.Duration) (consumed, error) {
	var got consumed
	count := func() int {
		c.mu.Lock()
		defer c.mu.Unlock()
		n := 0
		for id := range want {
			if _, ok := c.seen[id]; ok {
				n++
			}
		}
		return n
	}
	// Counting walks want: every 50 ms is often enough for a phase of
	// seconds and leaves the handler its mutex.
	deadline := time.Now().Add(timeout)
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for n := count(); n < len(want); n = count() {
		if time.Now().After(deadline) {
			return got, fmt.Errorf("%d of %d events never came out of the stream within %v", len(want)-n, len(want), timeout)
		}
		select {
		case <-ctx.Done():
			return got, ctx.Err()
		case <-t.C:
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if extra := len(c.seen) - len(want); extra > 0 || c.bad > 0 {
		return got, fmt.Errorf("the stream delivered %d events no publisher sent this phase and %d payloads without an id", extra, c.bad)
	}
	for id := range want {
		a := c.seen[id]
		if a.at.After(got.doneAt) {
			got.doneAt = a.at
		}
		got.lastSeq = max(got.lastSeq, a.seq)
		got.lat = append(got.lat, a.at.Sub(a.due))
		if a.n > 1 {
			got.dups++
		}
	}
	slices.Sort(got.lat)
	return got, nil
}

// seqPoller samples the stream's last sequence, to tell when a phase's
// last event was stored (acknowledged by a quorum of its replicas).
type seqPoller struct {
	stopc chan struct{}
	done  chan struct{}

	mu sync.Mutex
	// Guarded by mu.
	samples []seqSample
	err     error
}

type seqSample struct {
	at  time.Time
	seq uint64
}

// seqPollEvery is the resolution of the stored rate: 20 ms in phases of
// seconds, at the cost of one stream info request (on the stream's leader)
// per poll.
const seqPollEvery = 20 * time.Millisecond

func startSeqPoller(ctx context.Context, st jetstream.Stream) *seqPoller {
	p := &seqPoller{stopc: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		t := time.NewTicker(seqPollEvery)
		defer t.Stop()
		for {
			ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
			info, err := st.Info(ictx)
			cancel()
			p.mu.Lock()
			if err != nil {
				p.err = err
			} else {
				// The time the answer came: the sequence was reached by then.
				p.samples = append(p.samples, seqSample{time.Now(), info.State.LastSeq})
			}
			p.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-p.stopc:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

// reached returns the first sample at which the stream's last sequence was
// seq or more, waiting for one if need be.
func (p *seqPoller) reached(ctx context.Context, seq uint64, timeout time.Duration) (time.Time, error) {
	var at time.Time
	err := poll(ctx, timeout, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, s := range p.samples {
			if s.seq >= seq {
				at = s.at
				return true
			}
		}
		return false
	})
	if err != nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		return at, fmt.Errorf("the stream's last sequence did not reach %d: %w (last stream info error: %v)", seq, err, p.err)
	}
	return at, nil
}

func (p *seqPoller) stop() {
	select {
	case <-p.stopc:
	default:
		close(p.stopc)
	}
	<-p.done
}
