package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/gateway/commands"
	"github.com/officegate/officegate/gateway/console"
	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/metrics"
	"github.com/officegate/officegate/provisioning/admin"
)

// Console configures the facilities web console (gateway/console). It
// needs Provisioning: every operation it offers is the admin service's.
type Console struct {
	Listen            string
	TLS               bool // false only on loopback (the configuration checks)
	CertFile, KeyFile string
	UsersFile         string
	Idle              time.Duration
	// OnURL, if set, is told where the console is, once it listens (the
	// demo prints it).
	OnURL func(url string)
}

// AuditDevice is the device id the console's audit events are published
// under: {root}/{gw}/devices/console/events/console.audit (MQTT.md §5.10).
const AuditDevice = "console"

// startConsole serves the console until the stage stops.
func (w *wiring) startConsole(_ context.Context, g *group) error {
	c := w.o.Console
	in, log := w.in, w.log.With().Str("part", "console").Logger()
	counters, err := w.m.WatchConsole()
	if err != nil {
		return fmt.Errorf("daemon: console metrics: %w", err)
	}
	srv, err := console.New(console.Options{
		Listen: c.Listen, TLS: c.TLS, CertFile: c.CertFile, KeyFile: c.KeyFile, StateDir: w.o.StateDir,
		UsersFile: c.UsersFile, Idle: c.Idle, Gateway: w.o.Gateway, Location: w.o.Location,
		Admin: w.g.Admin, Hub: w.hub, Health: w.consoleHealth, Schedules: w.roomSchedules, Log: log,
		Audit: func(ctx context.Context, data map[string]any) error {
			return in.Note(ctx, AuditDevice, "console.audit", data)
		},
		OnLoginFailed: counters.LoginFailed, OnLockout: counters.Lockout,
	})
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	ln, err := srv.Listen()
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	url := srv.URL(ln)
	ev := log.Info().Str("url", url)
	if srv.Fingerprint != "" {
		ev = ev.Str("sha256_fingerprint", srv.Fingerprint)
	}
	ev.Msg("console: serving")
	if c.OnURL != nil {
		c.OnURL(url)
	}
	g.Go(func(ctx context.Context) {
		if err := srv.Serve(ctx, ln); err != nil {
			log.Error().Err(err).Msg("console stopped")
		}
	})
	return nil
}

// consoleHealth is the overview's gateway health.
func (w *wiring) consoleHealth() console.Health {
	var h console.Health
	h.Uplink, h.UplinkSince = w.up.Connected()
	st := w.j.Stats()
	pub := map[string]bool{}
	for _, s := range published(w.streams) {
		pub[s] = true
	}
	for _, s := range st.Streams {
		if !pub[s.Name] {
			continue
		}
		h.Backlog += s.Depth
		if !s.OldestUndelivered.IsZero() && (h.Oldest.IsZero() || s.OldestUndelivered.Before(h.Oldest)) {
			h.Oldest = s.OldestUndelivered
		}
	}
	h.DiskBytes, h.MaxBytes, h.FreeBytes, h.Full = st.DiskBytes, st.MaxBytes, st.FreeBytes, st.Full.Full
	// The sinks' state as officegate sinks status says it (sinkops.go).
	for _, r := range w.runners {
		st, err := r.Status()
		if err != nil {
			continue
		}
		h.Sinks = append(h.Sinks, console.SinkHealth{Name: st.Name, Backlog: st.Backlog, Oldest: st.Oldest, Failing: st.Class})
	}
	if v := w.g.watchdog.Load(); v != nil {
		h.Watchdog = console.WatchdogState{On: true, Every: v.Every, Checked: v.At}
		if v.Err != nil {
			h.Watchdog.Stalled = v.Err.Error()
		}
	}
	hc := &metrics.Health{}
	hc.Add("journal", metrics.JournalCheck(w.j))
	hc.Add("uplink", w.m.UplinkCheck(2*time.Minute))
	h.Checks, _ = hc.Check()
	return h
}

// roomSchedules lists the rooms whose drivers keep a schedule, with their
// current and next booking from it (what their panels are shown).
func (w *wiring) roomSchedules() []console.RoomSchedule {
	var out []console.RoomSchedule
	for _, d := range w.o.Drivers {
		sd, ok := d.(devices.Scheduler)
		if !ok {
			continue
		}
		cur, next, err := sd.Bookings()
		if err != nil {
			continue // starting or stopped: the board shows its events only
		}
		out = append(out, console.RoomSchedule{Device: d.Describe().ID, Current: cur, Next: next})
	}
	return out
}

// configured lists the configuration's devices for the admin service.
func (w *wiring) configured() []admin.Device {
	var out []admin.Device
	for _, d := range w.o.Devices {
		ad := admin.Device{DeviceID: d.ID, Kind: d.Kind, Port: d.Port, State: admin.StateConfigured}
		if lg := w.g.Links[d.ID]; lg != nil {
			st := lg.Status()
			ad.Online, ad.Firmware, ad.LastSeen, ad.HardwareID, ad.Model = st.Online, st.Firmware, st.LastSeen, st.HardwareID, st.Model
			if st.HardwareID != "" {
				ad.Kind, ad.Clock = kindName(st.Kind), st.Clock.State.String()
			}
		}
		out = append(out, ad)
	}
	for _, d := range w.o.Drivers {
		desc := d.Describe()
		ad := admin.Device{DeviceID: desc.ID, Kind: desc.Kind, Model: desc.Model, State: admin.StateConfigured, Online: true}
		if s, ok := d.(devices.Statuser); ok {
			ds := s.Status()
			ad.Online, ad.Firmware, ad.LastSeen, ad.Clock = ds.Online, ds.Firmware, ds.LastSeen, ds.Clock
		}
		out = append(out, ad)
	}
	return out
}

// routerCommands runs the admin service's commands — a device's ("" for
// the gateway's own) from the console or the CLI — through the command
// processor, exactly as a command from MQTT: the command table's checks,
// the device's lane, the durable marker, and one result published on the
// results topic (MQTT.md §7) under an id "console-…", which the console's
// audit event names. The admin service's wait bounds the command's life: a
// command nobody waits for any longer expires rather than run late.
type routerCommands struct{ cp *commands.Processor }

func (rc routerCommands) DeviceCommand(ctx context.Context, device, name string, args map[string]any) admin.CommandResult {
	if args == nil {
		args = map[string]any{}
	}
	raw, err := json.Marshal(args)
	if err != nil {
		return admin.CommandResult{Status: envelope.StatusError, Error: fmt.Sprintf("args: %v", err)}
	}
	expires := time.Now().Add(admin.CommandWait)
	if dl, ok := ctx.Deadline(); ok {
		expires = dl
	}
	id := "console-" + envelope.NewID()
	out, err := rc.cp.Do(ctx, commands.Request{ID: id, Device: device, Name: name, Args: raw}, expires)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return admin.CommandResult{ID: id, Status: envelope.StatusError, Error: "no answer in time; its result will be published under this id"}
		}
		return admin.CommandResult{ID: id, Status: envelope.StatusError, Error: err.Error()}
	}
	res := admin.CommandResult{ID: id, Status: out.Status, Error: out.Error}
	switch d := out.Data.(type) {
	case map[string]any:
		res.Data = d
	case nil:
	default:
		// A driver's typed data: as the result on MQTT carries it.
		if b, err := json.Marshal(d); err == nil {
			json.Unmarshal(b, &res.Data)
		}
	}
	return res
}
