package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// subscriber is the consumer at the far end: it receives events at QoS 1 and
// keeps, per phase, which ids arrived how often, when, and how late.
type subscriber struct {
	// Immutable.
	url    string
	filter string

	client paho.Client // owned by the orchestrating goroutine

	mu sync.Mutex
	// Guarded by mu.
	seen      map[string]int // event id → times received, this phase
	count     int            // messages this phase, duplicates included
	bad       int            // payloads without an id
	first     time.Time      // first and last arrival this phase
	last      time.Time
	lat       []time.Duration // for events carrying their emit time
	recordMax int             // keep up to this many messages for replay
	recorded  []message
	lost      []string // connection losses, when and why
	dups      int      // messages whose id had been seen before, this phase
}

// message is one publish: what the raw paho run replays.
type message struct {
	topic   string
	payload []byte
}

// sample is what a subscriber saw in a phase.
type sample struct {
	count, unique, dups, bad int
	first, last              time.Time
}

func newSubscriber(url, filter string) *subscriber {
	return &subscriber{url: url, filter: filter, seen: map[string]int{}}
}

// connect makes a fresh clean session and subscribes, returning once the
// broker granted the subscription.
func (s *subscriber) connect() error {
	o := paho.NewClientOptions().AddBroker(s.url).SetClientID("bench-subscriber").
		SetCleanSession(true).SetAutoReconnect(false).SetConnectRetry(false).
		SetConnectTimeout(5 * time.Second).SetKeepAlive(30 * time.Second).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			// A clean session that drops misses everything published until it
			// is back: say so, or the gap would look like the gateway's loss.
			s.mu.Lock()
			s.lost = append(s.lost, fmt.Sprintf("%s: %v", time.Now().Format("15:04:05.000"), err))
			s.mu.Unlock()
		})
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return fmt.Errorf("bench: subscriber connect to %s: %v", s.url, tok.Error())
	}
	// The handler is quick and never blocks, so paho may call it in order on
	// its own goroutine (its default) without stalling the connection.
	tok := c.Subscribe(s.filter, 1, s.onMessage)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		c.Disconnect(0)
		return fmt.Errorf("bench: subscribe to %s: %v", s.filter, tok.Error())
	}
	s.client = c
	return nil
}

func (s *subscriber) disconnect() {
	if s.client != nil {
		s.client.Disconnect(100)
		s.client = nil
	}
}

func (s *subscriber) onMessage(_ paho.Client, m paho.Message) {
	now := time.Now()
	id, tUs, err := decodeEvent(m.Payload())
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count++
	if s.first.IsZero() {
		s.first = now
	}
	s.last = now
	if err != nil || id == "" {
		s.bad++
		return
	}
	s.seen[id]++
	if s.seen[id] > 1 {
		s.dups++
	}
	if s.seen[id] == 1 && len(s.recorded) < s.recordMax {
		s.recorded = append(s.recorded, message{m.Topic(), m.Payload()})
	}
	if tUs > 0 {
		s.lat = append(s.lat, now.Sub(time.UnixMicro(tUs)))
	}
}

// decodeEvent reads an event's id and the emit time it carries, in µs since
// the epoch (0: none): "t_us", set by the bench's paced devices, or by raw
// paho at its publish call. The rest of the envelope is the gateway's
// business.
func decodeEvent(payload []byte) (id string, tUs int64, err error) {
	var e struct {
		ID   string `json:"id"`
		Data struct {
			T   float64 `json:"t_us"` // a float: integers may render in exponent form
			Raw struct {
				T float64 `json:"t_us"` // a terminal punch keeps fields it does not map under raw
			} `json:"raw"`
		} `json:"data"`
	}
	err = json.Unmarshal(payload, &e)
	return e.ID, int64(max(e.Data.T, e.Data.Raw.T)), err
}

// reset starts a phase; the first record messages that arrive are kept.
func (s *subscriber) reset(record int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = map[string]int{}
	s.count, s.bad, s.dups = 0, 0, 0
	s.first, s.last = time.Time{}, time.Time{}
	s.lat = nil
	s.recordMax, s.recorded = record, nil
}

// record keeps the next n new messages of this phase.
func (s *subscriber) record(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recordMax = len(s.recorded) + n
}

// stopRecording keeps what was recorded and records no more.
func (s *subscriber) stopRecording() []message {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recordMax = len(s.recorded)
	return s.recorded
}

func (s *subscriber) sample() sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	// O(1): polled every few ms under the handler's mutex, a walk over every
	// id seen would starve the handler at high rates.
	return sample{count: s.count, unique: len(s.seen), dups: s.dups, bad: s.bad, first: s.first, last: s.last}
}

func (s *subscriber) latencies() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := slices.Clone(s.lat)
	slices.Sort(l)
	return l
}

// waitFor polls until cond holds for what arrived, ctx ends or timeout
// passes. Polling every few milliseconds costs the measurement nothing that
// matters and keeps the handler free of notification logic.
func (s *subscriber) waitFor(ctx context.Context, timeout time.Duration, cond func(sample) bool) (sample, bool) {
	deadline := time.Now().Add(timeout)
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		sm := s.sample()
		if cond(sm) {
			return sm, true
		}
		if time.Now().After(deadline) {
			return sm, false
		}
		select {
		case <-ctx.Done():
			return sm, false
		case <-t.C:
		}
	}
}

// check compares the ids that arrived this phase with those expected:
// every expected id must have arrived, and nothing else.
func (s *subscriber) check(phase string, want map[string]struct{}) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	missing, extra := 0, 0
	for id := range want {
		if s.seen[id] == 0 {
			missing++
		}
	}
	for id := range s.seen {
		if _, ok := want[id]; !ok {
			extra++
		}
	}
	if missing > 0 || extra > 0 || s.bad > 0 {
		lost := ""
		if len(s.lost) > 0 {
			lost = fmt.Sprintf(" (the subscriber itself lost its connection: %v)", s.lost)
		}
		return fmt.Errorf("bench: %s: %d of %d events missing, %d unexpected ids, %d payloads without an id%s", phase, missing, len(want), extra, s.bad, lost)
	}
	return nil
}

// waitIDs waits until every id in want arrived, then checks the phase.
func (s *subscriber) waitIDs(ctx context.Context, phase string, want map[string]struct{}, timeout time.Duration) (sample, error) {
	sm, _ := s.waitFor(ctx, timeout, func(sm sample) bool { return sm.unique >= len(want) })
	if err := ctx.Err(); err != nil {
		return sm, err
	}
	return sm, s.check(phase, want)
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// missing counts the ids in want that never arrived.
func (s *subscriber) missing(want map[string]struct{}) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id := range want {
		if _, ok := s.seen[id]; !ok {
			n++
		}
	}
	return n
}
