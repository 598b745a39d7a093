package rollout

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/officegate/officegate/internal/atomicfile"
)

// Rollout is one image going to a list of devices.
type Rollout struct {
	// Immutable.
	o    *Orchestrator
	id   string
	done chan struct{}

	// Mutable, guarded by mu.
	mu   sync.Mutex
	rec  *Record
	img  Image              // nil Data until run loads it (a resumed rollout)
	err  error              // a state file write that failed; the rollout stopped
	stop context.CancelFunc // stops the rollout's devices after err
}

func (o *Orchestrator) newRollout(rec *Record) *Rollout {
	return &Rollout{o: o, id: rec.ID, rec: rec, done: make(chan struct{})}
}

// ID names the rollout; its state file is ID + ".rollout".
func (r *Rollout) ID() string { return r.id }

// Done is closed when the rollout's goroutine has ended: it is done or
// halted (Snapshot's State says which), it was stopped by Close, or its
// state could not be written (Err).
func (r *Rollout) Done() <-chan struct{} { return r.done }

// Err is the error that stopped the rollout before its end: a state file
// that could not be written. Stopping by Close is not an error.
func (r *Rollout) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Snapshot returns the rollout's state as last written.
func (r *Rollout) Snapshot() Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rec.clone()
}

func (r *Rollout) run(parent context.Context) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	r.mu.Lock()
	r.stop = cancel
	resumed := r.img.Data == nil
	r.mu.Unlock()
	if resumed {
		img, err := r.loadImage()
		if err != nil {
			r.finish(Halted, err.Error())
			return
		}
		r.mu.Lock()
		r.img = img
		r.mu.Unlock()
	}
	r.emit(Event{Reason: map[bool]string{false: "started", true: "resumed"}[resumed]})

	snap := r.Snapshot()
	ids := make([]string, len(snap.Devices))
	for i, d := range snap.Devices {
		ids[i] = d.ID
	}
	canaries := min(snap.Canary, len(ids))
	for _, id := range ids[:canaries] {
		r.device(ctx, id)
		if ctx.Err() != nil {
			return
		}
		if d := r.dev(id); d.Phase != Confirmed {
			r.finish(Halted, fmt.Sprintf("canary %s %s: %s", id, d.Phase, d.Reason))
			return
		}
	}
	next := make(chan string)
	var wg sync.WaitGroup
	for range min(snap.Parallel, len(ids)-canaries) {
		wg.Go(func() {
			for id := range next {
				r.device(ctx, id)
			}
		})
	}
feed:
	for _, id := range ids[canaries:] {
		select {
		case next <- id:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if ctx.Err() != nil {
		return
	}
	r.finish(Done, "")
}

// loadImage reads the image kept beside the state file and checks it
// against the hash and signature recorded when the rollout started.
func (r *Rollout) loadImage() (Image, error) {
	ref := r.Snapshot().Image
	path := imagePath(r.o.cfg.Dir, r.id)
	data, err := os.ReadFile(path)
	if err != nil {
		return Image{}, fmt.Errorf("rollout %s: kept image: %w", r.id, err)
	}
	sha, err1 := hex.DecodeString(ref.SHA256)
	sig, err2 := hex.DecodeString(ref.Signature)
	if err := errors.Join(err1, err2); err != nil {
		return Image{}, fmt.Errorf("rollout %s: state file: image hash or signature: %w", r.id, err)
	}
	img := NewImage(ref.Path, ref.Version, data, sig)
	if !bytes.Equal(img.SHA256, sha) {
		return Image{}, fmt.Errorf("rollout %s: kept image %s has sha256 %x, the rollout is of %s", r.id, path, img.SHA256, ref.SHA256)
	}
	if err := img.Verify(r.o.cfg.PublicKey); err != nil {
		return Image{}, fmt.Errorf("rollout %s: %w", r.id, err)
	}
	return img, nil
}

// dev returns a copy of device id's record.
func (r *Rollout) dev(id string) DeviceRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return *r.devLocked(id)
}

func (r *Rollout) devLocked(id string) *DeviceRecord {
	for i := range r.rec.Devices {
		if r.rec.Devices[i].ID == id {
			return &r.rec.Devices[i]
		}
	}
	panic("rollout: unknown device " + id) // ids come from the record itself
}

// set moves device id to phase ph, lets f adjust its record, writes the
// state file and reports the change. It returns false if the state could
// not be written: the rollout is then stopped, since going on would leave
// the disk behind the devices.
func (r *Rollout) set(id string, ph Phase, reason string, f func(*DeviceRecord)) bool {
	r.mu.Lock()
	if r.err != nil {
		r.mu.Unlock()
		return false
	}
	now := r.o.cfg.Clock.Now().UTC()
	d := r.devLocked(id)
	d.Phase, d.Reason, d.Updated = ph, reason, now
	if ph.Final() {
		d.Finished = now
	}
	if f != nil {
		f(d)
	}
	r.rec.Updated = now
	err := r.rec.save(r.o.cfg.Dir)
	ev := Event{Rollout: r.id, State: r.rec.State, At: now, Device: id, Phase: ph, Reason: reason}
	if err != nil {
		r.err = err
		r.stop()
		ev = Event{Rollout: r.id, State: r.rec.State, At: now, Reason: "stopped: " + err.Error()}
	} else if ph == Transferring {
		ev.Total = int64(len(r.img.Data))
	}
	r.mu.Unlock()
	r.send(ev)
	if err != nil {
		return false
	}
	if ph.Final() {
		r.o.release(r.id, id)
	}
	return true
}

// finish ends the rollout in state st, writes it, frees its devices and
// the kept image, and reports the summary.
func (r *Rollout) finish(st State, reason string) {
	r.mu.Lock()
	now := r.o.cfg.Clock.Now().UTC()
	r.rec.State, r.rec.Reason, r.rec.Updated = st, reason, now
	if err := r.rec.save(r.o.cfg.Dir); err != nil {
		r.err = err
		r.mu.Unlock()
		r.send(Event{Rollout: r.id, State: st, At: now, Reason: "stopped: " + err.Error()})
		return
	}
	var ids []string
	for _, d := range r.rec.Devices {
		ids = append(ids, d.ID)
	}
	sum := r.rec.Summary()
	r.mu.Unlock()
	r.o.release(r.id, ids...)
	if err := os.Remove(imagePath(r.o.cfg.Dir, r.id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		r.o.cfg.Logf("rollout %s: remove kept image: %v", r.id, err)
	} else if err := atomicfile.SyncDir(r.o.cfg.Dir); err != nil {
		r.o.cfg.Logf("rollout %s: %v", r.id, err)
	}
	r.send(Event{Rollout: r.id, State: st, At: now, Reason: reason, Summary: &sum})
}

// emit reports ev with the rollout's id, state and the time filled in.
func (r *Rollout) emit(ev Event) {
	r.mu.Lock()
	ev.Rollout, ev.State = r.id, r.rec.State
	r.mu.Unlock()
	ev.At = r.o.cfg.Clock.Now().UTC()
	r.send(ev)
}

// send calls Progress without r.mu held, so that it may look at the
// rollout (Snapshot); emitMu keeps the calls one at a time.
func (r *Rollout) send(ev Event) {
	r.o.emitMu.Lock()
	defer r.o.emitMu.Unlock()
	r.o.cfg.Progress(ev)
}

// progress reports bytes the device holds during its transfer; not
// written to the state file (the device knows, §10.1).
func (r *Rollout) progress(id string, held int64) {
	r.emit(Event{Device: id, Phase: Transferring, Sent: held, Total: int64(len(r.img.Data))})
}
