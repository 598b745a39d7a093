package sdnotify

import (
	"fmt"
	"sort"
	"time"

	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/gateway/journal"
)

// The parts Progress watches: each the one method it needs.
type (
	// JournalStats is *journal.Journal.
	JournalStats interface{ Stats() journal.Stats }
	// UplinkState is *uplink.Uplink.
	UplinkState interface{ Connected() (bool, time.Time) }
	// LinkStatus is *link.Gateway.
	LinkStatus interface{ Status() link.Status }
)

// Limits are how long each part may stand still before the pipeline counts
// as stalled. The zero value of a field means its default.
type Limits struct {
	// Journal: a commit in progress for this long. An SD card's fsync takes
	// milliseconds, a slow one a second or two; 10 s is a dead disk or a
	// hung driver. Default 10 s.
	Journal time.Duration
	// Uplink: connected, with undelivered records, and no PUBACK for this
	// long. The MQTT keepalive drops a dead connection well before (30 s by
	// default), so this is a hung uplink, not a slow broker. Default 5 min.
	// Disconnected (backing off) is normal and never a stall: the journal
	// holds the events.
	Uplink time.Duration
	// Link: a device link that still says online though nothing was heard for
	// this long. The link marks a silent device offline itself after three
	// heartbeats; online and silent means its reader is stuck. Default 2 min.
	Link time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.Journal == 0 {
		l.Journal = 10 * time.Second
	}
	if l.Uplink == 0 {
		l.Uplink = 5 * time.Minute
	}
	if l.Link == 0 {
		l.Link = 2 * time.Minute
	}
	return l
}

// Progress decides whether the pipeline is making progress, from what the
// running gateway exposes. Its Check is called from one goroutine (the
// watchdog's).
type Progress struct {
	// Immutable.
	journal JournalStats
	uplink  UplinkState // nil: no uplink to watch
	links   map[string]LinkStatus
	limits  Limits

	// Owned by the goroutine calling Check.
	commits    uint64
	commitWait time.Time // first seen pending with commits standing still; zero: not waiting
	acked      uint64
	ackWait    time.Time // first seen connected with a backlog and no new acks
}

// NewProgress watches a journal, an uplink (may be nil) and device links.
func NewProgress(j JournalStats, up UplinkState, links map[string]LinkStatus, l Limits) *Progress {
	return &Progress{journal: j, uplink: up, links: links, limits: l.withDefaults()}
}

// Check returns nil while the pipeline makes progress, else what stalled.
// Idle is progress: a journal with nothing to commit, an uplink with nothing
// to send, a device that is unplugged.
func (p *Progress) Check(now time.Time) error {
	s := p.journal.Stats()
	if s.Failed != nil {
		return fmt.Errorf("journal failed: %v", s.Failed)
	}
	switch {
	case s.Pending == 0 || s.Commits != p.commits:
		p.commits = s.Commits
		p.commitWait = time.Time{}
		if s.Pending > 0 {
			p.commitWait = now
		}
	case p.commitWait.IsZero():
		p.commitWait = now
	}
	if !p.commitWait.IsZero() && now.Sub(p.commitWait) >= p.limits.Journal {
		return fmt.Errorf("journal: no commit completed for %v with %d bytes waiting (disk stalled?)",
			now.Sub(p.commitWait).Round(time.Second), s.Pending)
	}

	if p.uplink != nil {
		var acked, depth uint64
		for _, st := range s.Streams {
			if st.Configured {
				acked += st.Acked
				depth += st.Depth
			}
		}
		up, _ := p.uplink.Connected()
		switch {
		case !up || depth == 0 || acked != p.acked:
			p.ackWait = time.Time{}
			if up && depth > 0 {
				p.ackWait = now
			}
		case p.ackWait.IsZero():
			p.ackWait = now
		}
		p.acked = acked
		if !p.ackWait.IsZero() && now.Sub(p.ackWait) >= p.limits.Uplink {
			return fmt.Errorf("uplink: connected, %d records waiting, no PUBACK for %v",
				depth, now.Sub(p.ackWait).Round(time.Second))
		}
	}

	ids := make([]string, 0, len(p.links))
	for id := range p.links {
		ids = append(ids, id)
	}
	sort.Strings(ids) // the same device named first every time
	for _, id := range ids {
		st := p.links[id].Status()
		if st.Online && !st.LastSeen.IsZero() && now.Sub(st.LastSeen) >= p.limits.Link {
			return fmt.Errorf("device %q: link online but nothing heard for %v (reader stuck)",
				id, now.Sub(st.LastSeen).Round(time.Second))
		}
	}
	return nil
}
