package provisioning

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/officegate/officegate/firmware-bridge/msg"
)

// Rule approves pending devices automatically while an enrollment Window is
// open (EdgeX provision watchers, Zigbee2MQTT permit_join). Empty match fields
// match anything; patterns are path.Match globs (*, ?, [a-z]; * does not
// cross '/').
type Rule struct {
	Kind       string // kind name as msg.Kind.String says ("attendance", "kiosk", "room-panel", …); "" any
	Model      string // glob on the model the device reports
	HardwareID string // glob on the hardware id
	Port       string // glob on the serial port it said HELLO on
	// Name is a name template (see Expand): the device's name and device id.
	Name    string
	Room    string // assigned room; also {room} in Name
	Profile string // assigned configuration profile
}

// Check validates r once, at the edge.
func (r *Rule) Check() error {
	if r.Kind != "" {
		if _, err := ParseKind(r.Kind); err != nil {
			return fmt.Errorf("rule: %w", err)
		}
	}
	for _, g := range []struct{ what, p string }{{"model", r.Model}, {"hardware id", r.HardwareID}, {"port", r.Port}} {
		if err := checkGlob(g.what+" pattern", g.p); err != nil {
			return fmt.Errorf("rule: %w", err)
		}
	}
	if err := checkText("room", r.Room, 0, maxText); err != nil {
		return fmt.Errorf("rule: %w", err)
	}
	if err := checkText("profile", r.Profile, 0, maxText); err != nil {
		return fmt.Errorf("rule: %w", err)
	}
	if err := checkTemplate(r.Name); err != nil {
		return fmt.Errorf("rule: %w", err)
	}
	return nil
}

// Matches says whether the rule applies to the pending device d.
func (r *Rule) Matches(d *Device) bool {
	if r.Kind != "" && r.Kind != d.Kind.String() {
		return false
	}
	return glob(r.Model, d.Model) && glob(r.HardwareID, d.HardwareID) && glob(r.Port, d.Port)
}

func glob(pattern, s string) bool {
	if pattern == "" {
		return true
	}
	ok, _ := path.Match(pattern, s) // patterns are checked when the rule is set
	return ok
}

// Window is an enrollment window: until Until, a pending device matching one
// of Rules (the first that matches) is approved as it says HELLO. The zero
// Window is closed.
type Window struct {
	Until time.Time
	Rules []Rule
}

// Open says whether the window is open at now.
func (w Window) Open(now time.Time) bool { return now.Before(w.Until) }

// Check validates every rule.
func (w Window) Check() error {
	for i := range w.Rules {
		if err := w.Rules[i].Check(); err != nil {
			return fmt.Errorf("window rule %d: %w", i+1, err)
		}
	}
	return nil
}

// match returns the first rule of an open window that matches d.
func (w Window) match(now time.Time, d *Device) *Rule {
	if !w.Open(now) {
		return nil
	}
	for i := range w.Rules {
		if w.Rules[i].Matches(d) {
			return &w.Rules[i]
		}
	}
	return nil
}

// Preapproval is a manifest line waiting for its device: the first pending
// device of Kind whose hardware id matches Pattern (an exact id or a glob)
// is approved as Name, and the preapproval is used up. Preapprovals are
// durable and do not need an enrollment window: a person approved them by
// importing the manifest.
type Preapproval struct {
	Pattern string
	Kind    msg.Kind
	Name    string // the device's name and device id
	Room    string
	Profile string
	Created time.Time
}

func (p *Preapproval) check() error {
	if err := CheckHardwareID(p.Pattern); err != nil {
		return err
	}
	if err := checkGlob("hardware id pattern", p.Pattern); err != nil {
		return err
	}
	if err := CheckDeviceID(p.Name); err != nil {
		return err
	}
	if err := checkText("room", p.Room, 0, maxText); err != nil {
		return err
	}
	return checkText("profile", p.Profile, 0, maxText)
}

func (p *Preapproval) matches(d *Device) bool {
	return p.Kind == d.Kind && glob(p.Pattern, d.HardwareID)
}

// Name templates: the small language of Rule.Name.
//
// A template is literal text with these fields in braces:
//
//	{kind}     the device kind ("attendance", "kiosk", "room-panel", "other")
//	{model}    the model it reports
//	{room}     the rule's Room
//	{hw}       the whole hardware id
//	{hw[-N:]}  its last N bytes (N from 1 to 64); all of it if shorter
//	{n}        the smallest number from 1 that makes the name unused
//
// The expansion is then folded into a device id: ASCII letters are lower
// cased and every byte outside [a-z0-9_-] becomes '-'. The result must be a
// valid device id (1–32 bytes). Without {n}, a name already in use leaves the
// device pending. Examples: "term-{room}-{n}", "{kind}-{hw[-4:]}".
const maxN = 999

// checkTemplate parses t without expanding it.
func checkTemplate(t string) error {
	if t == "" {
		return fmt.Errorf("%w: empty name template", ErrInvalid)
	}
	_, err := expand(t, &Device{}, "", 0)
	return err
}

// expand fills template t for device d (room is the rule's room, n the
// counter) and folds the result into a device id.
func expand(t string, d *Device, room string, n int) (string, error) {
	var b strings.Builder
	for rest := t; rest != ""; {
		open := strings.IndexAny(rest, "{}")
		if open < 0 {
			b.WriteString(rest)
			break
		}
		if rest[open] == '}' {
			return "", fmt.Errorf("%w: name template %q: '}' without '{'", ErrInvalid, t)
		}
		b.WriteString(rest[:open])
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return "", fmt.Errorf("%w: name template %q: '{' without '}'", ErrInvalid, t)
		}
		field := rest[open+1 : open+end]
		rest = rest[open+end+1:]
		switch field {
		case "kind":
			b.WriteString(d.Kind.String())
		case "model":
			b.WriteString(d.Model)
		case "room":
			b.WriteString(room)
		case "hw":
			b.WriteString(d.HardwareID)
		case "n":
			b.WriteString(strconv.Itoa(n))
		default:
			num, ok := strings.CutPrefix(field, "hw[-")
			num, ok2 := strings.CutSuffix(num, ":]")
			k, err := strconv.Atoi(num)
			if !ok || !ok2 || err != nil || k < 1 || k > 64 || strconv.Itoa(k) != num {
				return "", fmt.Errorf("%w: name template %q: unknown field {%s}", ErrInvalid, t, field)
			}
			hw := d.HardwareID
			b.WriteString(hw[max(0, len(hw)-k):])
		}
	}
	return foldID(b.String()), nil
}

// foldID turns any text into device-id bytes (see the template language).
func foldID(s string) string {
	out := []byte(s)
	for i, c := range out {
		switch {
		case 'A' <= c && c <= 'Z':
			out[i] = c + 'a' - 'A'
		case !idByte(c):
			out[i] = '-'
		}
	}
	return string(out)
}

// hasCounter says whether t uses {n}.
func hasCounter(t string) bool { return strings.Contains(t, "{n}") }
