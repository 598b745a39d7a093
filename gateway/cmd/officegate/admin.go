package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/officegate/officegate/provisioning/admin"
	"github.com/officegate/officegate/provisioning/rollout"
)

// The admin subcommands talk to the running daemon over its socket
// (provisioning/admin, "Socket API").
const adminUsage = `usage:
  officegate devices list [--json]
  officegate devices show ID|HARDWARE_ID [--json]
  officegate devices approve HARDWARE_ID --id ID [--name NAME] [--room ROOM] [--profile PROFILE]
  officegate devices rename ID NAME
  officegate devices disable|enable|retire ID
  officegate devices replace OLD_ID NEW_HARDWARE_ID
  officegate devices import FILE
  officegate enroll --for 10m [--kind terminal] [--model M] [--hw-pattern P] [--port-pattern P]
                    [--name-pattern T] [--room R] [--profile P]
  officegate enroll status|close
  officegate config push PROFILE
  officegate firmware rollout IMAGE --version V --devices ID,ID… [--canary N] [--parallel N] [--wait]
                    IMAGE is a file in the firmware directory (provisioning.firmware_dir), IMAGE.sig beside it
  officegate firmware status [ROLLOUT_ID] [--wait]
  officegate people import FILE [--replace]
  officegate people list [--json]
  officegate people show PERSON|CARD_HASH [--json]
  officegate people remove PERSON
  officegate people forget PERSON
  officegate people held [SINK] [--config FILE] [--json]
                    reads the state directory: the daemon need not run; FILE may be the central consumer's
  officegate sinks status [--json]
  officegate sinks deadletters SINK [--json]
  officegate sinks replay SINK
  officegate sinks held SINK [--config FILE] [--json]   (as people held: from the state directory)
                    offers the sink's dead letters to its destination again, once the cause is fixed
Every command takes --socket PATH (default ` + admin.DefaultSocket + `);
the people and sinks commands work on the central consumer's socket too (connect.socket).
`

// adminCmd is one admin invocation: the flags every subcommand shares.
type adminCmd struct {
	socket string
	stdout io.Writer
	stderr io.Writer
}

// runAdmin runs "devices …", "enroll …" and "config …".
func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a := &adminCmd{stdout: stdout, stderr: stderr}
	// --socket may also stand before the command or its group word
	// ("officegate --socket P devices list", "officegate devices --socket P
	// list"); the subcommand's flag set takes it as its default.
	a.socket = admin.DefaultSocket
	args, ok := a.takeSocket(args)
	if ok && len(args) > 0 {
		var rest []string
		rest, ok = a.takeSocket(args[1:])
		args = append([]string{args[0]}, rest...)
	}
	if !ok || len(args) == 0 {
		return a.usageErr("--socket needs a path and a command")
	}
	if wantsHelp(args[1:]) { // "officegate firmware --help": the group's usage
		fmt.Fprint(a.stdout, usageOf(args[0]))
		return errHelp
	}
	var err error
	switch args[0] {
	case "devices":
		err = a.devices(ctx, args[1:])
	case "enroll":
		err = a.enroll(ctx, args[1:])
	case "config":
		err = a.config(ctx, args[1:])
	case "firmware":
		err = a.firmware(ctx, args[1:])
	case "people":
		err = a.people(ctx, args[1:]) // people.go
	case "sinks":
		err = a.sinks(ctx, args[1:]) // sinks.go
	default:
		err = a.usageErr("unknown command %q", args[0])
	}
	if errors.Is(err, admin.ErrNotRunning) {
		return fmt.Errorf("%w; start it (systemctl start officegate) or name its socket with --socket", err)
	}
	return err
}

// takeSocket takes --socket PATH (or --socket=PATH) off the front of args.
func (a *adminCmd) takeSocket(args []string) ([]string, bool) {
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		name, val, hasVal := strings.Cut(strings.TrimLeft(args[0], "-"), "=")
		if name != "socket" {
			break
		}
		if hasVal {
			args = args[1:]
		} else if len(args) >= 2 {
			val, args = args[1], args[2:]
		} else {
			return nil, false
		}
		a.socket = val
	}
	return args, true
}

// usageErr prints why and the usage, and makes main exit 2.
func (a *adminCmd) usageErr(format string, v ...any) error {
	fmt.Fprintf(a.stderr, "officegate: "+format+"\n", v...)
	fmt.Fprint(a.stderr, adminUsage)
	return errUsage
}

// usageOf returns the lines of adminUsage for name ("devices", "devices
// approve", "enroll status"), with the --socket note; all of it if none match.
func usageOf(name string) string {
	group, sub, _ := strings.Cut(name, " ")
	var b strings.Builder
	b.WriteString("usage:\n")
	in := false
	for _, line := range strings.Split(strings.TrimSuffix(adminUsage, "\n"), "\n") {
		rest, ok := strings.CutPrefix(line, "  officegate ")
		switch {
		case ok:
			words := strings.Fields(rest)
			in = words[0] == group && (sub == "" || len(words) > 1 && slices.Contains(strings.Split(words[1], "|"), sub) ||
				group == "enroll" && sub != "status" && sub != "close" && strings.HasPrefix(words[1], "-"))
		case !strings.HasPrefix(line, "    "):
			in = false
		}
		if in {
			b.WriteString(line + "\n")
		}
	}
	if b.Len() == len("usage:\n") {
		return adminUsage
	}
	b.WriteString("Every command takes --socket PATH (default " + admin.DefaultSocket + ").\n")
	return b.String()
}

// flags returns a flag set with --socket.
func (a *adminCmd) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	fs.StringVar(&a.socket, "socket", a.socket, "the daemon's admin socket `path`")
	return fs
}

// parse parses flags wherever they stand among the positional arguments
// ("devices approve HW --id ID") and checks the count of positionals: want,
// or at most -want if negative.
func (a *adminCmd) parse(fs *flag.FlagSet, args []string, want int, what string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args, usageOf(fs.Name())+"flags:\n", a.stdout); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) != want && !(want < 0 && len(pos) <= -want) {
		return nil, a.usageErr("%s: want %s", fs.Name(), what)
	}
	return pos, nil
}

func (a *adminCmd) client() *admin.Client { return admin.NewClient(a.socket) }

// query runs a command that asks the daemon one thing: it takes --json and
// want positional arguments (what names them in the usage error), asks
// with get and prints the answer as JSON, or as print shows it.
func query[T any](a *adminCmd, name string, args []string, want int, what string,
	get func(c *admin.Client, pos []string) (T, error), print func(v T, pos []string)) error {
	fs := a.flags(name)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := a.parse(fs, args, want, what)
	if err != nil {
		return err
	}
	v, err := get(a.client(), pos)
	if err != nil {
		return err
	}
	if *asJSON {
		return a.json(v)
	}
	print(v, pos)
	return nil
}

func (a *adminCmd) devices(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return a.usageErr("devices: which command?")
	}
	sub, args := args[0], args[1:]
	name := "devices " + sub
	switch sub {
	case "list":
		return query(a, name, args, 0, "no arguments",
			func(c *admin.Client, _ []string) (admin.DeviceList, error) { return c.List(ctx) },
			func(l admin.DeviceList, _ []string) { a.table(l) })
	case "show":
		return query(a, name, args, 1, "a device id or hardware id",
			func(c *admin.Client, pos []string) (admin.Device, error) { return c.Show(ctx, pos[0]) },
			func(d admin.Device, _ []string) { a.show(d) })
	case "approve":
		fs := a.flags(name)
		var req admin.ApproveRequest
		fs.StringVar(&req.ID, "id", "", "the device `id` (its MQTT topic level), required")
		fs.StringVar(&req.Name, "name", "", "its `name` for people (default: the id)")
		fs.StringVar(&req.Room, "room", "", "its `room` or location")
		fs.StringVar(&req.Profile, "profile", "", "its configuration `profile`")
		pos, err := a.parse(fs, args, 1, "a hardware id")
		if err != nil {
			return err
		}
		if req.ID == "" {
			return a.usageErr("devices approve: --id is required")
		}
		d, err := a.client().Approve(ctx, pos[0], req)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "approved %s as %s (%s); it agrees its link key at its next HELLO\n", d.HardwareID, d.DeviceID, describe(d))
		return nil
	case "rename":
		pos, err := a.parse(a.flags(name), args, 2, "ID NAME")
		if err != nil {
			return err
		}
		d, err := a.client().Rename(ctx, pos[0], pos[1])
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "%s is now named %q\n", d.DeviceID, d.Name)
		return nil
	case "disable", "enable", "retire":
		pos, err := a.parse(a.flags(name), args, 1, "a device id")
		if err != nil {
			return err
		}
		d, err := a.client().Action(ctx, pos[0], sub)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "%s (%s) is %s\n", d.DeviceID, d.HardwareID, d.State)
		return nil
	case "replace":
		pos, err := a.parse(a.flags(name), args, 2, "OLD_ID NEW_HARDWARE_ID")
		if err != nil {
			return err
		}
		d, err := a.client().Replace(ctx, pos[0], pos[1])
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "%s is now the unit %s (%s); the old unit is retired; the new one agrees its key at its next HELLO\n", d.DeviceID, d.HardwareID, describe(d))
		return nil
	case "import":
		pos, err := a.parse(a.flags(name), args, 1, "a manifest FILE")
		if err != nil {
			return err
		}
		csv, err := os.ReadFile(pos[0])
		if err != nil {
			return err
		}
		res, err := a.client().Import(ctx, csv)
		if err := a.problems(pos[0], err); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "%s: %d approved, %d waiting for their device, %d already applied\n", pos[0], len(res.Approved), len(res.Waiting), len(res.Done))
		for _, l := range []struct {
			what string
			ids  []string
		}{{"approved", res.Approved}, {"waiting", res.Waiting}} {
			if len(l.ids) > 0 {
				fmt.Fprintf(a.stdout, "  %s: %s\n", l.what, strings.Join(l.ids, ", "))
			}
		}
		return nil
	}
	return a.usageErr("unknown command %q", name)
}

func (a *adminCmd) enroll(ctx context.Context, args []string) error {
	fs := a.flags("enroll")
	var r admin.Rule
	dur := fs.Duration("for", 0, "how long the window stays open (at most 24h), required")
	fs.StringVar(&r.Kind, "kind", "", "approve devices of this `kind` only: terminal, kiosk, room")
	fs.StringVar(&r.Model, "model", "", "… whose model matches this `glob`")
	fs.StringVar(&r.HardwareID, "hw-pattern", "", "… whose hardware id matches this `glob`")
	fs.StringVar(&r.Port, "port-pattern", "", "… on a serial port matching this `glob`")
	fs.StringVar(&r.Name, "name-pattern", "", "name `template` of approved devices (default "+admin.DefaultNameTemplate+")")
	fs.StringVar(&r.Room, "room", "", "`room` of approved devices")
	fs.StringVar(&r.Profile, "profile", "", "configuration `profile` of approved devices")
	if len(args) > 0 && (args[0] == "status" || args[0] == "close") {
		if _, err := a.parse(fs, args[1:], 0, "no arguments"); err != nil {
			return err
		}
		if args[0] == "close" {
			if err := a.client().EnrollClose(ctx); err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, "enrollment window closed")
			return nil
		}
		w, err := a.client().Enrollment(ctx)
		if err != nil {
			return err
		}
		a.window(w)
		return nil
	}
	if _, err := a.parse(fs, args, 0, "flags only"); err != nil {
		return err
	}
	if *dur == 0 {
		return a.usageErr("enroll: --for is required (such as --for 10m)")
	}
	w, err := a.client().Enroll(ctx, *dur, []admin.Rule{r})
	if err != nil {
		return err
	}
	a.window(w)
	return nil
}

func (a *adminCmd) window(w admin.Window) {
	if w.Until.IsZero() {
		fmt.Fprintln(a.stdout, "enrollment window closed")
		return
	}
	fmt.Fprintf(a.stdout, "enrollment window open until %s\n", w.Until.Local().Format("2006-01-02 15:04:05 MST"))
	for _, r := range w.Rules {
		var m []string
		for _, f := range []struct{ k, v string }{{"kind", r.Kind}, {"model", r.Model}, {"hardware id", r.HardwareID}, {"port", r.Port}} {
			if f.v != "" {
				m = append(m, fmt.Sprintf("%s %s", f.k, f.v))
			}
		}
		if len(m) == 0 {
			m = append(m, "any device")
		}
		fmt.Fprintf(a.stdout, "  %s → name %s", strings.Join(m, ", "), r.Name)
		if r.Room != "" {
			fmt.Fprintf(a.stdout, ", room %q", r.Room)
		}
		if r.Profile != "" {
			fmt.Fprintf(a.stdout, ", profile %s", r.Profile)
		}
		fmt.Fprintln(a.stdout)
	}
}

func (a *adminCmd) config(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "push" {
		return a.usageErr("config: want push PROFILE")
	}
	pos, err := a.parse(a.flags("config push"), args[1:], 1, "a PROFILE")
	if err != nil {
		return err
	}
	res, err := a.client().ConfigPush(ctx, pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "profile %s (sha256 %.16s…): %d device(s)\n", res.Profile, res.Hash, len(res.Devices))
	failed := 0
	for _, d := range res.Devices {
		line := fmt.Sprintf("  %-20s %s", d.Device, d.Outcome)
		if d.Code != "" {
			line += " (" + d.Code + ")"
		}
		if d.Error != "" {
			line += ": " + d.Error
		}
		fmt.Fprintln(a.stdout, line)
		if d.Outcome == admin.PushRejected || d.Outcome == admin.PushFailed {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("config push %s: %d device(s) did not take it", res.Profile, failed)
	}
	return nil
}

func (a *adminCmd) firmware(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return a.usageErr("firmware: want rollout or status")
	}
	fs := a.flags("firmware " + args[0])
	wait := fs.Bool("wait", false, "follow the rollout until it ends, drawing its progress")
	var rec rollout.Record
	switch args[0] {
	case "rollout":
		var req admin.RolloutRequest
		var devs string
		fs.StringVar(&req.Version, "version", "", "the image's firmware `version`, required")
		fs.StringVar(&devs, "devices", "", "comma-separated device `ids`, canaries first, required")
		fs.IntVar(&req.Canary, "canary", 0, "how many devices go first, one at a time (default 1)")
		fs.IntVar(&req.Parallel, "parallel", 0, "how many devices at once after the canaries (default 1)")
		pos, err := a.parse(fs, args[1:], 1, "an IMAGE: a file in the gateway's firmware directory, its signature beside it (IMAGE.sig)")
		if err != nil {
			return err
		}
		if req.Version == "" || devs == "" {
			return a.usageErr("firmware rollout: --version and --devices are required")
		}
		req.Devices = strings.Split(devs, ",")
		// The daemon reads the image from its firmware directory: a
		// relative name is in it, an absolute path must be under it.
		req.Image = pos[0]
		if rec, err = a.client().FirmwareRollout(ctx, req); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "rollout %s started: %s %s to %d device(s)\n", rec.ID, filepath.Base(req.Image), req.Version, len(rec.Devices))
	case "status":
		pos, err := a.parse(fs, args[1:], -1, "at most one ROLLOUT_ID")
		if err != nil {
			return err
		}
		if len(pos) == 0 {
			recs, err := a.client().FirmwareRollouts(ctx)
			if err != nil {
				return err
			}
			for _, r := range recs {
				fmt.Fprintf(a.stdout, "%s  %-8s %s  %s\n", r.ID, r.State, r.Image.Version, r.Summary())
			}
			return nil
		}
		if rec, err = a.client().FirmwareStatus(ctx, pos[0]); err != nil {
			return err
		}
	default:
		return a.usageErr("firmware: want rollout or status")
	}
	last := ""
	for {
		if line := progress(rec); line != last {
			fmt.Fprintln(a.stdout, line)
			last = line
		}
		if !*wait || rec.State != rollout.Running {
			break
		}
		select {
		case <-ctx.Done():
			return nil // the rollout goes on in the daemon
		case <-time.After(time.Second): // polling the daemon, at a person's pace
		}
		var err error
		if rec, err = a.client().FirmwareStatus(ctx, rec.ID); err != nil {
			return err
		}
	}
	if s := rec.Summary(); rec.State != rollout.Running && (s.RolledBack > 0 || s.Failed > 0 || rec.State != rollout.Done) {
		return fmt.Errorf("rollout %s %s: %s %s", rec.ID, rec.State, s, rec.Reason)
	}
	return nil
}

// progress draws a rollout in one line: a bar of final devices, then each
// device's phase.
func progress(rec rollout.Record) string {
	const width = 20
	final := 0
	var phases []string
	for _, d := range rec.Devices {
		if d.Phase.Final() {
			final++
		}
		p := fmt.Sprintf("%s %s", d.ID, d.Phase)
		if d.Reason != "" && !d.Phase.Final() {
			p += " (" + d.Reason + ")"
		}
		phases = append(phases, p)
	}
	fill := 0
	if n := len(rec.Devices); n > 0 {
		fill = final * width / n
	}
	return fmt.Sprintf("[%s%s] %d/%d %s · %s", strings.Repeat("#", fill), strings.Repeat(".", width-fill), final, len(rec.Devices), rec.State, strings.Join(phases, ", "))
}

func (a *adminCmd) json(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table prints the device list for people.
func (a *adminCmd) table(l admin.DeviceList) {
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DEVICE\tNAME\tKIND\tROOM\tSTATE\tONLINE\tFIRMWARE\tLAST SEEN\tHARDWARE ID")
	for _, d := range l.Devices {
		online := "no"
		if d.Online {
			online = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", dash(d.DeviceID), dash(d.Name), d.Kind, dash(d.Room),
			d.State, online, dash(d.Firmware), ago(l.Time, d.LastSeen), d.HardwareID)
	}
	tw.Flush()
	if l.Window != nil {
		fmt.Fprintf(a.stdout, "\nenrollment window open until %s (%d rule(s))\n", l.Window.Until.Local().Format("15:04:05 MST"), len(l.Window.Rules))
	}
	if l.Preapprovals > 0 {
		fmt.Fprintf(a.stdout, "%d manifest line(s) wait for their device\n", l.Preapprovals)
	}
}

func (a *adminCmd) show(d admin.Device) {
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, dash(v)) }
	row("device", d.DeviceID)
	row("name", d.Name)
	row("hardware id", d.HardwareID)
	row("kind", d.Kind)
	row("model", d.Model)
	row("room", d.Room)
	row("profile", d.Profile)
	state := d.State
	if (d.State == "active" || d.State == "disabled") && !d.Keyed {
		state += " (no link key yet)"
	}
	row("state", state)
	row("online", map[bool]string{true: "yes", false: "no"}[d.Online])
	row("port", d.Port)
	row("firmware", d.Firmware)
	row("config", d.ConfigHash)
	if d.Refused != "" {
		row("refused", d.Refused)
	}
	row("last seen", stamp(d.LastSeen))
	row("created", stamp(d.Created))
	row("updated", stamp(d.Updated))
	tw.Flush()
}

func describe(d admin.Device) string {
	s := fmt.Sprintf("name %q", d.Name)
	if d.Room != "" {
		s += fmt.Sprintf(", room %q", d.Room)
	}
	if d.Profile != "" {
		s += ", profile " + d.Profile
	}
	return s
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format("2006-01-02 15:04:05 MST")
}

// ago says how long before now t was, in the largest whole unit.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < time.Second:
		return "now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd ago", int(d/(24*time.Hour)))
}

// problems prints, one per line as file:line: field: reason, the problems
// of a CSV file the daemon rejected, and returns the error saying nothing
// was applied. Any other error is returned as it is.
func (a *adminCmd) problems(file string, err error) error {
	var ae *admin.Error
	if !errors.As(err, &ae) || len(ae.Problems) == 0 {
		return err
	}
	for _, p := range ae.Problems {
		if p.Field != "" {
			fmt.Fprintf(a.stderr, "%s:%d: %s: %s\n", file, p.Line, p.Field, p.Reason)
		} else {
			fmt.Fprintf(a.stderr, "%s:%d: %s\n", file, p.Line, p.Reason)
		}
	}
	return fmt.Errorf("%s: %d problem(s), nothing applied", file, len(ae.Problems))
}
