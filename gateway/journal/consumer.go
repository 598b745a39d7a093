package journal

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Consumer is a named reader of some streams with cursors of its own: a sink
// besides the primary consumer (the MQTT uplink, which reads with Reader). A
// consumer's cursors hold back retention like the primary's, so a segment is
// deleted only when every configured consumer has passed it (FORMAT.md §5.2,
// §7). A consumer that is no longer configured has its cursors released at
// Open, and Open says so.
type Consumer struct {
	Name    string   // 1..32 bytes of a-z, 0-9, '-' and '_'
	Streams []string // configured streams it reads
}

// cstate is one consumer's state on one stream. Guarded by Journal.mu.
type cstate struct {
	cur      cursor // acknowledged
	saved    cursor // as last persisted
	reader   *Reader
	depth    uint64 // records after the cursor still on disk
	readHigh uint64 // highest sequence number the reader has passed
	acked    uint64 // since Open
}

// consumerKeySep separates a consumer's name from a stream's in the cursors
// file (FORMAT.md §5.2): the primary consumer's keys are bare stream names,
// which never hold it.
const consumerKeySep = "/"

func consumerKey(consumer, stream string) string { return consumer + consumerKeySep + stream }

func validConsumerName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// checkConsumers validates Options.Consumers against the configured streams.
func checkConsumers(o *Options) error {
	streams := map[string]bool{}
	for _, s := range o.Streams {
		streams[s.Name] = true
	}
	seen := map[string]bool{}
	for i, c := range o.Consumers {
		field := fmt.Sprintf("Consumers[%d]", i)
		switch {
		case !validConsumerName(c.Name):
			return fmt.Errorf("%w: %s.Name = %q: must be 1..32 bytes of a-z, 0-9, '-', '_'", ErrConfig, field, c.Name)
		case seen[c.Name]:
			return fmt.Errorf("%w: %s.Name = %q: duplicate consumer", ErrConfig, field, c.Name)
		case len(c.Streams) == 0:
			return fmt.Errorf("%w: %s.Streams = []: consumer %q reads no stream", ErrConfig, field, c.Name)
		}
		seen[c.Name] = true
		for _, s := range c.Streams {
			if !streams[s] {
				return fmt.Errorf("%w: %s.Streams: consumer %q reads %q, which is not a configured stream", ErrConfig, field, c.Name, s)
			}
		}
	}
	return nil
}

// loadNamedCursors gives every configured consumer its cursors from the
// cursors file c (absent: from the oldest retained record) and reports the
// cursors of consumers no longer configured, which are released.
func (j *Journal) loadNamedCursors(c map[string]cursor) {
	for _, con := range j.opt.Consumers {
		for _, s := range con.Streams {
			st := j.byName[s]
			if st.named == nil {
				st.named = map[string]*cstate{}
			}
			cur := c[consumerKey(con.Name, s)]
			st.named[con.Name] = &cstate{cur: cur, saved: cur}
		}
	}
	released := map[string][]string{}
	for key := range c {
		name, s, ok := strings.Cut(key, consumerKeySep)
		if !ok {
			continue
		}
		if st := j.byName[s]; st != nil && st.named[name] != nil {
			continue
		}
		released[name] = append(released[name], s)
	}
	for _, name := range slices.Sorted(maps.Keys(released)) {
		streams := released[name]
		slices.Sort(streams)
		note := fmt.Sprintf("consumer %q is no longer configured: its cursors on %s are released", name, strings.Join(streams, ", "))
		j.recovery.Notes = append(j.recovery.Notes, note)
		j.log.Warn().Str("consumer", name).Strs("streams", streams).
			Msg("journal: consumer no longer configured: its cursors are released and no longer hold back retention")
		j.cursorsDirty = true // the next save drops them
	}
}

// passedLocked is the highest sequence number every consumer of st has
// acknowledged: records of st at or below it are delivered everywhere.
func (st *stream) passedLocked() uint64 {
	p := st.cur.Acked
	for _, cs := range st.named {
		p = min(p, cs.cur.Acked)
	}
	return p
}

// readHighLocked is the highest sequence number any consumer of st has read.
func (st *stream) readHighLocked() uint64 {
	h := st.readHigh
	for _, cs := range st.named {
		h = max(h, cs.readHigh)
	}
	return h
}

// consumersLocked lists every consumer's state on st, the primary's first.
func (st *stream) consumersLocked() []*cstate {
	out := []*cstate{&st.cstate}
	for _, cs := range st.named {
		out = append(out, cs)
	}
	return out
}

// maxAckedLocked is the highest acknowledged sequence number of any cursor.
func (j *Journal) maxAckedLocked() uint64 {
	var m uint64
	for _, st := range j.byName {
		m = max(m, st.cur.Acked)
		for _, cs := range st.named {
			m = max(m, cs.cur.Acked)
		}
	}
	return m
}

// cursorSnapshotLocked is the content of the cursors file (FORMAT.md §5.2).
func (j *Journal) cursorSnapshotLocked() map[string]cursor {
	snap := make(map[string]cursor, len(j.byName))
	for name, st := range j.byName {
		snap[name] = st.cur
		for con, cs := range st.named {
			snap[consumerKey(con, name)] = cs.cur
		}
	}
	return snap
}

// savedLocked records that snap is what the cursors file holds.
func (j *Journal) savedLocked(snap map[string]cursor) {
	for name, st := range j.byName {
		st.saved = snap[name]
		for con, cs := range st.named {
			cs.saved = snap[consumerKey(con, name)]
		}
	}
}

// recoverNamed clamps named cursors past the end of the log and counts
// their depth, as recover does for the primary's.
func (j *Journal) recoverNamed(st *stream) error {
	for con, cs := range st.named {
		if cs.cur.Acked >= j.nextSeq {
			j.recovery.Notes = append(j.recovery.Notes, fmt.Sprintf("cursor of consumer %q on %q (seq %d) is past the last record (%d): clamped", con, st.cfg.Name, cs.cur.Acked, j.nextSeq-1))
			cs.cur = cursor{Acked: j.nextSeq - 1}
			cs.saved = cs.cur
		}
		cs.depth = 0
		for _, seg := range j.segs {
			n, err := j.countAfter(seg, st.id, cs.cur.Acked)
			if err != nil {
				return err
			}
			cs.depth += n
		}
	}
	return nil
}

// dropNamedLocked takes the records of a segment being deleted out of the
// named consumers' depths.
func (j *Journal) dropNamedLocked(seg *segment, st *stream) error {
	for _, cs := range st.named {
		n, err := j.countAfter(seg, st.id, cs.cur.Acked)
		if err != nil {
			return err
		}
		cs.depth -= min(cs.depth, n)
	}
	return nil
}

// ConsumerStats describes one consumer's progress on one stream.
type ConsumerStats struct {
	Consumer string
	Stream   string
	Cursor   uint64 // last acknowledged sequence number
	Depth    uint64 // records not yet acknowledged, still on disk
	// OldestUndelivered is the append time of the oldest segment holding a
	// record the consumer has not acknowledged (a lower bound; zero when
	// Depth is 0).
	OldestUndelivered time.Time
	Acked             uint64 // since Open
	// Bytes is what the consumer keeps on disk: the segment files from the
	// oldest holding a record it has not acknowledged to the newest (an
	// upper bound: other consumers may keep them too). Against
	// Options.MaxBytes it says how close a consumer that is behind brings
	// the journal to refusing appends.
	Bytes int64
}

// ConsumerStats returns the progress of a named consumer on each of its
// streams, in the order configured.
func (j *Journal) ConsumerStats(consumer string) ([]ConsumerStats, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	i := slices.IndexFunc(j.opt.Consumers, func(c Consumer) bool { return c.Name == consumer })
	if i < 0 {
		return nil, fmt.Errorf("%w: %q", ErrUnknownConsumer, consumer)
	}
	var out []ConsumerStats
	for _, s := range j.opt.Consumers[i].Streams {
		st := j.byName[s]
		cs := st.named[consumer]
		ss := ConsumerStats{Consumer: consumer, Stream: s, Cursor: cs.cur.Acked, Depth: cs.depth, Acked: cs.acked}
		if cs.depth > 0 {
			for _, seg := range j.segs {
				if sp := seg.streams[st.id]; ss.OldestUndelivered.IsZero() && sp != nil && sp.Last > cs.cur.Acked {
					ss.OldestUndelivered = time.UnixMilli(sp.MinTime)
				}
				if !ss.OldestUndelivered.IsZero() {
					ss.Bytes += seg.size
				}
			}
		}
		out = append(out, ss)
	}
	return out, nil
}

// ConsumerReader opens the reader of a named consumer on one of its streams,
// positioned at that consumer's cursor. Each (consumer, stream) has at most
// one reader at a time.
func (j *Journal) ConsumerReader(consumer, streamName string) (*Reader, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return nil, ErrClosed
	}
	if !slices.ContainsFunc(j.opt.Consumers, func(c Consumer) bool { return c.Name == consumer }) {
		return nil, fmt.Errorf("%w: %q", ErrUnknownConsumer, consumer)
	}
	st := j.byName[streamName]
	if st == nil || st.named[consumer] == nil {
		return nil, fmt.Errorf("%w: consumer %q does not read %q", ErrUnknownStream, consumer, streamName)
	}
	return j.openReaderLocked(st, st.named[consumer], consumer)
}
