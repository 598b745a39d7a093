// Package daemon runs the gateway: it wires its parts together and stops them
// in order. The parts are the journal, the device links and their serial ports,
// the intake, the command processor and the MQTT uplink.
package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/linkdev"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/gateway/commands"
	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/intake"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/uplink"
	"github.com/officegate/officegate/provisioning"
	"github.com/officegate/officegate/provisioning/admin"
	"github.com/officegate/officegate/provisioning/people"
	"github.com/officegate/officegate/provisioning/rollout"
)

// Device is one device on a serial port speaking the firmware-bridge link.
type Device struct {
	ID   string // the device id on the wire
	Kind string // terminal, panel, kiosk, …: reported until the device says what it is
	Port string // /dev/serial/by-id/… (or any tty)
	Baud int
}

// Options configure a gateway run. The binary fills them from the
// configuration file; the demo and tests build them directly.
type Options struct {
	Gateway    string
	Location   *time.Location
	StateDir   string // small state beside the journal (device high-water marks)
	JournalDir string // default StateDir/journal
	Journal    journal.Options
	// Retention is the per-stream maximum age (privacy), by stream name.
	Retention map[string]time.Duration
	Uplink    uplink.Options // Topics.Gateway, Streams and Boot are filled in
	// Sinks are the destinations besides the uplink (sinks.go), each with a
	// journal cursor of its own; one dropped from the list releases it.
	Sinks   []Sink
	Devices []Device
	// Drivers are devices not on a firmware-bridge link (a Wiegand reader on
	// GPIO), built by the caller from its driver registry.
	Drivers []devices.Driver
	// HTTP, if set, serves /metrics and /healthz there (loopback, per the
	// configuration's rules).
	HTTP    string
	Version string
	Log     zerolog.Logger
	// Ready, if set, is called once the journal is open and every part runs.
	Ready func(*Gateway)
	// Watchdog, if set, runs as the last stage, from before Ready until the
	// gateway stops, and stops first: a service manager's watchdog checking
	// that the parts make progress never watches a part already stopped.
	// It must return once ctx ends.
	Watchdog func(ctx context.Context, g *Gateway)
	// CardKey is the site's card key ([privacy] card_key_file): card
	// numbers are hashed under it. nil: the key in StateDir/card.key, made
	// at the first start (devices.SiteKeyFile).
	CardKey []byte
	// TimeSync tunes device clock syncs (the threshold is its Step).
	TimeSync link.TimeSync
	// Sender, if set, is bound to this run: drivers built with its Send
	// (devices.Options.Send) reach the other devices through it.
	Sender *Sender
	// Provisioning, if set, opens the device registry and watches its
	// ports for devices to enroll.
	Provisioning *Provisioning
	// Console, if set, serves the facilities web console (console.go);
	// it needs Provisioning.
	Console *Console

	// stageHook, if set, is told of each stage's start and stop; an error
	// fails that start (tests: export_test.go).
	stageHook func(stageEvent) error
	// serialNow, if set, is the clock of the serial error log's window
	// (tests: export_test.go); default time.Now.
	serialNow func() time.Time
}

// Sender lets drivers send commands to other devices of the gateway (a room
// driver to its panel). Drivers are built before the gateway runs, so it is
// bound late: Send fails until Run has started.
type Sender struct {
	r atomic.Pointer[router]
}

// ErrNotRunning is returned by Sender.Send before the gateway runs.
var ErrNotRunning = errors.New("daemon: the gateway is not running")

// Send sends c to device and returns its result.
func (s *Sender) Send(ctx context.Context, device string, c devices.Command) (devices.Result, error) {
	r := s.r.Load()
	if r == nil {
		return devices.Result{}, ErrNotRunning
	}
	if c.ID == "" {
		c.ID = "gw-" + envelope.NewID()
	}
	// The same table as commands from MQTT (commandset.go), plus what only
	// drivers send (a panel's display).
	if err := r.check(device, c.Name, true); err != nil {
		return devices.Result{}, fmt.Errorf("daemon: %w", err)
	}
	if d, ok := r.driver(device); ok {
		return d.(devices.Commander).Handle(ctx, c), nil // check: a driver with commands is a Commander
	}
	lg := r.links.byDevice(device)
	if lg == nil {
		return devices.Result{}, fmt.Errorf("daemon: device %q has not connected to this gateway", device)
	}
	if c.Name == "time.set" {
		return devices.Result{}, fmt.Errorf("daemon: time.set is the gateway's: it syncs device clocks itself")
	}
	args := c.Args
	if k := r.linkRules(device, lg); k.CheckCommand != nil && !slices.Contains(k.Internal, c.Name) {
		var err error
		if args, err = k.CheckCommand(c.Name, c.Args); err != nil {
			return devices.Result{}, fmt.Errorf("daemon: %w", err)
		}
	}
	res, err := lg.Send(ctx, msg.Command{ID: c.ID, Name: msg.CommandName(c.Name), Args: args})
	if err != nil {
		return devices.Result{}, err
	}
	return devices.Result{Status: res.Status.String(), Error: res.Error, Data: res.Data}, nil
}

// Gateway is a running gateway, as Ready sees it.
type Gateway struct {
	Journal *journal.Journal
	Uplink  *uplink.Uplink
	Intake  *intake.Intake
	Links   map[string]*link.Gateway // the configured devices', by device id
	// People is the person directory (provisioning/people).
	People *people.Directory
	// Registry is the device registry; nil without provisioning.
	Registry *provisioning.Registry
	// Rollouts runs firmware rollouts; nil without provisioning.firmware_key.
	Rollouts *rollout.Orchestrator
	// Admin is the admin service (socket API, gateway MQTT commands); nil
	// without provisioning.
	Admin    *admin.Service
	links    *linkSet
	watchdog atomic.Pointer[WatchdogVerdict] // watchdog.go; nil: off
}

// Link returns the link of device id, configured or discovered; nil if none.
func (g *Gateway) Link(id string) *link.Gateway { return g.links.byDevice(id) }

// Ports returns the status of the link on every discovered port.
func (g *Gateway) Ports() map[string]link.Status { return g.links.portStatus() }

// fixedID enrolls whatever answers on a configured port under the configured
// device id (provisioning replaces this with approval and keys). The device's
// kind travels with its records (link.Record.DeviceKind).
type fixedID struct {
	id string
}

func (f fixedID) Lookup(_ context.Context, h *msg.Hello) (link.Identity, error) {
	return link.Identity{Enrollment: link.Enrolled, DeviceID: f.id}, nil
}

// statusHistory turns a link's status into the device's retained status and
// journals its history: a device.status event when the device connects or
// drops off or its clock state changes, a clock_drift alarm for every step
// of its clock, and an auth_failed alarm when a unit claiming the device's
// hardware id cannot prove its key (MQTT.md §5.4, §5.5), in the order they
// happened.
type statusHistory struct {
	d       Device
	lg      *link.Gateway
	up      *uplink.Uplink
	in      *intake.Intake
	log     zerolog.Logger
	last    envelope.DeviceStatus
	steps   uint64
	refused uint64 // link AuthRefused count already reported
	seenUp  bool   // history starts at the first connection, not at our own start
}

func newStatusHistory(d Device, lg *link.Gateway, up *uplink.Uplink, in *intake.Intake, log zerolog.Logger) *statusHistory {
	return &statusHistory{d: d, lg: lg, up: up, in: in, log: log, refused: lg.Stats().AuthRefused}
}

func (h *statusHistory) note(ctx context.Context, typ string, data map[string]any) {
	// Control stream: protected, so only a stopping gateway refuses it.
	if err := h.in.Note(ctx, h.d.ID, typ, data); err != nil && ctx.Err() == nil {
		h.log.Warn().Err(err).Str("event", typ).Msg("could not journal a device status change")
	}
}

func (h *statusHistory) update(ctx context.Context, st link.Status) {
	ds := deviceStatus(h.d, st)
	if st.Clock.Steps > h.steps {
		off := st.Clock.StepOffset
		h.note(ctx, "device.alarm", map[string]any{"alarm": "clock_drift", "clock_offset_ms": off.Milliseconds(),
			"detail": fmt.Sprintf("device clock %s the gateway's by %.1f s (threshold %s); stepped",
				aheadBehind(off), abs(off).Seconds(), h.lg.StepThreshold())})
		h.steps = st.Clock.Steps
	}
	if n := h.lg.Stats().AuthRefused; n > h.refused {
		h.note(ctx, "device.alarm", map[string]any{"alarm": "auth_failed",
			"detail": fmt.Sprintf("%d HELLO(s) on %s refused: a unit claiming hardware id %q could not prove its link key",
				n-h.refused, h.d.Port, st.HardwareID)})
		h.refused = n
	}
	if ds.State == envelope.StateOnline {
		h.seenUp = true
	}
	if h.seenUp && (ds.State != h.last.State || ds.Clock != h.last.Clock) {
		data := map[string]any{"state": ds.State, "clock": ds.Clock, "reason": statusReason(h.last, ds)}
		if ds.Firmware != "" {
			data["firmware"] = ds.Firmware
		}
		if !st.Clock.At.IsZero() {
			data["clock_offset_ms"] = st.Clock.Offset.Milliseconds()
		}
		h.note(ctx, "device.status", data)
	}
	if ds != h.last {
		h.up.SetDeviceStatus(ds)
	}
	h.last = ds
}

func statusReason(was, now envelope.DeviceStatus) string {
	switch {
	case now.State != was.State && now.State == envelope.StateOnline:
		return "connected"
	case now.State != was.State:
		return "link lost"
	case now.Clock == envelope.ClockSynced && was.Clock == envelope.ClockDrifted:
		return "clock stepped"
	}
	return "clock " + now.Clock
}

func aheadBehind(d time.Duration) string {
	if d < 0 {
		return "behind"
	}
	return "ahead of"
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func deviceStatus(d Device, s link.Status) envelope.DeviceStatus {
	state := envelope.StateOffline
	if s.Online {
		state = envelope.StateOnline
	}
	kind := kindName(s.Kind)
	if s.HardwareID == "" && d.Kind != "" {
		kind = d.Kind // no HELLO yet: what the configuration says
	}
	ds := envelope.DeviceStatus{Device: d.ID, State: state, Kind: kind, Model: s.Model,
		Firmware: s.Firmware, Clock: s.Clock.State.String()}
	if !s.LastSeen.IsZero() {
		ds.LastSeen = s.LastSeen.UTC().Format("2006-01-02T15:04:05.000Z07:00") // MQTT.md: UTC with milliseconds
	}
	return ds
}

// kindName is the name of a declared kind (devices.LinkKind.Name).
func kindName(k msg.Kind) string { return linkdev.Kind(k).Name }

// router executes device commands over their links, or hands them to a
// driver that takes commands.
type router struct {
	links   *linkSet
	kinds   map[string]string // configured kind of each link device
	drivers map[string]devices.Driver
	in      *intake.Intake
	log     zerolog.Logger
	reg     *provisioning.Registry // nil without provisioning
	admin   *atomic.Pointer[admin.Service]
}

// Check implements commands.Router: the table in commandset.go.
func (r router) Check(device, name string) error { return r.check(device, name, false) }

func (r router) Execute(ctx context.Context, req commands.Request) commands.Outcome {
	// Checked when queued; checked again here, so that no path reaches a
	// device with a name the table does not give it.
	if err := r.check(req.Device, req.Name, false); err != nil {
		status := envelope.StatusUnsupported
		if errors.Is(err, commands.ErrUnknownDevice) {
			status = envelope.StatusError
		}
		return commands.Outcome{Status: status, Error: err.Error()}
	}
	a, err := jsonArgs(req.Args)
	if err != nil {
		return commands.Outcome{Status: envelope.StatusError, Error: err.Error()}
	}
	if req.Device == "" {
		svc := r.admin.Load()
		if svc == nil {
			return commands.Outcome{Status: envelope.StatusUnsupported, Error: "gateway commands need provisioning"}
		}
		st, msg, data := svc.Command(ctx, req.Name, a)
		return commands.Outcome{Status: st, Error: msg, Data: data}
	}
	if d, ok := r.driver(req.Device); ok {
		c, ok := d.(devices.Commander)
		if !ok {
			return commands.Outcome{Status: envelope.StatusUnsupported, Error: fmt.Sprintf("device %q takes no commands", req.Device)}
		}
		dl, _ := ctx.Deadline()
		res := c.Handle(ctx, devices.Command{ID: req.ID, Name: req.Name, Args: a, Deadline: dl})
		return commands.Outcome{Status: res.Status, Error: res.Error, Data: res.Data}
	}
	lg := r.links.byDevice(req.Device)
	if lg == nil {
		// Enrolled in the registry, but no port has seen it yet.
		return commands.Outcome{Status: envelope.StatusError, Error: fmt.Sprintf("device %q is enrolled but has not connected to this gateway", req.Device)}
	}
	if req.Name == "time.set" {
		return r.syncClock(ctx, lg, a)
	}
	rules := r.linkRules(req.Device, lg)
	if rules.CheckCommand != nil {
		if a, err = rules.CheckCommand(req.Name, a); err != nil {
			if errors.Is(err, devices.ErrBiometric) {
				// Someone tried to push biometric data: an administrator
				// should know, whatever the sender does with the error.
				if nerr := r.in.Note(ctx, req.Device, "device.alarm", map[string]any{"alarm": "biometric_refused",
					"detail": fmt.Sprintf("command %s (id %.64s) refused: it carried biometric data", req.Name, req.ID)}); nerr != nil {
					r.log.Warn().Err(nerr).Str("device", req.Device).Msg("could not journal a biometric_refused alarm")
				}
			}
			return commands.Outcome{Status: envelope.StatusError, Error: err.Error()}
		}
	}
	// Link command names have no '.' (PROTOCOL.md §4): door.pulse goes as
	// door_pulse.
	cmd := msg.Command{ID: req.ID, Name: msg.CommandName(req.Name), Args: a}
	if dl, ok := ctx.Deadline(); ok {
		cmd.Deadline = uint64(dl.UnixMilli())
	}
	res, err := lg.Send(ctx, cmd)
	if errors.Is(err, link.ErrUnanswered) && errors.Is(err, context.DeadlineExceeded) {
		// The device had the command before it expired and may have run
		// it: its answer, not "expired" (nothing executed), says what
		// happened. It refuses one that reaches it late itself (§9.2).
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), UnansweredGrace)
		res, err = lg.Send(wctx, cmd)
		cancel()
	}
	if err != nil {
		switch {
		case errors.Is(err, link.ErrUnanswered):
			return commands.Outcome{Status: envelope.StatusError, Error: fmt.Sprintf(
				"sent to the device before it expired, no result %v after: outcome unknown, check the device before retrying", UnansweredGrace)}
		case errors.Is(err, context.DeadlineExceeded):
			return commands.Outcome{Status: envelope.StatusExpired, Error: err.Error()}
		}
		return commands.Outcome{Status: envelope.StatusError, Error: err.Error()}
	}
	data := res.Data
	if rules.ResultData != nil {
		data = rules.ResultData(req.Name, data)
	}
	return commands.Outcome{Status: res.Status.String(), Error: res.Error, Data: data}
}

// UnansweredGrace is how long past its expiry the gateway waits for the
// result of a command a link device already had (MQTT.md §6, rule 4).
const UnansweredGrace = 5 * time.Second

// linkRules are the rules of a link device's kind (its commands' checks and
// results): the kind its HELLO declared, else the configured one.
func (r router) linkRules(device string, lg *link.Gateway) devices.LinkKind {
	if st := lg.Status(); st.HardwareID != "" {
		return linkdev.Kind(st.Kind)
	}
	k, _ := linkdev.ByName(r.kinds[device])
	return k
}

// syncClock is time.set: the gateway owns device clocks, so setting one
// means syncing it with the gateway's (NTP-synced) clock now, stepping it if
// it is off, rather than writing a time someone typed.
func (r router) syncClock(ctx context.Context, lg *link.Gateway, args map[string]any) commands.Outcome {
	if len(args) != 0 {
		return commands.Outcome{Status: envelope.StatusError,
			Error: "time.set takes no args: the device clock is set from the gateway's clock"}
	}
	before := lg.Status().Clock
	info, err := lg.SyncClock(ctx)
	switch {
	case errors.Is(err, link.ErrNoClock):
		return commands.Outcome{Status: envelope.StatusError, Error: "device not connected, or it has no clock to set"}
	case errors.Is(err, context.DeadlineExceeded):
		return commands.Outcome{Status: envelope.StatusExpired, Error: err.Error()}
	case err != nil:
		return commands.Outcome{Status: envelope.StatusError, Error: err.Error()}
	}
	data := map[string]any{"clock": info.State.String(), "clock_offset_ms": info.Offset.Milliseconds(),
		"stepped": info.Steps > before.Steps}
	if info.Steps > before.Steps {
		data["corrected_ms"] = info.StepOffset.Milliseconds()
	}
	return commands.Outcome{Status: envelope.StatusOK, Data: data}
}

// jsonArgs turns a command's JSON arguments into the CBOR-ready map the link
// carries, keeping integers integers (JSON numbers would otherwise all become
// floats on the device).
func jsonArgs(raw json.RawMessage) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("args: %w", err)
	}
	return fixNumbers(m).(map[string]any), nil
}

func fixNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = fixNumbers(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = fixNumbers(e)
		}
		return x
	}
	return v
}

func logRecovery(log zerolog.Logger, r journal.Recovery) {
	ev := log.Info()
	if len(r.Losses) > 0 || r.CursorsReset != "" {
		ev = log.Warn()
	}
	ev.Int("segments", r.Segments).Int("scanned", len(r.Scanned)).Uint64("records_lost", r.Lost()).
		Strs("broken_copies", r.Broken).Strs("removed_temp", r.RemovedTemp).Str("cursors_reset", r.CursorsReset).
		Strs("notes", r.Notes).Msg("journal opened")
	for _, l := range r.Losses {
		log.Error().Str("loss", l.String()).Msg("journal damage found at open")
	}
}

// driverStatusEvery is how often a driver's status is read: drivers have
// no session to watch.
const driverStatusEvery = 5 * time.Second

// driverStatus publishes a driver's retained status now and then: drivers
// have no session to watch, so a Statuser says what it knows.
func driverStatus(ctx context.Context, d devices.Driver, up *uplink.Uplink) {
	var last envelope.DeviceStatus
	t := time.NewTicker(driverStatusEvery)
	defer t.Stop()
	for {
		if st := statusOf(d); st != last {
			up.SetDeviceStatus(st)
			last = st
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// statusOf is a driver's retained status as it says it now.
func statusOf(d devices.Driver) envelope.DeviceStatus {
	desc := d.Describe()
	st := envelope.DeviceStatus{Device: desc.ID, State: envelope.StateOnline, Kind: desc.Kind, Model: desc.Model}
	if s, ok := d.(devices.Statuser); ok {
		ds := s.Status()
		if !ds.Online {
			st.State = envelope.StateOffline
		}
		st.Firmware, st.Clock = ds.Firmware, ds.Clock
		if !ds.LastSeen.IsZero() {
			st.LastSeen = ds.LastSeen.UTC().Format("2006-01-02T15:04:05.000Z07:00") // MQTT.md: UTC with milliseconds
		}
	}
	return st
}
