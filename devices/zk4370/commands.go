package zk4370

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/terminal"
)

var _ devices.Commander = (*Driver)(nil)

// commands are what Handle takes (doc.go §4.4).
var commands = []string{"attendance.fetch", "time.set", "user.delete", "user.upsert"}

// ErrOffline is why a command fails while no session is up.
var ErrOffline = errors.New("zk4370: terminal not connected")

// timeSet is time.set (MQTT.md §6.1): the clock check the session makes at
// connect and every clock_check, now: the terminal's clock is read, set to
// the gateway's when off by more than clock_threshold, and read again.
func (d *Driver) timeSet(args map[string]any) devices.Result {
	if len(args) != 0 {
		return devices.Failed(errors.New("zk4370: time.set takes no args: the terminal's clock is set from the gateway's clock"))
	}
	cl := d.client()
	if cl == nil {
		return devices.Result{Status: devices.StatusBusy, Error: ErrOffline.Error()}
	}
	s, err := d.syncClock(cl)
	if err != nil {
		return devices.Failed(fmt.Errorf("zk4370: time.set: %w", err))
	}
	data := map[string]any{"clock": s.clock, "clock_offset_ms": s.after.Milliseconds(), "stepped": s.stepped}
	if s.stepped {
		data["corrected_ms"] = s.before.Milliseconds()
	}
	return devices.OK(data)
}

// client returns the live session, or nil.
func (d *Driver) client() *Client {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cl
}

// Handle implements devices.Commander: user.upsert and user.delete, checked
// by terminal.CheckCommand like every terminal's, written over the live
// session (doc.go §4.4).
func (d *Driver) Handle(ctx context.Context, c devices.Command) devices.Result {
	switch c.Name {
	case "time.set":
		return d.timeSet(c.Args)
	case "user.upsert", "user.delete", "attendance.fetch":
	default:
		return devices.Unsupported(c)
	}
	args, err := terminal.CheckCommand(c.Name, c.Args)
	if err != nil {
		return devices.Failed(err)
	}
	if c.Name == "attendance.fetch" {
		return d.fetch(ctx, args)
	}
	return d.writeUser(c.Name, args)
}

// writeUser runs user.upsert or user.delete with args as
// terminal.CheckCommand returns them. Every arg is asserted checked: a
// caller that skipped CheckCommand gets an error naming the arg, not a
// panic.
func (d *Driver) writeUser(name string, args map[string]any) devices.Result {
	pin, err := stringArg(name, args, "user", true)
	if err != nil {
		return devices.Failed(err)
	}
	var uname, card, role string
	enabled := true
	if name == "user.upsert" {
		if uname, err = stringArg(name, args, "name", false); err != nil {
			return devices.Failed(err)
		}
		if card, err = stringArg(name, args, "card", false); err != nil {
			return devices.Failed(err)
		}
		if role, err = stringArg(name, args, "role", false); err != nil {
			return devices.Failed(err)
		}
		if v, ok := args["enabled"]; ok {
			b, isBool := v.(bool)
			if !isBool {
				return devices.Failed(fmt.Errorf("zk4370: %s: arg \"enabled\" is %T, want a boolean", name, v))
			}
			enabled = b
		}
	}
	if err := checkPIN(pin); err != nil {
		return devices.Failed(fmt.Errorf("zk4370: %s: user %q: a terminal's PIN is at most %d characters", name, pin, pinLen))
	}
	cl := d.client()
	if cl == nil {
		return devices.Result{Status: devices.StatusBusy, Error: ErrOffline.Error()}
	}
	users, err := cl.Users()
	if err != nil {
		return devices.Failed(fmt.Errorf("zk4370: %s: read the user table: %w", name, err))
	}
	var old *User
	used := map[uint16]bool{}
	for i := range users {
		used[users[i].SN] = true
		if users[i].PIN == pin {
			old = &users[i]
		}
	}
	if name == "user.delete" {
		if old == nil {
			return devices.OK(map[string]any{"user": pin, "deleted": false})
		}
		if err := cl.DeleteUser(old.SN); err != nil {
			return devices.Failed(fmt.Errorf("zk4370: user.delete %q: %w", pin, err))
		}
		return devices.OK(map[string]any{"user": pin, "deleted": true})
	}
	u := User{PIN: pin, Privilege: PrivUser}
	if !enabled {
		// The 72-byte user record has no such flag.
		return devices.Failed(fmt.Errorf("zk4370: user.upsert %q: a 4370 terminal cannot disable a user; delete it instead", pin))
	}
	if role == "admin" {
		u.Privilege = PrivAdmin
	}
	if uname != "" {
		if len(uname) > 24 {
			return devices.Failed(fmt.Errorf("zk4370: user.upsert %q: name of %d bytes, the terminal holds 24", pin, len(uname)))
		}
		u.Name = uname
	}
	if card != "" {
		if u.Card, err = cardNumber(card); err != nil {
			return devices.Failed(fmt.Errorf("zk4370: user.upsert %q: %w", pin, err))
		}
	}
	if old != nil {
		u.SN, u.Group = old.SN, old.Group
	} else {
		for sn := uint16(1); sn != 0; sn++ {
			if !used[sn] {
				u.SN = sn
				break
			}
		}
		if u.SN == 0 {
			return devices.Failed(fmt.Errorf("zk4370: user.upsert %q: the user table is full", pin))
		}
	}
	if err := cl.WriteUser(u); err != nil {
		return devices.Failed(fmt.Errorf("zk4370: user.upsert %q: %w", pin, err))
	}
	return devices.OK(map[string]any{"user": pin, "created": old == nil})
}

// stringArg returns the string arg key of command name: "" when it is
// absent and not required.
func stringArg(name string, args map[string]any, key string, required bool) (string, error) {
	v, ok := args[key]
	if !ok {
		if required {
			return "", fmt.Errorf("zk4370: %s: arg %q missing", name, key)
		}
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("zk4370: %s: arg %q is %T, want a string", name, key, v)
	}
	return s, nil
}

// uintArg returns the required arg key of command name, a uint64 as
// terminal.CheckCommand leaves its numbers and times.
func uintArg(name string, args map[string]any, key string) (uint64, error) {
	v, ok := args[key]
	if !ok {
		return 0, fmt.Errorf("zk4370: %s: arg %q missing", name, key)
	}
	n, ok := v.(uint64)
	if !ok {
		return 0, fmt.Errorf("zk4370: %s: arg %q is %T, want a uint64", name, key, v)
	}
	return n, nil
}

// cardNumber turns the contract's card text into the terminal's uint32:
// decimal, or facility:number as facility·65536 + number (the Wiegand 26
// layout most terminals show).
func cardNumber(s string) (uint32, error) {
	f, n, two := strings.Cut(s, ":")
	if !two {
		v, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("card %q does not fit the terminal's 32 bits", s)
		}
		return uint32(v), nil
	}
	fv, err1 := strconv.ParseUint(f, 10, 16)
	nv, err2 := strconv.ParseUint(n, 10, 16)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("card %q: facility and number must each fit 16 bits", s)
	}
	return uint32(fv)<<16 | uint32(nv), nil
}

// fetchReq asks the session's goroutine, which alone emits (so a device's
// events keep their order), to send a window of the log again.
type fetchReq struct {
	since, until time.Time // until zero: no bound
	limit        int
	done         chan devices.Result
}

// fetch hands an attendance.fetch to the running session and waits for its
// answer.
// args are as terminal.CheckCommand returns them; each is asserted checked,
// as in writeUser.
func (d *Driver) fetch(ctx context.Context, args map[string]any) devices.Result {
	const name = "attendance.fetch"
	since, err := uintArg(name, args, "since_ms")
	if err != nil {
		return devices.Failed(err)
	}
	until, err := uintArg(name, args, "until_ms")
	if err != nil {
		return devices.Failed(err)
	}
	limit, err := uintArg(name, args, "limit")
	if err != nil {
		return devices.Failed(err)
	}
	// CheckCommand's bounds, again: a limit of 0 would answer nothing and
	// one past int would wrap.
	if limit == 0 || limit > math.MaxInt32 || since > math.MaxInt64 || until > math.MaxInt64 {
		return devices.Failed(fmt.Errorf("zk4370: %s: since_ms %d, until_ms %d, limit %d out of range", name, since, until, limit))
	}
	req := fetchReq{since: time.UnixMilli(int64(since)), limit: int(limit), done: make(chan devices.Result, 1)}
	if until != 0 {
		req.until = time.UnixMilli(int64(until))
	}
	if d.client() == nil {
		return devices.Result{Status: devices.StatusBusy, Error: ErrOffline.Error()}
	}
	select {
	case d.fetches <- req:
	case <-ctx.Done():
		return devices.Result{Status: devices.StatusBusy, Error: "zk4370: attendance.fetch: the session did not take it in time"}
	}
	select {
	case res := <-req.done:
		return res
	case <-ctx.Done():
		// The session still answers into done's buffer; nobody reads it.
		return devices.Failed(fmt.Errorf("zk4370: attendance.fetch: %w", ctx.Err()))
	}
}

// runFetch reads the log and emits the window's punches again, oldest
// first, under their ids (doc.go §4.4).
func (d *Driver) runFetch(ctx context.Context, cl *Client, sink devices.Sink, req fetchReq) devices.Result {
	log, err := cl.ReadLog()
	if err != nil {
		return devices.Failed(fmt.Errorf("zk4370: attendance.fetch: read the log: %w", err))
	}
	n, more := 0, false
	for _, r := range log {
		t := r.Time.In(d.s.loc)
		if t.Before(req.since) || (!req.until.IsZero() && !t.Before(req.until)) {
			continue
		}
		if n == req.limit {
			more = true
			break
		}
		if err := d.emit(ctx, sink, r); err != nil {
			return devices.Failed(fmt.Errorf("zk4370: attendance.fetch: %w", err))
		}
		n++
	}
	d.count("fetched", uint64(n))
	return devices.OK(map[string]any{"count": int64(n), "more": more})
}
