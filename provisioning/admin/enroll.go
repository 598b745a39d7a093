package admin

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/officegate/officegate/provisioning"
)

// Rule is an enrollment rule as the API carries it (provisioning.Rule).
// Kind also takes the gateway's kind names: "terminal" for "attendance",
// "room" for "room-panel".
type Rule struct {
	Kind       string `json:"kind,omitempty"`
	Model      string `json:"model,omitempty"`
	HardwareID string `json:"hardware_id,omitempty"`
	Port       string `json:"port,omitempty"`
	Name       string `json:"name,omitempty"` // name template; "" means DefaultNameTemplate
	Room       string `json:"room,omitempty"`
	Profile    string `json:"profile,omitempty"`
}

// DefaultNameTemplate names devices a rule without a Name approves:
// "attendance-1", "attendance-2"…, never taken (provisioning's templates).
const DefaultNameTemplate = "{kind}-{n}"

// Window is the enrollment window as the API carries it.
type Window struct {
	Until time.Time `json:"until"`
	Rules []Rule    `json:"rules"`
}

// kindAliases are the configuration's kind names (MQTT.md §6) for the
// link's (msg.Kind.String).
var kindAliases = map[string]string{"terminal": "attendance", "room": "room-panel"}

func (r Rule) internal() provisioning.Rule {
	k := r.Kind
	if a, ok := kindAliases[k]; ok {
		k = a
	}
	name := r.Name
	if name == "" {
		name = DefaultNameTemplate
	}
	return provisioning.Rule{Kind: k, Model: r.Model, HardwareID: r.HardwareID, Port: r.Port, Name: name, Room: r.Room, Profile: r.Profile}
}

func windowOut(w provisioning.Window) Window {
	out := Window{Until: w.Until, Rules: []Rule{}}
	for _, r := range w.Rules {
		out.Rules = append(out.Rules, Rule{Kind: r.Kind, Model: r.Model, HardwareID: r.HardwareID, Port: r.Port, Name: r.Name, Room: r.Room, Profile: r.Profile})
	}
	return out
}

// Enroll opens the enrollment window for d (at most MaxWindow) with rules,
// replacing any open one. Pending devices a rule matches are approved at
// once; the others as they say HELLO.
func (s *Service) Enroll(d time.Duration, rules []Rule) (Window, error) {
	if d <= 0 || d > MaxWindow {
		return Window{}, fmt.Errorf("%w: enrollment window of %v: must be more than 0 and at most %v", provisioning.ErrInvalid, d, MaxWindow)
	}
	if len(rules) == 0 {
		return Window{}, fmt.Errorf("%w: an enrollment window needs at least one rule", provisioning.ErrInvalid)
	}
	w := provisioning.Window{Until: s.now().Add(d)}
	for _, r := range rules {
		if err := s.checkProfile(r.Profile); err != nil {
			return Window{}, err
		}
		w.Rules = append(w.Rules, r.internal())
	}
	if err := w.Check(); err != nil {
		return Window{}, err
	}
	if err := s.reg.SetWindow(w); err != nil {
		return Window{}, err
	}
	s.log.Info().Time("until", w.Until).Int("rules", len(w.Rules)).Msg("admin: enrollment window opened")
	return windowOut(s.reg.Window()), nil
}

// EnrollClose closes the enrollment window (a no-op if it is closed).
func (s *Service) EnrollClose() error {
	if err := s.reg.SetWindow(provisioning.Window{}); err != nil {
		return err
	}
	s.log.Info().Msg("admin: enrollment window closed")
	return nil
}

// Enrollment returns the enrollment window; a zero Until if closed.
func (s *Service) Enrollment() Window {
	w := s.reg.Window()
	if !w.Open(s.now()) {
		return Window{Rules: []Rule{}}
	}
	return windowOut(w)
}

// ImportResult is what a manifest did.
type ImportResult struct {
	Problems []Problem `json:"problems,omitempty"` // non-empty: nothing was applied
	Approved []string  `json:"approved"`           // device ids of pending units approved now
	Waiting  []string  `json:"waiting"`            // device ids preapproved, waiting for their unit's HELLO
	Done     []string  `json:"done"`               // device ids an earlier import already applied
}

// Problem is one thing wrong with one manifest line.
type Problem struct {
	Line   int    `json:"line"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

func (p Problem) String() string {
	return provisioning.Problem{Line: p.Line, Field: p.Field, Reason: p.Reason}.String()
}

// Import applies a CSV manifest (provisioning FORMAT.md §6). If any line
// has a problem nothing is applied: the result lists every problem and the
// error wraps provisioning.ErrManifest.
func (s *Service) Import(csv []byte) (ImportResult, error) {
	out := ImportResult{Approved: []string{}, Waiting: []string{}, Done: []string{}}
	before := map[string]bool{} // device ids live before
	for _, d := range s.reg.List() {
		if d.State == provisioning.StateActive || d.State == provisioning.StateDisabled {
			before[d.DeviceID] = true
		}
	}
	probs, err := s.reg.Import(bytes.NewReader(csv))
	for _, p := range probs {
		out.Problems = append(out.Problems, Problem{Line: p.Line, Field: p.Field, Reason: p.Reason})
	}
	if err != nil {
		if errors.Is(err, provisioning.ErrManifest) && len(probs) > 0 {
			err = fmt.Errorf("%w: %d problem(s), nothing applied", provisioning.ErrManifest, len(probs))
		}
		return out, err
	}
	entries, _, _ := provisioning.ParseManifest(bytes.NewReader(csv)) // Import accepted it
	waiting := map[string]bool{}
	for _, p := range s.reg.Preapprovals() {
		waiting[p.Name] = true
	}
	for _, e := range entries {
		switch {
		case waiting[e.Name]:
			out.Waiting = append(out.Waiting, e.Name)
		case before[e.Name]:
			out.Done = append(out.Done, e.Name)
		default:
			out.Approved = append(out.Approved, e.Name)
		}
	}
	s.log.Info().Int("approved", len(out.Approved)).Int("waiting", len(out.Waiting)).Msg("admin: manifest imported")
	return out, nil
}
