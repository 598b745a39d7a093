package zk4370

import (
	"context"
	"errors"
	"fmt"
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
	cl := d.client()
	if cl == nil {
		return devices.Result{Status: devices.StatusBusy, Error: ErrOffline.Error()}
	}
	pin := args["user"].(string)
	if err := checkPIN(pin); err != nil {
		return devices.Failed(fmt.Errorf("zk4370: %s: user %q: a terminal's PIN is at most %d characters", c.Name, pin, pinLen))
	}
	users, err := cl.Users()
	if err != nil {
		return devices.Failed(fmt.Errorf("zk4370: %s: read the user table: %w", c.Name, err))
	}
	var old *User
	used := map[uint16]bool{}
	for i := range users {
		used[users[i].SN] = true
		if users[i].PIN == pin {
			old = &users[i]
		}
	}
	if c.Name == "user.delete" {
		if old == nil {
			return devices.OK(map[string]any{"user": pin, "deleted": false})
		}
		if err := cl.DeleteUser(old.SN); err != nil {
			return devices.Failed(fmt.Errorf("zk4370: user.delete %q: %w", pin, err))
		}
		return devices.OK(map[string]any{"user": pin, "deleted": true})
	}
	u := User{PIN: pin, Privilege: PrivUser}
	if args["enabled"] == false {
		// The 72-byte user record has no such flag.
		return devices.Failed(fmt.Errorf("zk4370: user.upsert %q: a 4370 terminal cannot disable a user; delete it instead", pin))
	}
	if args["role"] == "admin" {
		u.Privilege = PrivAdmin
	}
	if name, _ := args["name"].(string); name != "" {
		if len(name) > 24 {
			return devices.Failed(fmt.Errorf("zk4370: user.upsert %q: name of %d bytes, the terminal holds 24", pin, len(name)))
		}
		u.Name = name
	}
	if card, _ := args["card"].(string); card != "" {
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
func (d *Driver) fetch(ctx context.Context, args map[string]any) devices.Result {
	req := fetchReq{since: time.UnixMilli(int64(args["since_ms"].(uint64))), limit: int(args["limit"].(uint64)),
		done: make(chan devices.Result, 1)}
	if u := args["until_ms"].(uint64); u != 0 {
		req.until = time.UnixMilli(int64(u))
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
