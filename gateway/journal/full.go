package journal

import (
	"time"

	"golang.org/x/sys/unix"
)

// Cause of a full journal (FullState.Cause).
const (
	FullCap  = "cap"  // Options.MaxBytes reached and nothing more may be shed
	FullDisk = "disk" // the file system refused a new segment (ENOSPC)
)

// fullLogEvery rate-limits the "journal: full" warning: a journal at its cap
// can refuse and admit many times a second as the uplink drains it, and one
// warning a minute says as much as a thousand.
const fullLogEvery = time.Minute

// FullState says whether the journal is refusing appends for lack of room.
// An episode starts at the first refused append and ends when a new segment
// fits again (under the cap and on the file system).
type FullState struct {
	Full   bool
	Since  time.Time // when this episode began (Options.Now); zero when not full
	Cause  string    // FullCap or FullDisk; empty when not full
	Reason string    // the first refusal of the episode, as its error said
	// Refused counts records refused with ErrFull since Open, every episode.
	Refused uint64
}

// fullTracker is the journal's state of fullness. Guarded by Journal.mu.
type fullTracker struct {
	state     FullState
	changed   chan struct{} // closed at the next start or end of an episode
	fsFull    bool          // ENOSPC seen; cleared when a segment fits on the file system again
	lastWarn  time.Time     // the last episode start that was logged
	logged    bool          // the current episode's start was logged (so its end is too)
	unlogged  int           // episode starts not logged since the last warning
	refusedAt uint64        // Refused when the episode began
}

// FullState returns the journal's current state of fullness and a channel
// that is closed when it next changes (an episode starts or ends), for a
// watcher that republishes it (the gateway's retained status).
func (j *Journal) FullState() (FullState, <-chan struct{}) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.full.state, j.full.changed
}

// refusedLocked counts refused records per stream and starts an episode if
// none is running.
func (j *Journal) refusedLocked(sts []*stream, cause string, err error) {
	f := &j.full
	for _, st := range sts {
		st.refused++
	}
	f.state.Refused += uint64(len(sts))
	if cause == FullDisk {
		f.fsFull = true
	}
	if f.state.Full {
		return
	}
	now := j.opt.Now()
	f.state.Full, f.state.Since, f.state.Cause, f.state.Reason = true, now, cause, err.Error()
	f.refusedAt = f.state.Refused - uint64(len(sts))
	j.fullChangedLocked()
	f.logged = f.lastWarn.IsZero() || now.Sub(f.lastWarn) >= fullLogEvery
	if !f.logged {
		f.unlogged++
		return
	}
	ev := j.log.Warn().Str("cause", cause).Str("reason", err.Error()).Int64("disk_bytes", j.diskBytes).
		Int64("cap_bytes", j.opt.MaxBytes)
	if f.unlogged > 0 {
		ev = ev.Int("episodes_not_logged", f.unlogged)
	}
	ev.Msg("journal: full: refusing appends; devices are told busy and keep their records")
	f.lastWarn, f.unlogged = now, 0
}

// roomLocked ends an episode: a new segment fits again.
func (j *Journal) roomLocked() {
	f := &j.full
	f.fsFull = false
	if !f.state.Full {
		return
	}
	now := j.opt.Now()
	if f.logged {
		j.log.Info().Str("cause", f.state.Cause).Dur("lasted", now.Sub(f.state.Since)).
			Uint64("refused", f.state.Refused-f.refusedAt).Int64("disk_bytes", j.diskBytes).
			Msg("journal: room again: accepting appends")
	}
	refused := f.state.Refused
	f.state = FullState{Refused: refused}
	j.fullChangedLocked()
}

func (j *Journal) fullChangedLocked() {
	close(j.full.changed)
	j.full.changed = make(chan struct{})
}

// checkRoomLocked ends an episode once a new segment would be admitted
// without shedding: under the cap, and (after ENOSPC) on the file system.
// maintain calls it, so an episode ends when delivery frees room even if no
// device is appending.
func (j *Journal) checkRoomLocked() {
	if j.diskBytes+j.opt.SegmentSize <= j.opt.MaxBytes {
		j.shedEndLocked()
	}
	if !j.full.state.Full && !j.full.fsFull {
		return
	}
	if j.diskBytes+j.opt.SegmentSize > j.opt.MaxBytes {
		return
	}
	if j.full.fsFull {
		if free, err := fsFree(j.dir); err != nil || free < j.opt.SegmentSize {
			return
		}
	}
	j.roomLocked()
}

// fsFree is the space the file system holding dir has for an unprivileged
// writer (statfs f_bavail), in bytes.
func fsFree(dir string) (int64, error) {
	var s unix.Statfs_t
	if err := unix.Statfs(dir, &s); err != nil {
		return 0, err
	}
	return int64(s.Bavail) * int64(s.Bsize), nil
}
