package zk4370

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"

	"github.com/officegate/officegate/internal/atomicfile"
)

// position is how far into a terminal's log the gateway holds every punch
// durably (doc.go §4.2). It is advanced only after the sink said durable.
type position struct {
	Serial string `json:"serial"` // the terminal it is about; another serial starts over
	Count  int    `json:"count"`  // log records [0, Count) are journaled
	Last   string `json:"last"`   // recordKey of record Count-1, to find it again
	// Pending are the keys of real-time punches journaled past Count, so a
	// backfill skips them; a backfill folds them into Count.
	Pending []string `json:"pending,omitempty"`
}

// recordKey identifies a punch within one terminal's log: what PunchKey
// takes, without the serial.
func recordKey(r AttRecord) string {
	return strconv.Quote(r.PIN) + " " + r.Time.String() + " " + strconv.Itoa(int(r.State)) + " " + strconv.Itoa(int(r.Verify))
}

// resume returns the index of the first record of log the position does not
// cover, and whether the position was found in it (false: the log was
// cleared or rolled past it since, and everything is sent again; the ids are
// the same, so consumers keep one copy).
func (p *position) resume(log []AttRecord) (int, bool) {
	if p.Count == 0 {
		return 0, true
	}
	if p.Count <= len(log) && recordKey(log[p.Count-1]) == p.Last {
		return p.Count, true
	}
	for i := len(log) - 1; i >= 0; i-- {
		if recordKey(log[i]) == p.Last {
			return i + 1, false
		}
	}
	return 0, false
}

// loadPosition reads path; a missing file is the zero position.
func loadPosition(path string) (position, error) {
	var p position
	if path == "" {
		return p, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("zk4370: read position: %w", err)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return position{}, fmt.Errorf("zk4370: position file %s: %w", path, err)
	}
	if p.Count < 0 || (p.Count > 0) != (p.Last != "") {
		return position{}, fmt.Errorf("zk4370: position file %s: count %d with last %q", path, p.Count, p.Last)
	}
	return p, nil
}

// save replaces path with p, atomically (a crash leaves the old position or
// the new, never a mix).
func (p position) save(path string) error {
	if path == "" {
		return nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, b, 0o640); err != nil {
		return fmt.Errorf("zk4370: save position: %w", err)
	}
	return nil
}
