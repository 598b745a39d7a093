package kiosk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/door"
	"github.com/officegate/officegate/devices/scanner"
)

// Command names Handle takes (doc.go, "Commands").
const (
	CmdInviteUpsert = "invite.upsert"
	CmdInviteRevoke = "invite.revoke"
	CmdApprove      = "visitor.approve"
	CmdCheckout     = "visitor.checkout"
	CmdDoorPulse    = "door.pulse"
	CmdDoorMode     = "door.mode"
)

// Commands lists the command names Handle takes, for devices.Description.
var Commands = []string{CmdInviteUpsert, CmdInviteRevoke, CmdApprove, CmdCheckout, CmdDoorPulse, CmdDoorMode}

// minPulse is the shortest door release: below it a strike does not pull in.
const minPulse = 100 * time.Millisecond

// Handle implements devices.Commander.
func (k *Kiosk) Handle(ctx context.Context, c devices.Command) devices.Result {
	a := &args{cmd: c.Name, m: c.Args, seen: map[string]bool{}}
	switch c.Name {
	case CmdInviteUpsert:
		return k.upsert(a)
	case CmdInviteRevoke:
		return k.revoke(a)
	case CmdApprove:
		scanID, inviteID := a.id("scan_id", true), a.id("invite_id", false)
		name, host, company := a.text("name", true), a.text("host", true), a.text("company", false)
		if err := a.done(); err != nil {
			return devices.Failed(err)
		}
		id, err := k.approve(ctx, scanID, inviteID, name, host, company)
		if err != nil {
			return devices.Failed(err)
		}
		return devices.OK(map[string]any{"invite_id": id, "scan_id": scanID})
	case CmdCheckout:
		id := a.id("invite_id", true)
		if err := a.done(); err != nil {
			return devices.Failed(err)
		}
		if err := k.checkout(id); err != nil {
			return devices.Failed(err)
		}
		return devices.OK(map[string]any{"invite_id": id})
	case CmdDoorPulse:
		return k.pulse(ctx, a)
	case CmdDoorMode:
		mode := a.str("mode", true)
		if err := a.done(); err != nil {
			return devices.Failed(err)
		}
		d, err := k.openDoor()
		if err != nil {
			return devices.Failed(err)
		}
		if err := d.SetMode(door.Mode(mode)); err != nil {
			if errors.Is(err, door.ErrBadMode) {
				err = fmt.Errorf("kiosk: door.mode: argument \"mode\": %q is not normal, held_open or locked", mode)
			}
			return devices.Failed(err)
		}
		return devices.OK(map[string]any{"mode": mode})
	}
	return devices.Unsupported(c)
}

func (k *Kiosk) upsert(a *args) devices.Result {
	inv := Invite{ID: a.id("invite_id", true), Name: a.text("name", true), Host: a.text("host", true), Company: a.text("company", false),
		ValidFrom: a.time("valid_from"), ValidUntil: a.time("valid_until")}
	inv.TokenHash = a.token(k.set.key)
	if err := a.done(); err != nil {
		return devices.Failed(err)
	}
	if err := checkInvite(inv); err != nil {
		return devices.Failed(fmt.Errorf("kiosk: invite.upsert: %w", err))
	}
	now := k.now()
	if !now.Before(inv.ValidUntil) {
		return devices.Failed(fmt.Errorf("kiosk: invite.upsert: argument \"valid_until\": %s has passed", inv.ValidUntil.Format(time.RFC3339)))
	}
	k.mu.Lock()
	created, err := k.cache.upsert(inv, now)
	if err != nil {
		k.mu.Unlock()
		return devices.Failed(fmt.Errorf("kiosk: invite.upsert: %w", err))
	}
	seq, b, encErr := k.snapshot()
	k.mu.Unlock()
	if err := k.persist(seq, b, encErr); err != nil {
		return devices.Failed(fmt.Errorf("kiosk: invite.upsert: invite %q is in effect but not saved: %w", inv.ID, err))
	}
	return devices.OK(map[string]any{"invite_id": inv.ID, "created": created})
}

func (k *Kiosk) revoke(a *args) devices.Result {
	var id, hash string
	if _, ok := a.m["invite_id"]; ok {
		id = a.id("invite_id", true)
		if err := a.done(); err != nil {
			return devices.Failed(fmt.Errorf("%w (give exactly one of invite_id, token, token_hash)", err))
		}
	} else {
		hash = a.token(k.set.key)
		if err := a.done(); err != nil {
			return devices.Failed(err)
		}
	}
	k.mu.Lock()
	if hash != "" {
		id = k.cache.byHash[hash]
	}
	inv := k.cache.invites[id]
	if inv == nil {
		k.mu.Unlock()
		if hash != "" {
			return devices.Failed(errors.New("kiosk: invite.revoke: no invite has that token"))
		}
		return devices.Failed(fmt.Errorf("kiosk: invite.revoke: no invite %q", id))
	}
	inv.Revoked = true
	seq, b, encErr := k.snapshot()
	k.mu.Unlock()
	if err := k.persist(seq, b, encErr); err != nil {
		return devices.Failed(fmt.Errorf("kiosk: invite.revoke: invite %q is revoked but not saved: %w", id, err))
	}
	return devices.OK(map[string]any{"invite_id": id, "revoked": true})
}

func (k *Kiosk) pulse(ctx context.Context, a *args) devices.Result {
	d, dErr := k.openDoor()
	maxPulse := door.MaxMaxPulse
	if d != nil {
		maxPulse = d.MaxPulse()
	}
	dur := k.set.pulse
	if ms, ok := a.num("duration_ms"); ok {
		if ms != math.Trunc(ms) || ms < float64(minPulse.Milliseconds()) {
			a.fail("duration_ms", fmt.Errorf("%v is not a whole number of milliseconds from %d", ms, minPulse.Milliseconds()))
		} else if ms > float64(maxPulse.Milliseconds()) {
			a.fail("duration_ms", fmt.Errorf("%v is above the cap of %d (max_pulse)", ms, maxPulse.Milliseconds()))
		} else {
			dur = time.Duration(ms) * time.Millisecond
		}
	}
	if err := a.done(); err != nil {
		return devices.Failed(err)
	}
	if dErr != nil {
		return devices.Failed(dErr)
	}
	err := d.Pulse(ctx, dur)
	switch {
	case errors.Is(err, door.ErrBusy):
		return devices.Result{Status: devices.StatusBusy, Error: err.Error()}
	case err != nil:
		return devices.Failed(err)
	}
	return devices.OK(map[string]any{"duration_ms": dur.Milliseconds()})
}

// openDoor returns the door while Run runs.
func (k *Kiosk) openDoor() (*door.Door, error) {
	if k.set.door == nil {
		return nil, errors.New("kiosk: no door configured")
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.door == nil {
		return nil, errors.New("kiosk: door not open (the driver is not running)")
	}
	return k.door, nil
}

// args reads a command's arguments, remembering the first fault and which
// keys were read, so that done can refuse the ones no rule read.
type args struct {
	cmd  string
	m    map[string]any
	seen map[string]bool
	err  error
}

func (a *args) fail(key string, err error) {
	if a.err == nil {
		a.err = fmt.Errorf("kiosk: %s: argument %q: %w", a.cmd, key, err)
	}
}

// done returns the first fault, or names the arguments the command does not
// define (a misspelt key must not be ignored).
func (a *args) done() error {
	if a.err != nil {
		return a.err
	}
	var extra []string
	for key := range a.m {
		if !a.seen[key] {
			extra = append(extra, fmt.Sprintf("%q", key))
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		return fmt.Errorf("kiosk: %s: unknown argument %s", a.cmd, strings.Join(extra, ", "))
	}
	return nil
}

func (a *args) str(key string, required bool) string {
	a.seen[key] = true
	v, ok := a.m[key]
	if !ok || v == nil {
		if required {
			a.fail(key, errors.New("missing"))
		}
		return ""
	}
	s, ok := v.(string)
	if !ok {
		a.fail(key, fmt.Errorf("a %T, want a string", v))
	}
	return s
}

func (a *args) id(key string, required bool) string {
	s := a.str(key, required)
	if _, ok := a.m[key]; ok && a.err == nil {
		if err := checkID(s); err != nil {
			a.fail(key, err)
		}
	}
	return s
}

func (a *args) text(key string, required bool) string {
	s := a.str(key, required)
	c, err := cleanText(s, MaxNameLen)
	switch {
	case err != nil:
		a.fail(key, err)
	case required && c == "" && a.err == nil:
		a.fail(key, errors.New("empty"))
	}
	return c
}

func (a *args) time(key string) time.Time {
	s := a.str(key, true)
	if a.err != nil {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		a.fail(key, fmt.Errorf("%q is not RFC 3339 with an offset", s))
	}
	return t
}

// token reads exactly one of token (hashed at once: the clear token is
// neither kept nor quoted) and token_hash, and returns the hash.
func (a *args) token(key []byte) string {
	_, hasToken := a.m["token"]
	_, hasHash := a.m["token_hash"]
	if hasToken == hasHash {
		a.seen["token"], a.seen["token_hash"] = true, true
		a.fail("token", errors.New("give exactly one of token and token_hash"))
		return ""
	}
	if hasHash {
		h := a.str("token_hash", true)
		if a.err == nil {
			if err := checkHash(h); err != nil {
				a.fail("token_hash", err)
			}
		}
		return h
	}
	a.seen["token"] = true
	t, ok := a.m["token"].(string)
	switch {
	case !ok:
		a.fail("token", fmt.Errorf("a %T, want a string", a.m["token"]))
	case !plausibleToken(t):
		// Not quoted: it is the clear token.
		a.fail("token", fmt.Errorf("want %d to %d bytes of visible ASCII, no space (what the kiosk accepts as a scan)", MinTokenLen, MaxTokenLen))
	default:
		return devices.KeyedHash(key, t)
	}
	return ""
}

// num reads an optional number however the gateway decoded it.
func (a *args) num(key string) (float64, bool) {
	a.seen[key] = true
	v, ok := a.m[key]
	if !ok {
		return 0, false
	}
	var f float64
	switch v := v.(type) {
	case float64:
		f = v
	case int:
		f = float64(v)
	case int64:
		f = float64(v)
	case json.Number:
		var err error
		if f, err = v.Float64(); err != nil {
			a.fail(key, fmt.Errorf("%q is not a number", v))
			return 0, false
		}
	default:
		a.fail(key, fmt.Errorf("a %T, want a number", v))
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		a.fail(key, fmt.Errorf("%v is not a number", f))
		return 0, false
	}
	return f, true
}

// plausibleToken is the invite token format, the same rule the kiosk's
// scanner applies to a scan (doc.go, "Scans"): a token outside it could
// never be scanned.
func plausibleToken(s string) bool {
	return len(s) >= MinTokenLen && len(s) <= MaxTokenLen && scanner.VisibleASCII([]byte(s))
}
