package provisioning

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/internal/csvimport"
)

// ManifestHeader is the first line a manifest must have (FORMAT.md §6).
const ManifestHeader = "hardware_id,name,kind,room,profile"

// maxManifest bounds what Import reads: 8 MiB is some 100 000 lines, far
// above a building.
const maxManifest = 8 << 20

var manifestFile = csvimport.File{Header: ManifestHeader, Max: maxManifest, Noun: "manifest"}

// ErrManifest is wrapped by Import's error when the manifest has problems.
var ErrManifest = errors.New("provisioning: manifest rejected")

// Problem is one thing wrong with one manifest line.
type Problem struct {
	Line   int    // 1-based line number in the file; the header is line 1
	Field  string // the column at fault, "" for the whole line
	Reason string
}

func (p Problem) String() string {
	if p.Field == "" {
		return fmt.Sprintf("line %d: %s", p.Line, p.Reason)
	}
	return fmt.Sprintf("line %d: %s: %s", p.Line, p.Field, p.Reason)
}

// ManifestEntry is one valid manifest line.
type ManifestEntry struct {
	Line       int
	HardwareID string // an exact hardware id or a path.Match glob
	Name       string // becomes the device id and the name
	Kind       msg.Kind
	Room       string
	Profile    string
}

// Pattern says whether the hardware id is a glob rather than one unit.
func (e *ManifestEntry) Pattern() bool { return strings.ContainsAny(e.HardwareID, `*?[\`) }

// ParseManifest reads a manifest and checks every line on its own and
// against the other lines (not against a registry: Import does that). It
// returns the valid entries and every problem found; the error is for a
// manifest that cannot be read at all.
func ParseManifest(r io.Reader) ([]ManifestEntry, []Problem, error) {
	var (
		out   []ManifestEntry
		probs []Problem
		names = map[string]int{}
		hws   = map[string]int{}
	)
	err := csvimport.Read(r, manifestFile, func(line int, rec []string) {
		e, p := parseLine(line, rec)
		probs = append(probs, p...)
		if len(p) > 0 {
			return
		}
		if l, dup := names[e.Name]; dup {
			probs = append(probs, Problem{Line: line, Field: "name", Reason: fmt.Sprintf("%q is already on line %d", e.Name, l)})
			return
		}
		if l, dup := hws[e.HardwareID]; dup {
			probs = append(probs, Problem{Line: line, Field: "hardware_id", Reason: fmt.Sprintf("%q is already on line %d", e.HardwareID, l)})
			return
		}
		names[e.Name], hws[e.HardwareID] = line, line
		out = append(out, e)
	}, func(line int, reason string) {
		probs = append(probs, Problem{Line: line, Reason: reason})
	})
	if errors.Is(err, csvimport.ErrTooLong) {
		return nil, nil, fmt.Errorf("%w: longer than %d bytes", ErrManifest, maxManifest)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("provisioning: reading manifest: %w", err)
	}
	return out, probs, nil
}

// parseLine checks one record's fields.
func parseLine(line int, rec []string) (ManifestEntry, []Problem) {
	if len(rec) != 5 {
		return ManifestEntry{}, []Problem{{Line: line, Reason: fmt.Sprintf("%d fields, want 5 (%s)", len(rec), ManifestHeader)}}
	}
	e := ManifestEntry{Line: line, HardwareID: rec[0], Name: rec[1], Room: rec[3], Profile: rec[4]}
	var probs []Problem
	bad := func(field string, err error) {
		probs = append(probs, Problem{Line: line, Field: field, Reason: strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": ")})
	}
	if err := CheckHardwareID(e.HardwareID); err != nil {
		bad("hardware_id", err)
	} else if err := checkGlob("hardware id pattern", e.HardwareID); err != nil {
		bad("hardware_id", err)
	}
	if err := CheckDeviceID(e.Name); err != nil {
		bad("name", err)
	}
	kind, err := ParseKind(rec[2])
	if err != nil || strings.HasPrefix(rec[2], "kind(") {
		probs = append(probs, Problem{Line: line, Field: "kind", Reason: fmt.Sprintf("unknown kind %q: want attendance, kiosk, room-panel or other", rec[2])})
	}
	e.Kind = kind
	if err := checkText("room", e.Room, 0, maxText); err != nil {
		bad("room", err)
	}
	if err := checkText("profile", e.Profile, 0, maxText); err != nil {
		bad("profile", err)
	}
	return e, probs
}

// Import applies a manifest (FORMAT.md §6). Every line is checked, on its
// own and against the registry, before anything is applied; if any line has
// a problem, Import applies nothing and returns every problem with an error
// wrapping ErrManifest. Otherwise each line either approves the pending
// device it names (an exact id, or a pattern matching exactly one pending
// device of its kind), or becomes a preapproval, or, already applied by an
// earlier import, does nothing; all in one durable write.
func (r *Registry) Import(rd io.Reader) ([]Problem, error) {
	entries, probs, err := ParseManifest(rd)
	if err != nil {
		return nil, err
	}
	if len(probs) > 0 {
		return probs, fmt.Errorf("%w: %d problems, nothing applied", ErrManifest, len(probs))
	}
	err = r.update(func(s *state, now time.Time) (bool, error) {
		type approval struct {
			d *Device
			e ManifestEntry
		}
		var (
			approve []approval
			pre     []Preapproval
			claimed = map[string]int{} // pending hardware id → line approving it
		)
		for _, e := range entries {
			a, p, skip, prob := s.plan(&e)
			switch {
			case prob != "":
				probs = append(probs, Problem{Line: e.Line, Field: "hardware_id", Reason: prob})
			case skip:
			case a != nil:
				if l, dup := claimed[a.HardwareID]; dup {
					probs = append(probs, Problem{Line: e.Line, Field: "hardware_id",
						Reason: fmt.Sprintf("matches pending %q, which line %d already approves", a.HardwareID, l)})
					continue
				}
				claimed[a.HardwareID] = e.Line
				approve = append(approve, approval{a, e})
			default:
				pre = append(pre, p)
			}
		}
		if len(probs) > 0 {
			return false, nil
		}
		for _, a := range approve {
			if err := r.approveLocked(s, now, a.d, a.e.Name, a.e.Name, a.e.Room, a.e.Profile); err != nil {
				return false, fmt.Errorf("manifest line %d: %w", a.e.Line, err) // plan ruled this out
			}
		}
		for i := range pre {
			pre[i].Created = now
		}
		s.pre = append(s.pre, pre...)
		return len(approve)+len(pre) > 0, nil
	})
	if err != nil {
		return nil, err
	}
	if len(probs) > 0 {
		slices.SortStableFunc(probs, func(a, b Problem) int { return a.Line - b.Line })
		return probs, fmt.Errorf("%w: %d problems, nothing applied", ErrManifest, len(probs))
	}
	return nil, nil
}

// plan decides what a valid manifest line does to state s: approve a
// pending device, add a preapproval, nothing (already applied), or nothing
// because of the problem it returns.
func (s *state) plan(e *ManifestEntry) (approve *Device, pre Preapproval, skip bool, problem string) {
	pre = Preapproval{Pattern: e.HardwareID, Kind: e.Kind, Name: e.Name, Room: e.Room, Profile: e.Profile}
	// Already applied: the name is held by a matching unit or preapproval.
	for _, d := range s.devices {
		if (d.State == StateActive || d.State == StateDisabled) && d.DeviceID == e.Name && pre.matches(d) {
			return nil, pre, true, ""
		}
	}
	for _, p := range s.pre {
		if p.Name == e.Name && p.Pattern == e.HardwareID && p.Kind == e.Kind {
			return nil, pre, true, ""
		}
	}
	if who := s.taken(e.Name, ""); who != "" {
		return nil, pre, false, fmt.Sprintf("name %q is used by %s", e.Name, who)
	}
	var pending []*Device
	for _, hw := range s.sortedHW() {
		d := s.devices[hw]
		if !glob(e.HardwareID, hw) {
			continue
		}
		switch d.State {
		case StateActive, StateDisabled:
			if !e.Pattern() {
				return nil, pre, false, fmt.Sprintf("%q is already enrolled as %q", hw, d.DeviceID)
			}
			if d.Kind != e.Kind {
				return nil, pre, false, fmt.Sprintf("pattern %q matches %q, an enrolled %s (%q), not a %s", e.HardwareID, hw, d.Kind, d.DeviceID, e.Kind)
			}
		case StateRetired:
			if !e.Pattern() {
				return nil, pre, false, fmt.Sprintf("%q is retired (use replace to give its unit's role to another)", hw)
			}
		case StatePending:
			if d.Kind != e.Kind {
				if !e.Pattern() {
					return nil, pre, false, fmt.Sprintf("%q said HELLO as a %s, the line says %s", hw, d.Kind, e.Kind)
				}
				continue
			}
			pending = append(pending, d)
		}
	}
	switch len(pending) {
	case 0:
		return nil, pre, false, ""
	case 1:
		return pending[0], pre, false, ""
	}
	hws := make([]string, len(pending))
	for i, d := range pending {
		hws[i] = fmt.Sprintf("%q", d.HardwareID)
	}
	return nil, pre, false, fmt.Sprintf("pattern %q matches %d pending devices (%s): one name is for one device", e.HardwareID, len(pending), strings.Join(hws, ", "))
}
