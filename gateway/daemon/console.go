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
		Admin: w.g.Admin, Hub: w.hub, Health: w.consoleHealth, Log: log,
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
	for _, c := range w.consumers {
		sh := console.SinkHealth{Name: c.Name}
		if cs, err := w.j.ConsumerStats(c.Name); err == nil {
			for _, s := range cs {
				sh.Backlog += s.Depth
			}
		}
		h.Sinks = append(h.Sinks, sh)
	}
	if w.o.Watchdog != nil {
		h.Watchdog = "on"
	}
	hc := &metrics.Health{}
	hc.Add("journal", metrics.JournalCheck(w.j))
	hc.Add("uplink", w.m.UplinkCheck(2*time.Minute))
	h.Checks, _ = hc.Check()
	return h
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

// routerCommands runs the admin service's device commands through the
// router: the command table's checks, then the same execution as a
// command from MQTT. Its result is the admin service's to return (and the
// console's audit event records it); it is not published on the device's
// results topic, which answers MQTT commands.
type routerCommands struct{ r *router }

func (rc routerCommands) DeviceCommand(ctx context.Context, device, name string, args map[string]any) admin.CommandResult {
	if err := rc.r.check(device, name, false); err != nil {
		status := envelope.StatusUnsupported
		if errors.Is(err, commands.ErrUnknownDevice) {
			status = envelope.StatusError
		}
		return admin.CommandResult{Status: status, Error: err.Error()}
	}
	if args == nil {
		args = map[string]any{}
	}
	raw, err := json.Marshal(args)
	if err != nil {
		return admin.CommandResult{Status: envelope.StatusError, Error: fmt.Sprintf("args: %v", err)}
	}
	out := rc.r.Execute(ctx, commands.Request{ID: "console-" + envelope.NewID(), Device: device, Name: name, Args: raw})
	res := admin.CommandResult{Status: out.Status, Error: out.Error}
	if m, ok := out.Data.(map[string]any); ok {
		res.Data = m
	}
	return res
}
