package journal

// Shedding on arrival (FORMAT.md §7). Once making room under the cap has had
// to shed a class (compacting or deleting segments for it), nothing less
// important than that class is left in sealed segments. A record of a less
// important class that arrives while this lasts would be the very next thing
// to go, and writing it meanwhile puts it on disk beside the more important
// records being shed — the wrong order — only for a later compaction to
// rewrite its segment without it, costing the flash the segment's kept bytes
// again. So it is shed as it arrives: it is numbered like any record, and its
// number is written as a 32-byte hole (§4.3) instead of the record, counted
// as shed and logged. Its own class and more important ones are written as
// usual (within a class the oldest goes first).
//
// The state starts when makeRoomLocked sheds at a level by compaction and
// ends once something has been delivered since and a new segment fits under
// the cap without shedding (reserveLocked, or maintain). Room that
// compaction itself freed beyond the segment it was for does not end it:
// with nothing delivered, the journal only fills, and a diagnostics record
// written into that room would be rewritten away at the next segment. While the journal is
// full (refusing appends), nothing is shed on arrival: an append that cannot
// be admitted is refused, as without this rule.

// holeSize is the bytes a record shed on arrival takes: a minimal hole.
const holeSize = recordHeaderSize + recordAlign

// shedState is the journal's shedding-on-arrival state. Guarded by
// Journal.mu.
type shedState struct {
	active bool
	acked  uint64           // ackedKeyLocked when it started
	level  Priority         // the least important class still written
	logged map[*stream]bool // streams whose shedding on arrival was logged this episode
}

// shedOnArrivalLocked reports, for each record of an append to sts, whether
// it is shed on arrival; nil when none is.
func (j *Journal) shedOnArrivalLocked(sts []*stream) []bool {
	s := &j.shedding
	if !s.active || j.full.state.Full {
		return nil
	}
	var shed []bool
	for i, st := range sts {
		if st.cfg.Priority.Protected() || st.cfg.Priority <= s.level {
			continue
		}
		if shed == nil {
			shed = make([]bool, len(sts))
		}
		shed[i] = true
		if !s.logged[st] {
			s.logged[st] = true
			j.log.Warn().Str("stream", st.cfg.Name).Str("priority", st.cfg.Priority.String()).
				Str("shedding", s.level.String()).Int64("cap_bytes", j.opt.MaxBytes).
				Msg("journal: disk cap reached: shed undelivered records on arrival while a more important class is being shed")
		}
	}
	return shed
}

// shedStartLocked starts (or deepens) shedding on arrival after making room
// at level.
func (j *Journal) shedStartLocked(level Priority) {
	s := &j.shedding
	if !s.active {
		*s = shedState{active: true, level: level, acked: j.ackedKeyLocked(), logged: map[*stream]bool{}}
		return
	}
	s.level = min(s.level, level)
}

// shedEndLocked ends shedding on arrival, called when a new segment fits
// under the cap, if something was delivered since it started.
func (j *Journal) shedEndLocked() {
	if j.shedding.active && j.ackedKeyLocked() != j.shedding.acked {
		j.shedding = shedState{}
	}
}

// ackedKeyLocked sums every consumer's cursor: it changes when anything is
// delivered.
func (j *Journal) ackedKeyLocked() uint64 {
	var key uint64
	for _, st := range j.byName {
		for _, cs := range st.consumersLocked() {
			key += cs.cur.Acked
		}
	}
	return key
}
