package rollout

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/officegate/officegate/internal/atomicfile"
)

// Phase is where one device stands in a rollout (doc.go, "State file").
type Phase string

const (
	Waiting      Phase = "waiting"      // not started yet
	Deferred     Phase = "deferred"     // the Busy hook said not now; retried
	Transferring Phase = "transferring" // sending the image
	Testing      Phase = "testing"      // test boot asked, until confirmed or reverted
	Confirmed    Phase = "confirmed"    // runs the new image permanently
	RolledBack   Phase = "rolled_back"  // reverted, or not back in time
	Failed       Phase = "failed"       // refused or unreachable; old image runs
)

// Final reports whether the device is done with the rollout.
func (p Phase) Final() bool { return p == Confirmed || p == RolledBack || p == Failed }

// State is where a whole rollout stands.
type State string

const (
	Running State = "running" // unfinished: Resume continues it
	Done    State = "done"    // every device reached a final phase
	Halted  State = "halted"  // a canary failed; the devices still waiting were not touched
)

// formatVersion is the "format" field of a state file; a reader refuses any
// other.
const formatVersion = 1

const (
	stateExt = ".rollout"
	imageExt = ".img"
)

// Record is a rollout as written to its state file, and as reported by
// Snapshot. doc.go describes every field.
type Record struct {
	Format   int            `json:"format"`
	ID       string         `json:"id"`
	Created  time.Time      `json:"created"`
	Updated  time.Time      `json:"updated"`
	State    State          `json:"state"`
	Reason   string         `json:"reason,omitempty"`
	Image    ImageRef       `json:"firmware"`
	Canary   int            `json:"canary"`
	Parallel int            `json:"parallel"`
	Devices  []DeviceRecord `json:"devices"`
}

// ImageRef names the image of a rollout; the bytes are in the state
// directory beside the state file while the rollout runs.
type ImageRef struct {
	Path      string `json:"path"`
	Version   string `json:"version"`
	Size      int64  `json:"size"`
	SHA256    string `json:"sha256"`    // hex
	Signature string `json:"signature"` // hex
}

// DeviceRecord is one target's progress.
type DeviceRecord struct {
	ID        string    `json:"id"`
	Phase     Phase     `json:"phase"`
	Attempts  int       `json:"attempts"`  // transfers started
	Deferrals int       `json:"deferrals"` // times the Busy hook put it off
	Reason    string    `json:"reason,omitempty"`
	Started   time.Time `json:"started,omitzero"`
	Updated   time.Time `json:"updated,omitzero"`
	Finished  time.Time `json:"finished,omitzero"`
}

// Summary counts a rollout's devices by outcome.
type Summary struct {
	Confirmed, RolledBack, Failed int
	Deferred                      int // devices the Busy hook put off at least once
	Untouched                     int // still waiting when the rollout halted or stopped
}

func (s Summary) String() string {
	return fmt.Sprintf("confirmed %d, rolled back %d, failed %d, deferred %d, untouched %d",
		s.Confirmed, s.RolledBack, s.Failed, s.Deferred, s.Untouched)
}

// Summary counts rec's devices.
func (rec *Record) Summary() Summary {
	var s Summary
	for _, d := range rec.Devices {
		switch d.Phase {
		case Confirmed:
			s.Confirmed++
		case RolledBack:
			s.RolledBack++
		case Failed:
			s.Failed++
		case Waiting:
			s.Untouched++
		}
		if d.Deferrals > 0 {
			s.Deferred++
		}
	}
	return s
}

func (rec *Record) clone() Record {
	c := *rec
	c.Devices = slices.Clone(rec.Devices)
	return c
}

func statePath(dir, id string) string { return filepath.Join(dir, id+stateExt) }
func imagePath(dir, id string) string { return filepath.Join(dir, id+imageExt) }

// save replaces the rollout's state file (temp, fsync, rename, fsync dir).
func (rec *Record) save(dir string) error {
	b, err := json.MarshalIndent(rec, "", "\t")
	if err != nil {
		return fmt.Errorf("rollout %s: encode state: %w", rec.ID, err)
	}
	if err := atomicfile.WriteFile(statePath(dir, rec.ID), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("rollout %s: save state: %w", rec.ID, err)
	}
	return nil
}

// loadRecord reads and checks one state file. A damaged file is an error
// naming it: it is never reset, since a reset would forget a device left
// mid test boot.
func loadRecord(path string) (*Record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rollout: %w", err)
	}
	rec := new(Record)
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(rec); err != nil {
		return nil, fmt.Errorf("rollout: state file %s damaged: %w", path, err)
	}
	if err := rec.check(); err != nil {
		return nil, fmt.Errorf("rollout: state file %s: %w", path, err)
	}
	if want := strings.TrimSuffix(filepath.Base(path), stateExt); rec.ID != want {
		return nil, fmt.Errorf("rollout: state file %s holds rollout %q", path, rec.ID)
	}
	return rec, nil
}

func (rec *Record) check() error {
	if rec.Format != formatVersion {
		return fmt.Errorf("format %d, this gateway reads %d", rec.Format, formatVersion)
	}
	switch rec.State {
	case Running, Done, Halted:
	default:
		return fmt.Errorf("unknown state %q", rec.State)
	}
	if len(rec.Devices) == 0 {
		return errors.New("no devices")
	}
	if rec.Canary < 1 || rec.Parallel < 1 {
		return fmt.Errorf("canary %d, parallel %d: both must be at least 1", rec.Canary, rec.Parallel)
	}
	seen := map[string]bool{}
	for _, d := range rec.Devices {
		switch d.Phase {
		case Waiting, Deferred, Transferring, Testing, Confirmed, RolledBack, Failed:
		default:
			return fmt.Errorf("device %q: unknown phase %q", d.ID, d.Phase)
		}
		if d.ID == "" || seen[d.ID] {
			return fmt.Errorf("device %q: empty or listed twice", d.ID)
		}
		seen[d.ID] = true
	}
	return nil
}

// loadDir reads every state file in dir, oldest id first, after removing
// the temporary files a crash inside a save can leave.
func loadDir(dir string) ([]*Record, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("rollout: %w", err)
	}
	var recs []*Record
	for _, e := range ents {
		n := e.Name()
		if !e.Type().IsRegular() || !strings.HasSuffix(n, stateExt) {
			continue
		}
		if err := atomicfile.RemoveTemps(dir, n); err != nil {
			return nil, err
		}
		rec, err := loadRecord(filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		if err := atomicfile.RemoveTemps(dir, rec.ID+imageExt); err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
	// An image without its state file is a Start that crashed before the
	// state file was written: nothing was sent, nothing refers to it.
	for _, e := range ents {
		n := e.Name()
		id, ok := strings.CutSuffix(n, imageExt)
		if !ok || !e.Type().IsRegular() || slices.ContainsFunc(recs, func(r *Record) bool { return r.ID == id }) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, n)); err != nil {
			return nil, fmt.Errorf("rollout: %w", err)
		}
	}
	return recs, nil
}
