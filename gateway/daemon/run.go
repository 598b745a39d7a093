package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/linkdev"
	"github.com/officegate/officegate/devices/serialport"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/gateway/commands"
	"github.com/officegate/officegate/gateway/console"
	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/intake"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/metrics"
	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/gateway/sinks/sinkops"
	"github.com/officegate/officegate/gateway/uplink"
	"github.com/officegate/officegate/provisioning"
	"github.com/officegate/officegate/provisioning/admin"
	"github.com/officegate/officegate/provisioning/people"
)

// Run runs the gateway until ctx ends. Its parts are stages, started in this
// order and stopped in reverse: the journal, the intake, the person
// directory, the HTTP server, the uplink, the device registry, the command
// processor, the drivers, the panel→room queue, the configured device
// links, the discovered ports, the firmware rollouts, the admin service, the watchdog. So at shutdown the
// watchdog stops, the admin socket closes, rollouts stop where they are, the
// device links stop (nothing new is acknowledged to devices), the rooms take
// their panels' last events, the drivers stop, then commands, then the
// uplink publishes the offline status, then marks are saved and the journal
// is closed. A failed start, or a panic in a part's goroutine, stops what
// had started the same way and is returned.
func Run(ctx context.Context, o Options) error {
	w, err := newWiring(o)
	if err != nil {
		return err
	}
	r := newRunner(w.log, o.stageHook)
	return r.run(ctx, w.stages(), func() {
		w.log.Info().Str("gateway", o.Gateway).Int("devices", len(o.Devices)+len(o.Drivers)).Str("broker", o.Uplink.Broker).Msg("officegate running")
		if o.Ready != nil {
			o.Ready(w.g)
		}
	})
}

// wiring is what the stages of one Run share. A stage sets the fields it
// makes in its start; the stages after it read them.
type wiring struct {
	o       Options
	log     zerolog.Logger
	m       *metrics.Metrics
	drivers map[string]devices.Driver // by device id
	kinds   map[string]string         // configured kind of each link device
	linked  []*linkdev.Device         // the configured link devices, in Options.Devices order
	panels  *panelQueue
	g       *Gateway

	streams   []journal.Stream   // set by the journal stage
	consumers []journal.Consumer // the sinks' (sinks.go), in Options.Sinks order; set by the journal stage
	j         *journal.Journal
	in        *intake.Intake
	up        *uplink.Uplink
	reg       *provisioning.Registry // nil without provisioning
	people    *people.Directory      // set by the people stage
	runners   []*sinks.Runner        // set by the sinks stage
	kickEnrol chan struct{}          // republishes the enrollment message; made with reg
	rt        *router
	cp        *commands.Processor // set by the commands stage
	hub       *console.Hub        // the console's live view; nil without the console
}

// newWiring checks o and fills its defaults; nothing is opened yet.
func newWiring(o Options) (*wiring, error) {
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.JournalDir == "" {
		o.JournalDir = filepath.Join(o.StateDir, "journal")
	}
	w := &wiring{o: o, log: o.Log, m: metrics.New(nil), drivers: map[string]devices.Driver{}, kinds: map[string]string{},
		g: &Gateway{Links: map[string]*link.Gateway{}}}
	for _, d := range o.Devices {
		w.kinds[d.ID] = d.Kind
	}
	for _, d := range o.Drivers {
		id := d.Describe().ID
		if _, dup := w.kinds[id]; dup || w.drivers[id] != nil {
			return nil, fmt.Errorf("daemon: device id %q used twice", id)
		}
		w.drivers[id] = d
	}
	if p := o.Provisioning; p != nil {
		for _, pat := range p.Ports {
			if _, err := filepath.Match(pat, ""); err != nil {
				return nil, fmt.Errorf("daemon: provisioning port pattern %q: %w", pat, err)
			}
		}
	}
	if o.Console != nil {
		if o.Provisioning == nil {
			return nil, errors.New("daemon: the console needs provisioning (its operations are the admin service's)")
		}
		if _, dup := w.kinds[AuditDevice]; dup || w.drivers[AuditDevice] != nil {
			return nil, fmt.Errorf("daemon: device id %q is the console's audit trail's", AuditDevice)
		}
		w.hub = console.NewHub(o.Location, nil)
	}
	if len(o.Sinks) > 0 {
		if _, dup := w.kinds[SinksDevice]; dup || w.drivers[SinksDevice] != nil {
			return nil, fmt.Errorf("daemon: device id %q is the sinks' backlog alarms'", SinksDevice)
		}
	}
	w.panels = newPanelQueue(o.Drivers, w.log)
	w.g.links = &linkSet{fixed: w.g.Links, ports: map[string]*link.Gateway{}}
	return w, nil
}

// stages lists the parts of the gateway o asks for, in start order.
func (w *wiring) stages() []stage {
	ss := []stage{
		{name: "journal", start: w.startJournal, close: func() error { return w.j.Close() }},
		{name: "intake", start: w.startIntake},
		{name: "people", start: w.openPeople},
	}
	if w.o.HTTP != "" {
		ss = append(ss, stage{name: "http", start: w.startHTTP})
	}
	ss = append(ss, stage{name: "uplink", start: w.startUplink})
	if len(w.o.Sinks) > 0 {
		ss = append(ss, stage{name: "sinks", start: w.startSinks})
	}
	if w.o.Provisioning != nil {
		ss = append(ss, stage{name: "registry", start: w.openRegistry})
	}
	ss = append(ss,
		stage{name: "commands", start: w.startCommands, close: w.unbindSender},
		stage{name: "drivers", start: w.startDrivers},
		stage{name: "panels", start: w.startPanels},
		stage{name: "links", start: w.startLinks},
	)
	if p := w.o.Provisioning; p != nil {
		ss = append(ss, stage{name: "ports", start: w.startPorts})
		if p.FirmwareKey != nil {
			ss = append(ss, stage{name: "rollouts", start: w.startRollouts, halt: func() { w.g.Rollouts.Close() }})
		}
		ss = append(ss, stage{name: "admin", start: w.startAdmin})
		if w.o.Console != nil {
			ss = append(ss, stage{name: "console", start: w.startConsole})
		}
	}
	if w.o.Watchdog != nil {
		ss = append(ss, stage{name: "watchdog", start: w.startWatchdog})
	}
	return ss
}

// startWatchdog runs Options.Watchdog.
func (w *wiring) startWatchdog(_ context.Context, g *group) error {
	wd, gw := w.o.Watchdog, w.g
	g.Go(func(ctx context.Context) { wd(ctx, gw) })
	return nil
}

// startJournal opens the journal, with the intake's streams.
func (w *wiring) startJournal(context.Context, *group) error {
	o := w.o
	if err := os.MkdirAll(o.StateDir, 0o750); err != nil {
		return fmt.Errorf("daemon: state directory: %w", err)
	}
	if err := w.siteCardKey(); err != nil {
		return err
	}
	jo := o.Journal
	jo.Streams = intake.JournalStreams()
	for i := range jo.Streams {
		if jo.Streams[i].Name == commands.Stream.Name {
			jo.Streams[i].Keep = commands.Keep
		}
		if age, ok := o.Retention[jo.Streams[i].Name]; ok {
			jo.Streams[i].MaxAge = age
		}
	}
	if err := w.sinkConsumers(&jo); err != nil {
		return err
	}
	jl := w.log.With().Str("part", "journal").Logger()
	jo.Log = &jl
	jo.OnSync = w.m.OnSync
	j, err := journal.Open(o.JournalDir, &jo)
	if err != nil {
		return err
	}
	logRecovery(w.log, j.Recovery())
	if err := w.m.WatchJournal(j); err != nil {
		j.Close()
		return err
	}
	var sinkNames []string
	for _, c := range jo.Consumers {
		sinkNames = append(sinkNames, c.Name)
	}
	if err := w.m.WatchSinks(j, published(jo.Streams), sinkNames); err != nil {
		j.Close()
		return err
	}
	w.j, w.streams, w.g.Journal = j, jo.Streams, j
	return nil
}

// tap is the intake's tap: the console's live view, if it runs.
func (w *wiring) tap() func([][]byte) {
	if w.hub == nil {
		return nil
	}
	return w.hub.TapBodies
}

// startIntake makes the intake and the configured devices' links, which
// commit into it (they run in the links stage), and saves the intake's
// marks until the stage stops.
func (w *wiring) startIntake(_ context.Context, g *group) error {
	o := w.o
	log := w.log
	m := w.m
	in, err := intake.New(w.j, o.StateDir, intake.Options{Observe: w.panels.observe, Gateway: o.Gateway, Location: o.Location, Log: &log,
		OnEvent: func(device string, at time.Time) { m.DeviceSeen(device, at) }, CardKey: o.CardKey,
		ClockThreshold: o.TimeSync.Step, Tap: w.tap()})
	if err != nil {
		return err
	}
	for _, d := range o.Devices {
		dl := log.With().Str("device", d.ID).Str("port", d.Port).Logger()
		dev, err := linkdev.New(linkdev.Config{ID: d.ID, Kind: d.Kind, Port: serialport.Config{Name: d.Port, Baud: d.Baud},
			Directory: fixedID{id: d.ID}, TimeSync: o.TimeSync,
			Logf:   func(f string, a ...any) { dl.Warn().Msgf("link: "+f, a...) },
			OnPort: portLogger(dl),
		})
		if err != nil {
			return fmt.Errorf("daemon: %w", err)
		}
		w.g.Links[d.ID] = dev.Link()
		w.linked = append(w.linked, dev)
	}
	w.in, w.g.Intake = in, in
	g.Go(func(ctx context.Context) {
		if err := in.Run(ctx); err != nil {
			log.Error().Err(err).Msg("intake: could not save high-water marks at shutdown")
		}
	})
	return nil
}

// startHTTP serves /metrics and /healthz.
func (w *wiring) startHTTP(_ context.Context, g *group) error {
	health := &metrics.Health{}
	health.Add("journal", metrics.JournalCheck(w.j))
	health.Add("uplink", w.m.UplinkCheck(2*time.Minute))
	addr, m, log := w.o.HTTP, w.m, w.log
	g.Go(func(ctx context.Context) {
		if err := metrics.Serve(ctx, addr, metrics.Handler(m, health)); err != nil {
			log.Error().Err(err).Msg("metrics server stopped")
		}
	})
	return nil
}

// startUplink connects the journal's streams to the broker.
func (w *wiring) startUplink(_ context.Context, g *group) error {
	uo := w.o.Uplink
	uo.Topics = w.topics()
	uo.Streams = published(w.streams) // not the intake's marks, nor the dead letters
	uo.Boot = envelope.NewID()
	uo.Version = w.o.Version
	ul := w.log.With().Str("part", "uplink").Logger()
	uo.Log = &ul
	uo.Metrics = w.m
	uo.DeadLetterAlarm = w.deadLetterAlarm
	up, err := uplink.New(w.j, uo)
	if err != nil {
		return err
	}
	w.up, w.g.Uplink = up, up
	log := w.log
	g.Go(func(ctx context.Context) {
		if err := up.Run(ctx); err != nil {
			log.Error().Err(err).Msg("uplink stopped")
		}
	})
	return nil
}

// openRegistry opens the device registry.
func (w *wiring) openRegistry(context.Context, *group) error {
	p := w.o.Provisioning
	dir := p.Dir
	if dir == "" {
		dir = filepath.Join(w.o.StateDir, "registry")
	}
	rl := w.log.With().Str("part", "registry").Logger()
	reg, err := provisioning.OpenWith(dir, provisioning.Options{
		Config: func(d provisioning.Device) []byte { return p.Profiles[d.Profile] },
		Logf:   func(f string, a ...any) { rl.Warn().Msgf(f, a...) },
	})
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	w.reg, w.g.Registry, w.kickEnrol = reg, reg, make(chan struct{}, 1)
	return nil
}

// startCommands answers what the last run left unanswered, then executes the
// commands the uplink receives; it binds the Sender.
func (w *wiring) startCommands(ctx context.Context, g *group) error {
	cl := w.log.With().Str("part", "commands").Logger()
	w.rt = &router{links: w.g.links, kinds: w.kinds, drivers: w.drivers, in: w.in, log: cl, reg: w.reg, admin: &atomic.Pointer[admin.Service]{}}
	if w.o.Sender != nil {
		w.o.Sender.r.Store(w.rt)
	}
	cp, err := commands.New(ctx, w.j, *w.rt, commands.Options{Gateway: w.o.Gateway, Log: &cl})
	if err != nil {
		w.unbindSender()
		return err
	}
	w.cp = cp
	up := w.up
	g.Go(func(ctx context.Context) { cp.Run(ctx, up.Commands()) })
	return nil
}

func (w *wiring) unbindSender() error {
	if w.o.Sender != nil {
		w.o.Sender.r.Store(nil)
	}
	return nil
}

// startDrivers runs the devices not on a link, and mirrors their status.
func (w *wiring) startDrivers(_ context.Context, g *group) error {
	in, up, log := w.in, w.up, w.log
	if err := w.m.WatchDrivers(driverCounters(w.o.Drivers)); err != nil {
		log.Error().Err(err).Msg("driver counters not exported")
	}
	for _, d := range w.o.Drivers {
		if e, ok := d.(lanEnroller); ok && w.reg != nil {
			e.SetEnroll(w.enrollLAN)
		}
		g.Go(func(ctx context.Context) {
			if err := d.Run(ctx, newIntakeSink(in)); err != nil {
				log.Error().Err(err).Str("device", d.Describe().ID).Msg("driver stopped")
			}
		})
		g.Go(func(ctx context.Context) { driverStatus(ctx, d, up) })
		if h, ok := d.(hostDriver); ok {
			g.Go(func(ctx context.Context) { hostedStatus(ctx, h, up) })
		}
	}
	return nil
}

// lanEnroller is a driver of LAN terminals that calls the gateway under a
// serial number (pushdrv): unknown serials are enrolled through the registry.
type lanEnroller interface {
	SetEnroll(func(serial, addr string) (id, why string, err error))
}

// enrollLAN is the registry's answer about a PUSH terminal's serial; a
// pending one shows in the enrollment message.
func (w *wiring) enrollLAN(serial, addr string) (string, string, error) {
	id, why, err := w.reg.PushTerminal(serial, addr)
	if err != nil {
		w.log.Error().Err(err).Str("serial", serial).Msg("registry: cannot record a PUSH terminal; it keeps its records")
	}
	select {
	case w.kickEnrol <- struct{}{}:
	default:
	}
	return id, why, err
}

// startPanels hands panels' events to their rooms.
func (w *wiring) startPanels(_ context.Context, g *group) error {
	g.Go(w.panels.run)
	return nil
}

// startLinks runs the configured link devices, sources like the drivers,
// committing into the intake.
func (w *wiring) startLinks(_ context.Context, g *group) error {
	// One watcher mirrors every configured link's status (linkwatch.go).
	lw := newLinkWatch()
	if len(w.o.Devices) > 0 {
		g.Go(func(ctx context.Context) {
			t := time.NewTicker(lastSeenEvery)
			defer t.Stop()
			lw.run(ctx, t.C)
		})
	}
	for i, d := range w.o.Devices {
		dev := w.linked[i]
		dl := w.log.With().Str("device", d.ID).Str("port", d.Port).Logger()
		in := w.in
		g.Go(func(ctx context.Context) {
			if err := dev.Run(ctx, newIntakeSink(in)); err != nil {
				dl.Error().Err(err).Msg("link device stopped")
			}
		})
		h := newStatusHistory(d, dev.Link(), w.up, in, dl)
		lw.add(dev.Link(), func(ctx context.Context, st, _ link.Status) { h.update(ctx, st) },
			func() uint64 { return h.refused })
	}
	watchSerial(g.ctx, &g.wg, w.m, w.o, w.g, w.log) // serial errors on /metrics and in the log (serialmetrics.go)
	return nil
}

// portLogger logs a serial port's state changes.
func portLogger(log zerolog.Logger) func(serialport.Event) {
	return func(e serialport.Event) {
		ev := log.Info()
		if e.Err != nil {
			ev = log.Warn().Err(e.Err)
		}
		ev.Str("state", e.State.String()).Int("attempt", e.Attempt).Dur("retry_in", e.Delay).Msg("serial port")
	}
}

// startPorts watches the provisioning ports for devices, and publishes the
// enrollment message.
func (w *wiring) startPorts(_ context.Context, g *group) error {
	en := &enrollment{format: w.o.Uplink.Format, reg: w.reg, up: w.up, links: w.g.links, kick: w.kickEnrol}
	pw := &portWatcher{p: *w.o.Provisioning, reg: w.reg, links: w.g.links, in: w.in, up: w.up, enroll: en, tsync: w.o.TimeSync,
		log: w.log.With().Str("part", "ports").Logger(), g: g}
	g.Go(en.run)
	g.Go(pw.run)
	return nil
}

// startRollouts resumes the firmware rollouts the last run left unfinished.
func (w *wiring) startRollouts(_ context.Context, g *group) error {
	orch, err := startRollouts(w.o, w.g.links, w.drivers, w.in, w.log.With().Str("part", "rollouts").Logger(), g.Go)
	if err != nil {
		return err
	}
	w.g.Rollouts = orch
	return nil
}

// startAdmin makes the admin service, for the gateway's MQTT commands and
// the socket the CLI talks to.
func (w *wiring) startAdmin(_ context.Context, g *group) error {
	p, log := w.o.Provisioning, w.log
	svc, err := admin.New(admin.Deps{Registry: w.reg, Links: w.g, Profiles: p.Profiles, Rollouts: w.g.Rollouts,
		Images: firmwareImages(w.o), Log: log.With().Str("part", "admin").Logger(), People: w.people, Forget: w.forgetPerson,
		Configured: w.configured, Devices: routerCommands{w.cp}, Sinks: sinkops.Ops{J: w.j, Runners: w.runners}})
	if err != nil {
		return fmt.Errorf("daemon: admin service: %w", err)
	}
	w.g.Admin = svc
	w.rt.admin.Store(svc)
	if sock := p.Socket; sock != "" {
		// The gateway's job does not depend on the CLI: a socket that
		// cannot be made (no /run/officegate outside systemd) is an
		// error in the log, not a reason to stop collecting punches.
		if ln, err := admin.Listen(sock, p.SocketGID); err != nil {
			log.Error().Err(err).Str("socket", sock).Msg("admin socket unavailable: the officegate devices/enroll/firmware commands cannot reach this gateway")
		} else {
			g.Go(func(ctx context.Context) {
				if err := svc.ServeListener(ctx, ln); err != nil {
					log.Error().Err(err).Msg("admin socket stopped")
				}
			})
		}
	}
	return nil
}

// panelQueue hands each event of a panel, once durable, to the rooms
// listening to it (devices.PanelListener), from its own goroutine: the intake calls
// observe on the panel's commit path, and a room's button press writes the
// room's state file. Nothing is dropped: while the queue is full, observe
// waits, which holds back the panel's next commits (and so its
// acknowledgements) until its rooms catch up. That cannot deadlock, since a
// room's PanelEvent never waits on the panel. The panels stage starts
// before the links and stops after them, so no panel event arrives before
// the queue runs or after it stopped, and the rooms take every queued event
// before the drivers stop.
type panelQueue struct {
	// Immutable.
	listeners map[string][]devices.PanelListener // by panel device id
	q         chan observed
	stopped   chan struct{} // closed once run returned: nothing takes events any more
	log       zerolog.Logger
}

type observed struct {
	l    devices.PanelListener
	typ  string
	data map[string]any
	at   time.Time
}

// panelQueueLen bounds the events a panel may be ahead of its rooms: a
// room takes one in well under a millisecond unless its state file's disk
// stalls, and a panel sends a few a minute.
const panelQueueLen = 256

func newPanelQueue(drivers []devices.Driver, log zerolog.Logger) *panelQueue {
	p := &panelQueue{listeners: map[string][]devices.PanelListener{}, q: make(chan observed, panelQueueLen),
		stopped: make(chan struct{}), log: log}
	for _, d := range drivers {
		if l, ok := d.(devices.PanelListener); ok && l.PanelID() != "" {
			p.listeners[l.PanelID()] = append(p.listeners[l.PanelID()], l)
		}
	}
	return p
}

// observe is intake.Options.Observe: it returns once every room listening to
// device has the event queued.
func (p *panelQueue) observe(device, typ string, data map[string]any, at time.Time) {
	for _, l := range p.listeners[device] {
		select {
		case p.q <- observed{l, typ, data, at}:
		case <-p.stopped:
			// Unreachable by the stages' order; said loudly if it ever is.
			p.log.Error().Str("device", device).Str("event", typ).Msg("panel event after its rooms stopped: not handed to them")
			return
		}
	}
}

// run hands queued events to their rooms until ctx ends, then the events
// still queued (the links have stopped: no more come).
func (p *panelQueue) run(ctx context.Context) {
	defer close(p.stopped)
	for {
		select {
		case <-ctx.Done():
			dctx := context.WithoutCancel(ctx)
			for {
				select {
				case e := <-p.q:
					e.l.PanelEvent(dctx, e.typ, e.data, e.at)
				default:
					return
				}
			}
		case e := <-p.q:
			e.l.PanelEvent(ctx, e.typ, e.data, e.at)
		}
	}
}
