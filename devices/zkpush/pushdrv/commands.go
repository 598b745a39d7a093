package pushdrv

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/terminal"
	"github.com/officegate/officegate/devices/zkpush"
	"github.com/officegate/officegate/devices/zkteco"
)

var _ devices.Commander = (*Driver)(nil)

// Commands are what Handle takes (MQTT.md §6.1, §6.2).
var Commands = []string{"attendance.fetch", "door.pulse", "time.set", "user.delete", "user.upsert"}

// maxQueued bounds a terminal's queue: a terminal offline for long must not
// make the gateway hold commands without limit.
const maxQueued = 256

// pending is a command waiting for the terminal's poll, then for its result.
type pending struct {
	cmdID string // the PUSH CmdID (§12): "g" and a counter, letters and digits
	desc  string
	c     devices.Command
	sent  bool
	// skew is, once sent, the Date header of the reply that carried the
	// command minus the gateway's clock when it was written: the terminal
	// set its clock from that header (§5), so for time.set it is the
	// offset the sync left.
	skew time.Duration
	done chan devices.Result // buffered 1; answered once
}

// Handle implements devices.Commander: the command waits in the terminal's
// queue until its next poll (§12), and is answered when the terminal posts
// its Return code (§13). A command whose deadline passes while queued is
// answered expired and never sent.
func (d *Driver) Handle(ctx context.Context, c devices.Command) devices.Result {
	var desc string
	var err error
	switch c.Name {
	case "time.set":
		desc, err = timeSet(c.Args)
	case "door.pulse":
		desc, err = d.pulse(c.Args)
	case "user.upsert", "user.delete", "attendance.fetch":
		var args map[string]any
		if args, err = terminal.CheckCommand(c.Name, c.Args); err != nil {
			return devices.Failed(err)
		}
		if c.Name == "attendance.fetch" {
			desc = d.query(args)
		} else {
			desc, err = describe(c.Name, args)
		}
	default:
		return devices.Unsupported(c)
	}
	if err != nil {
		return devices.Failed(err)
	}
	d.mu.Lock()
	if len(d.queue) >= maxQueued {
		d.mu.Unlock()
		return devices.Result{Status: devices.StatusBusy, Error: fmt.Sprintf("pushdrv: %d commands already wait for terminal %s", maxQueued, d.set.serial)}
	}
	d.nextCmd++
	p := &pending{cmdID: "g" + strconv.FormatUint(d.nextCmd, 36), desc: desc, c: c, done: make(chan devices.Result, 1)}
	d.queue = append(d.queue, p)
	d.mu.Unlock()
	select {
	case r := <-p.done:
		return r
	case <-ctx.Done():
		d.mu.Lock()
		defer d.mu.Unlock()
		d.dropLocked(p)
		if p.sent {
			return devices.Failed(fmt.Errorf("pushdrv: %s sent to terminal %s, no result before the deadline: it may have been done", c.Name, d.set.serial))
		}
		return devices.Result{Status: devices.StatusExpired, Error: "the terminal did not poll before the deadline"}
	}
}

// query is DATA QUERY ATTLOG (§12.1.3) for the fetch window, in the
// terminal's wall clock: StartTime and EndTime are inclusive seconds, the
// contract's until is exclusive. The terminal re-sends every punch of the
// window as an ordinary upload, under the ids they had; it cannot be held
// to limit.
func (d *Driver) query(args map[string]any) string {
	since, _ := args["since_ms"].(uint64)
	until, _ := args["until_ms"].(uint64)
	from := time.UnixMilli(int64(since)).In(d.set.loc)
	if from.Nanosecond() != 0 {
		from = from.Truncate(time.Second)
	}
	to := d.now().In(d.set.loc)
	if until != 0 {
		to = time.UnixMilli(int64(until) - 1).In(d.set.loc)
	}
	return fmt.Sprintf("DATA QUERY ATTLOG StartTime=%s\tEndTime=%s", from.Format(zkteco.TimeLayout), to.Format(zkteco.TimeLayout))
}

// timeSet is time.set's command line. The terminal sets its clock from the
// Date header of every reply (§5), so the clock is set by the reply to the
// poll that carries the command whatever the command is; INFO (§12.4.3) is
// the one that changes nothing on the terminal, and its result proves the
// terminal had that reply. It also reports the firmware version.
func timeSet(args map[string]any) (string, error) {
	if len(args) != 0 {
		return "", fmt.Errorf("pushdrv: time.set takes no args: the terminal's clock is set from the gateway's clock")
	}
	return "INFO", nil
}

// pulse is door.pulse's command line: AC_UNLOCK (§12.7.2), which opens the
// terminal's lock output for the lock time set on the terminal. The
// command cannot carry a duration, so a duration_ms other than that
// configured lock time (door_pulse) is refused rather than ignored.
func (d *Driver) pulse(args map[string]any) (string, error) {
	out, err := terminal.CheckCommand("door.pulse", args)
	if err != nil {
		return "", err
	}
	if d.set.pulse == 0 {
		return "", fmt.Errorf("pushdrv: terminal %s has no door relay configured (door_pulse)", d.set.serial)
	}
	if v, ok := args["duration_ms"]; ok {
		if ms, _ := out["ms"].(uint64); time.Duration(ms)*time.Millisecond != d.set.pulse {
			return "", fmt.Errorf("pushdrv: door.pulse: duration_ms %v: terminal %s opens its lock for its own lock time, %d ms (door_pulse); PUSH cannot set it per command",
				v, d.set.serial, d.set.pulse.Milliseconds())
		}
	}
	return "AC_UNLOCK", nil
}

// describe is the command line's description (§12.1.1.1, §12.1.2). Names
// are sent as UTF-8 (§1.2: terminals not set to Chinese read UTF-8).
func describe(name string, args map[string]any) (string, error) {
	pin, _ := args["user"].(string)
	if _, err := zkpush.ParseAttlogLine([]byte(pin + "\t2000-01-01 00:00:00\t0\t0")); err != nil {
		return "", fmt.Errorf("pushdrv: %s: user %q is not a ZKTeco PIN (1–%d letters and digits)", name, pin, zkpush.MaxPIN)
	}
	if name == "user.delete" {
		return "DATA DELETE USERINFO PIN=" + pin, nil
	}
	nameArg, _ := args["name"].(string)
	if strings.ContainsAny(nameArg, "\t\r\n") {
		return "", fmt.Errorf("pushdrv: user.upsert: name holds a tab or line break")
	}
	card, _ := args["card"].(string)
	if strings.Contains(card, ":") {
		return "", fmt.Errorf("pushdrv: user.upsert: card %q: a ZKTeco user card is one number, not facility:number", card)
	}
	pri := 0
	if args["role"] == "admin" {
		pri = 14
	}
	return fmt.Sprintf("DATA UPDATE USERINFO PIN=%s\tName=%s\tPri=%d\tPasswd=\tCard=%s\tGrp=1", pin, nameArg, pri, card), nil
}

func (d *Driver) dropLocked(p *pending) {
	for i, q := range d.queue {
		if q == p {
			d.queue = append(d.queue[:i], d.queue[i+1:]...)
			return
		}
	}
}

// commandLines hands out the queued commands not sent yet (§12), answering
// expired the ones whose deadline passed.
//
// now is the gateway's clock and date the Date header of the reply that
// carries them.
func (d *Driver) commandLines(now, date time.Time) string {
	tz := d.options().TimeZone
	d.mu.Lock()
	defer d.mu.Unlock()
	var b []byte
	if d.tzKnown && tz != d.tzSent {
		// The zone's offset changed since the terminal was told it (a
		// daylight-saving change): its wall clock is off by the
		// difference until it shakes hands again, which CHECK (§12.3.1)
		// makes it do. Its result answers nothing that waits.
		d.nextCmd++
		b, _ = zkpush.AppendCommand(b, "z"+strconv.FormatUint(d.nextCmd, 36), "CHECK")
		d.tzSent = tz // asked once; the handshake that follows confirms it
		d.countLocked("zone_changes")
	}
	for _, p := range append([]*pending(nil), d.queue...) {
		if p.sent {
			continue
		}
		if p.c.Expired(now) {
			d.dropLocked(p)
			p.done <- devices.Result{Status: devices.StatusExpired, Error: "expired while queued for the terminal's poll"}
			continue
		}
		var err error
		if b, err = zkpush.AppendCommand(b, p.cmdID, p.desc); err != nil {
			d.dropLocked(p)
			p.done <- devices.Failed(err)
			continue
		}
		p.sent, p.skew = true, date.Sub(now)
	}
	if len(b) == 0 {
		return "OK"
	}
	return string(b)
}

// results answers the sent commands the terminal reports on (§13).
func (d *Driver) results(rs []zkpush.Result) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range rs {
		for _, p := range d.queue {
			if p.cmdID != r.ID || !p.sent {
				continue
			}
			d.dropLocked(p)
			if p.c.Name == "time.set" && r.Return == zkpush.ReturnOK {
				if fw := r.Info["FWVersion"]; fw != "" {
					d.firmware = clipFirmware(fw)
				}
			}
			p.done <- d.mapReturn(p, r.Return)
			break
		}
	}
}

// mapReturn maps a Return code (Appendix 1) to the contract's result.
func (d *Driver) mapReturn(p *pending, ret int) devices.Result {
	c := p.c
	user, _ := c.Args["user"].(string)
	switch {
	case ret == zkpush.ReturnOK && c.Name == "time.set":
		// The terminal took its clock from the Date header of the reply
		// that carried the command: stepped, by an amount it does not
		// report (no corrected_ms), to within the header's rounding.
		return devices.OK(map[string]any{"clock": devices.ClockSynced, "clock_offset_ms": p.skew.Milliseconds(), "stepped": true})
	case ret == zkpush.ReturnOK && c.Name == "door.pulse":
		return devices.OK(map[string]any{"duration_ms": d.set.pulse.Milliseconds()})
	case ret == zkpush.ReturnOK && c.Name == "attendance.fetch":
		// The terminal queued the punches; they follow as uploads. PUSH
		// does not count them for us, and sends the whole window.
		return devices.OK(map[string]any{"more": false})
	case ret == zkpush.ReturnOK && c.Name == "user.delete":
		return devices.OK(map[string]any{"user": user, "deleted": true})
	case ret == zkpush.ReturnNoSuchUser && c.Name == "user.delete":
		return devices.OK(map[string]any{"user": user, "deleted": false})
	case ret == zkpush.ReturnOK:
		// PUSH does not say whether the user existed: no "created".
		return devices.OK(map[string]any{"user": user})
	case ret == zkpush.ReturnBusy:
		return devices.Result{Status: devices.StatusBusy, Error: "the terminal is busy (Return -1005)"}
	case ret == zkpush.ReturnUnsupported:
		return devices.Result{Status: devices.StatusUnsupported, Error: "the terminal does not support it (Return -1002)"}
	}
	return devices.Failed(fmt.Errorf("pushdrv: %s: the terminal returned %d", c.Name, ret))
}
