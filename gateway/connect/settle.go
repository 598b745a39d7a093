package connect

import (
	"context"
	"time"
)

// A message is acknowledged to the backbone once every sink that reads its
// local stream has passed it: delivered, dead-lettered or held (doc.go,
// "Acknowledgement"). Until then the backbone keeps it for this replica
// (Keep), and gives it to another if this one dies.

// waiting is a message journaled (or a duplicate of one journaled) whose
// acknowledgement waits for the sinks.
type waiting struct {
	stream    string
	seq       uint64 // its local journal sequence number
	key       [keySize]byte
	ack, keep func()
}

// settleEvery is how often journaled messages are checked against the
// sinks' cursors: a few ms of added latency before the acknowledgement,
// whose only cost is the backbone's MaxAckPending being held a little
// longer.
const settleEvery = 10 * time.Millisecond

// readers lists, for each local stream, the sinks reading it.
func (c *Connector) readers() map[string][]string {
	out := map[string][]string{}
	for _, s := range c.sinkStreams {
		for _, st := range s.streams {
			out[st] = append(out[st], s.name)
		}
	}
	return out
}

// cursors is, for each stream some sink reads, the lowest of their
// cursors: every record at or below it has left the journal for every
// sink.
func (c *Connector) cursors() map[string]uint64 {
	out := map[string]uint64{}
	for _, s := range c.sinkStreams {
		cs, err := c.j.ConsumerStats(s.name)
		if err != nil {
			continue
		}
		for _, st := range cs {
			if cur, ok := out[st.Stream]; !ok || st.Cursor < cur {
				out[st.Stream] = st.Cursor
			}
		}
	}
	return out
}

// wait registers messages whose acknowledgement waits for the sinks.
func (c *Connector) wait(ws []waiting) {
	if len(ws) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waiting = append(c.waiting, ws...)
	for _, w := range ws {
		c.inJournal[w.key] = journalPos{w.stream, w.seq}
	}
}

// settle acknowledges, every settleEvery, the waiting messages the sinks
// have passed, and keeps the others with the backbone every keepEvery.
func (c *Connector) settle(ctx context.Context, keepEvery time.Duration) {
	t := time.NewTicker(settleEvery)
	defer t.Stop()
	lastKeep := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c.mu.Lock()
		n := len(c.waiting) + len(c.inJournal)
		c.mu.Unlock()
		if n == 0 {
			lastKeep = time.Now()
			continue
		}
		cur := c.cursors()
		keep := time.Since(lastKeep) >= keepEvery
		if keep {
			lastKeep = time.Now()
		}
		var acks, keeps []func()
		c.mu.Lock()
		rest := c.waiting[:0]
		for _, w := range c.waiting {
			if w.seq <= cur[w.stream] {
				if w.ack != nil {
					acks = append(acks, w.ack)
				}
				if p, ok := c.inJournal[w.key]; ok && p.seq <= cur[p.stream] {
					delete(c.inJournal, w.key)
				}
				continue
			}
			if keep && w.keep != nil {
				keeps = append(keeps, w.keep)
			}
			rest = append(rest, w)
		}
		clear(c.waiting[len(rest):])
		c.waiting = rest
		if keep {
			// Records found in the journal at start that no duplicate
			// waited for.
			for k, p := range c.inJournal {
				if p.seq <= cur[p.stream] {
					delete(c.inJournal, k)
				}
			}
		}
		c.mu.Unlock()
		for _, f := range acks {
			f()
		}
		for _, f := range keeps {
			f()
		}
	}
}

// journalPos is where a record is in the local journal.
type journalPos struct {
	stream string
	seq    uint64
}
