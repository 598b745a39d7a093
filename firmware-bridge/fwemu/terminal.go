package fwemu

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

// Bounds of the terminal application, with their reasons.
const (
	// MaxUsers is the size of a terminal's user table; 10 000 is what
	// mid-range attendance terminals hold.
	MaxUsers = 10000
	// DefaultLogCapacity is the attendance log's default size. Real
	// terminals keep ~100 000 records; the emulator rewrites its whole
	// state file at every record, so it keeps fewer.
	DefaultLogCapacity = 20000
	maxFetch           = 5000 // punches per attendance.fetch, as the gateway allows
	defaultFetch       = 500
	defaultPulse       = 3000 * time.Millisecond
)

// User is one entry of a terminal's user table.
type User struct {
	Name    string `cbor:"1,keyasint,omitempty"`
	Card    string `cbor:"2,keyasint,omitempty"`
	Role    string `cbor:"3,keyasint"` // "user" or "admin"
	Enabled bool   `cbor:"4,keyasint"`
}

// terminal is the volatile part of the terminal application; the user
// table and the log's bodies are in the state file. Guarded by Emulator.mu.
type terminal struct {
	log    []msg.Event     // decoded st.Log, in the order recorded
	pulses []time.Duration // every door pulse started, for tests
	door   *time.Timer     // the pulse running, nil when the relay is at rest
}

// loadTerminal decodes the attendance log of the state file. Called before
// the Emulator is shared.
func (e *Emulator) loadTerminal() error {
	for i, b := range e.st.Log {
		m, err := msg.Unmarshal(frame.TypeEvent, b)
		if err != nil {
			return fmt.Errorf("fwemu: state file %s: attendance record %d: %w", e.opts.StatePath, i, err)
		}
		e.term.log = append(e.term.log, *m.(*msg.Event))
	}
	e.trimLog()
	return nil
}

// logPunch appends a punch, as first encoded, to the attendance log,
// dropping the oldest beyond Options.LogCapacity as a terminal's cyclic log
// does. Called with mu held, from record, which persists.
func (e *Emulator) logPunch(ev msg.Event, body []byte) {
	e.st.Log = append(e.st.Log, body)
	e.term.log = append(e.term.log, ev)
	e.trimLog()
}

func (e *Emulator) trimLog() {
	if n := len(e.term.log) - e.opts.LogCapacity; n > 0 {
		e.term.log = slices.Delete(e.term.log, 0, n)
		e.st.Log = slices.Delete(e.st.Log, 0, n)
	}
}

// terminalCommand returns the handler of a terminal command, nil for
// another name or on a device that is not an attendance terminal. The link
// names are the gateway's ("user.upsert") with '_' for '.': a link command
// name is [a-z0-9_-] (PROTOCOL.md §4.1).
func (e *Emulator) terminalCommand(name string) CommandFunc {
	if e.opts.Kind != msg.KindAttendance {
		return nil
	}
	switch name {
	case "user_upsert":
		return e.userUpsert
	case "user_delete":
		return e.userDelete
	case "door_pulse":
		return e.doorPulse
	case "attendance_fetch":
		return e.attendanceFetch
	}
	return nil
}

// userUpsert creates or replaces a user. Unknown args are ignored (a newer
// gateway may send more), but biometric material is refused whatever the
// gateway let through: templates are enrolled at the terminal.
func (e *Emulator) userUpsert(_ context.Context, args map[string]any) (map[string]any, error) {
	if bio := biometricArgs(args); len(bio) > 0 {
		return nil, fmt.Errorf("biometric data refused: %s (enrolled at the terminal only)", strings.Join(bio, ", "))
	}
	id, err := userArg(args)
	if err != nil {
		return nil, err
	}
	u := User{Role: "user", Enabled: true}
	var ok bool
	if v, has := args["name"]; has {
		if u.Name, ok = v.(string); !ok || utf8.RuneCountInString(u.Name) > 64 {
			return nil, fmt.Errorf("name %v: want text of at most 64 characters", v)
		}
	}
	if v, has := args["card"]; has {
		if u.Card, ok = v.(string); !ok || u.Card == "" || len(u.Card) > 41 {
			return nil, fmt.Errorf("card %v: want a card number as text", v)
		}
	}
	if v, has := args["role"]; has {
		if u.Role, ok = v.(string); !ok || u.Role != "user" && u.Role != "admin" {
			return nil, fmt.Errorf("role %v: want \"user\" or \"admin\"", v)
		}
	}
	if v, has := args["enabled"]; has {
		if u.Enabled, ok = v.(bool); !ok {
			return nil, fmt.Errorf("enabled %v: want a boolean", v)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	old, existed := e.st.Users[id]
	if !existed && len(e.st.Users) >= MaxUsers {
		return nil, fmt.Errorf("user table full (%d users)", MaxUsers)
	}
	if e.st.Users == nil {
		e.st.Users = map[string]User{}
	}
	e.st.Users[id] = u
	if err := e.persist(); err != nil {
		if existed {
			e.st.Users[id] = old
		} else {
			delete(e.st.Users, id)
		}
		return nil, err
	}
	return map[string]any{"user": id, "created": !existed}, nil
}

func (e *Emulator) userDelete(_ context.Context, args map[string]any) (map[string]any, error) {
	id, err := userArg(args)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	old, existed := e.st.Users[id]
	if existed {
		delete(e.st.Users, id)
		if err := e.persist(); err != nil {
			e.st.Users[id] = old
			return nil, err
		}
	}
	return map[string]any{"user": id, "deleted": existed}, nil
}

func userArg(args map[string]any) (string, error) {
	id, ok := args["user"].(string)
	if !ok || id == "" || len(id) > 64 || strings.ContainsFunc(id, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' || r == '-')
	}) {
		return "", fmt.Errorf("user %v: want 1-64 of A-Z a-z 0-9 _ -", args["user"])
	}
	return id, nil
}

// biometricArgs lists, sorted, the keys of args that name biometric data
// (the firmware's own copy of the rule, so it holds with any gateway) and
// byte strings too large for anything but a template or an image.
func biometricArgs(args map[string]any) []string {
	var bio []string
	for k, v := range args {
		n := strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(k))
		hit := n == "fp"
		for _, s := range []string{"template", "photo", "image", "picture", "finger", "face", "palm", "iris", "vein", "biometric"} {
			hit = hit || strings.Contains(n, s)
		}
		if b, ok := v.([]byte); ok && len(b) > 64 {
			hit = true
		}
		if hit {
			bio = append(bio, k)
		}
	}
	slices.Sort(bio)
	return bio
}

// doorPulse releases the door relay for args["ms"] (100–10000, default
// 3000). A pulse already running answers busy: the gateway retries.
func (e *Emulator) doorPulse(_ context.Context, args map[string]any) (map[string]any, error) {
	if !e.opts.Door {
		return nil, fmt.Errorf("no door relay wired")
	}
	d := defaultPulse
	if v, has := args["ms"]; has {
		ms, ok := v.(uint64)
		if !ok || ms < 100 || ms > 10000 {
			return nil, fmt.Errorf("ms %v: want 100-10000", v)
		}
		d = time.Duration(ms) * time.Millisecond
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.term.door != nil {
		return nil, fmt.Errorf("door pulse running: %w", link.ErrBusy)
	}
	e.term.pulses = append(e.term.pulses, d)
	// A real timer: the relay is held for the pulse's duration. Its
	// callback only releases the relay, under mu.
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.term.door == t {
			e.term.door = nil
		}
	})
	e.term.door = t
	return map[string]any{"ms": uint64(d / time.Millisecond)}, nil
}

// attendanceFetch sends logged punches again (see the package doc). The
// log keeps them: a fetch that cleared it would lose what the gateway has
// not yet stored.
func (e *Emulator) attendanceFetch(_ context.Context, args map[string]any) (map[string]any, error) {
	var since, until, limit uint64 = 0, 0, defaultFetch
	for k, p := range map[string]*uint64{"since_ms": &since, "until_ms": &until, "limit": &limit} {
		if v, has := args[k]; has {
			n, ok := v.(uint64)
			if !ok {
				return nil, fmt.Errorf("%s %v: want an unsigned integer", k, v)
			}
			*p = n
		}
	}
	if _, has := args["since_ms"]; !has {
		return nil, fmt.Errorf("since_ms required")
	}
	if limit < 1 || limit > maxFetch {
		return nil, fmt.Errorf("limit %d: want 1-%d", limit, maxFetch)
	}
	if until != 0 && until <= since {
		return nil, fmt.Errorf("until_ms %d not after since_ms %d", until, since)
	}
	e.mu.Lock()
	var sel []msg.Event
	for _, ev := range e.term.log {
		if ev.Time >= since && (until == 0 || ev.Time < until) {
			sel = append(sel, ev)
		}
	}
	// Oldest by device time; a clock stepped back can log out of order.
	slices.SortStableFunc(sel, func(a, b msg.Event) int { return cmp.Compare(a.Time, b.Time) })
	// Replays go to the record store like any event: never more than it
	// has room for, so none is dropped as lost.
	n := min(len(sel), int(limit), e.opts.Capacity-len(e.evs))
	if n <= 0 && len(sel) > 0 {
		e.mu.Unlock()
		return nil, fmt.Errorf("event store full: %w", link.ErrBusy)
	}
	count := 0
	for _, ev := range sel[:n] {
		data := maps.Clone(ev.Data)
		if data == nil {
			data = map[string]any{}
		}
		data["replay"] = map[string]any{"boot": uint64(ev.ID.Boot), "seq": uint64(ev.ID.Seq)}
		// An original that filled a frame cannot carry the replay key: it
		// is skipped, and count says so.
		if _, err := e.recordAt(ev.Kind, ev.Time, ev.Clock, data, false); err == nil {
			count++
		}
	}
	err := e.persist()
	dev := e.dev
	e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	dev.Wake()
	return map[string]any{"count": uint64(count), "more": len(sel) > n}, nil
}

// Users returns a copy of the user table.
func (e *Emulator) Users() map[string]User {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.st.Users)
}

// DoorPulses returns the door pulses started, oldest first.
func (e *Emulator) DoorPulses() []time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.term.pulses)
}

// AttendanceLog returns the attendance log: every punch recorded, as first
// recorded, oldest first, at most Options.LogCapacity.
func (e *Emulator) AttendanceLog() []msg.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.term.log)
}
