package daemon

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices/linkdev"
	"github.com/officegate/officegate/devices/serialport"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/intake"
	"github.com/officegate/officegate/gateway/uplink"
	"github.com/officegate/officegate/provisioning"
)

// Provisioning configures the devices the gateway discovers on watched
// serial ports: who they are is the registry's business (approval by a
// person, an enrollment window's rules, or a manifest), and each approved
// device agrees a link key with its link (PROTOCOL.md §6.7). Devices listed
// in Options.Devices are not affected: the configuration trusts their port.
type Provisioning struct {
	// Ports are glob patterns of serial ports to watch, e.g.
	// "/dev/officegate/*" (the udev rules' names); none: nothing is
	// discovered and the registry only serves the admin commands.
	Ports []string
	Baud  int    // default 115200
	Dir   string // the registry's directory; default StateDir/registry
	// Profiles are the configurations pushed to devices by profile name
	// (pushed by hash: re-applying the same one does nothing).
	Profiles map[string][]byte
	Scan     time.Duration // how often the patterns are read; default 2 s
	// FirmwareKey is the Ed25519 key firmware images must be signed with;
	// nil: no rollouts.
	FirmwareKey ed25519.PublicKey
	// FirmwareDir is the one directory rollout images are taken from
	// (made if missing); default StateDir/firmware. FirmwareMaxSize caps
	// an image; 0: rollout.DefaultMaxImage.
	FirmwareDir     string
	FirmwareMaxSize int64
	// Socket is the admin socket the CLI talks to (provisioning/admin); "" for
	// none. SocketGID is the group allowed to use it; -1 keeps the process's.
	Socket    string
	SocketGID int
	// Probation is how long a test image must stay up before the rollout
	// confirms it, BootTimeout how long a device may take to come back
	// from its test boot; 0: the defaults (60 s, 5 min).
	Probation, BootTimeout time.Duration
}

// linkSet is every link of the gateway: the configured devices' by device
// id, the discovered ports' by port (their device id is the registry's, known
// once the device said HELLO).
type linkSet struct {
	fixed map[string]*link.Gateway // immutable after Run's set-up

	mu    sync.Mutex
	ports map[string]*link.Gateway // guarded by mu
}

// byDevice returns the link of device id, nil if none.
func (s *linkSet) byDevice(id string) *link.Gateway {
	if lg := s.fixed[id]; lg != nil {
		return lg
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, lg := range s.ports {
		if lg.Status().DeviceID == id {
			return lg
		}
	}
	return nil
}

// portStatus returns every watched port's link status.
func (s *linkSet) portStatus() map[string]link.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]link.Status, len(s.ports))
	for p, lg := range s.ports {
		out[p] = lg.Status()
	}
	return out
}

// add records the link of a newly found port; false if it has one.
func (s *linkSet) add(port string, lg *link.Gateway) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ports[port] != nil {
		return false
	}
	s.ports[port] = lg
	return true
}

func (s *linkSet) has(port string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ports[port] != nil
}

// portWatcher finds serial ports matching the patterns and runs a link on
// each, with the registry as the link's directory and key store.
type portWatcher struct {
	p      Provisioning
	reg    *provisioning.Registry
	links  *linkSet
	in     *intake.Intake
	up     *uplink.Uplink
	enroll *enrollment
	tsync  link.TimeSync
	log    zerolog.Logger
	g      *group     // runs the links of the ports found
	watch  *linkWatch // mirrors the found links' statuses; set by run
}

// run scans until ctx ends; the links it started stop with ctx too.
func (w *portWatcher) run(ctx context.Context) {
	scan := w.p.Scan
	if scan <= 0 {
		scan = 2 * time.Second
	}
	t := time.NewTicker(scan)
	defer t.Stop()
	w.watch = newLinkWatch() // before the first link is added
	w.g.Go(func(ctx context.Context) { w.watch.run(ctx, nil) })
	carry := time.NewTicker(lastSeenEvery)
	defer carry.Stop()
	for {
		for _, port := range w.match() {
			if !w.links.has(port) {
				w.start(ctx, port)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-carry.C:
			w.watch.carryNow()
		case <-t.C:
		}
	}
}

// match returns the ports the patterns match now, sorted. A pattern that is
// not a valid glob was refused when Run started.
func (w *portWatcher) match() []string {
	var out []string
	for _, p := range w.p.Ports {
		m, _ := filepath.Glob(p)
		out = append(out, m...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (w *portWatcher) start(ctx context.Context, port string) {
	pl := w.log.With().Str("port", port).Logger()
	baud := w.p.Baud
	if baud == 0 {
		baud = 115200
	}
	dev, err := linkdev.New(linkdev.Config{Port: serialport.Config{Name: port, Baud: baud},
		Directory: portDir{reg: w.reg, port: port}, TimeSync: w.tsync,
		Logf:   func(f string, a ...any) { pl.Warn().Msgf("link: "+f, a...) },
		OnPort: portLogger(pl),
	})
	if err != nil {
		pl.Error().Err(err).Msg("cannot run a link on a discovered port")
		return
	}
	lg := dev.Link()
	if !w.links.add(port, lg) {
		return
	}
	pl.Info().Msg("port found: a link runs on it")
	in := w.in
	w.g.Go(func(ctx context.Context) {
		if err := dev.Run(ctx, newIntakeSink(in)); err != nil {
			pl.Error().Err(err).Msg("link device stopped")
		}
	})
	w.watchPort(port, lg, pl)
}

// authFailed raises an auth_failed alarm on the device whose hardware id a
// unit on port claimed without proving its key (PROTOCOL.md §6.7).
func (w *portWatcher) authFailed(ctx context.Context, port, hw string, n uint64, log zerolog.Logger) {
	d, err := w.reg.ByHardwareID(hw)
	if err != nil || d.DeviceID == "" {
		log.Warn().Str("hardware_id", hw).Uint64("refused", n).Msg("a unit could not prove the link key of a hardware id")
		return
	}
	err = w.in.Note(ctx, d.DeviceID, "device.alarm", map[string]any{"alarm": "auth_failed",
		"detail": fmt.Sprintf("%d HELLO(s) on %s refused: a unit claiming hardware id %q could not prove its link key", n, port, hw)})
	if err != nil && ctx.Err() == nil {
		log.Warn().Err(err).Msg("could not journal an auth_failed alarm")
	}
}

// portDir is the registry as a port's link directory. The device's kind
// travels with its records (link.Record.DeviceKind).
type portDir struct {
	reg  *provisioning.Registry
	port string
}

func (d portDir) Lookup(ctx context.Context, h *msg.Hello) (link.Identity, error) {
	return d.reg.OnPort(d.port).Lookup(ctx, h)
}

func (d portDir) SetKey(ctx context.Context, hw string, k link.Key) error {
	return d.reg.SetKey(ctx, hw, k)
}

// watchPort mirrors a discovered port's link into device status, history
// and the enrollment message: the device id is the registry's, and changes
// when another unit is plugged into the port.
func (w *portWatcher) watchPort(port string, lg *link.Gateway, log zerolog.Logger) {
	var (
		history *statusHistory
		refused = lg.Stats().AuthRefused
	)
	w.watch.add(lg, func(ctx context.Context, st, last link.Status) {
		if n := lg.Stats().AuthRefused; n > refused {
			w.authFailed(ctx, port, st.RefusedHardwareID, n-refused, log)
			refused = n
		}
		if st.HardwareID != "" && !st.LastSeen.Equal(last.LastSeen) {
			w.reg.Seen(st.HardwareID, st.LastSeen)
		}
		w.enroll.changed() // pending units and refusals show there
		if st.DeviceID != "" && st.Online && (history == nil || history.d.ID != st.DeviceID) {
			history = newStatusHistory(Device{ID: st.DeviceID, Port: port}, lg, w.up, w.in, log)
		}
		if history != nil {
			history.refused = refused // reported above, for whichever device was claimed
			history.update(ctx, st)
		}
	}, func() uint64 { return refused })
}

// enrollment publishes the retained enrollment message: the units waiting
// for approval and the window's state, for facilities (MQTT.md §8).
type enrollment struct {
	// format is the gateway's (mqtt.format): it applies to everything the
	// gateway publishes, the enrollment status included (MQTT.md §9).
	format envelope.Format
	reg    *provisioning.Registry
	up     *uplink.Uplink
	links  *linkSet
	kick   chan struct{}
}

func (e *enrollment) changed() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// run republishes the message when it changes, and every minute (the window
// closes by itself).
func (e *enrollment) run(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	var last []byte
	for {
		b, err := e.payload(time.Now())
		if err == nil && string(b) != string(last) {
			e.up.SetEnrollment(b)
			last = b
		}
		select {
		case <-ctx.Done():
			return
		case <-e.kick:
		case <-t.C:
		}
	}
}

// EnrollmentStatus is the retained message on {root}/{gw}/enrollment.
type EnrollmentStatus struct {
	V       int             `json:"v"`
	Pending []PendingDevice `json:"pending"`
	Window  *EnrollmentOpen `json:"window,omitempty"`
	Refused []RefusedDevice `json:"refused,omitempty"`
}

// PendingDevice is a unit that said HELLO and waits for approval.
type PendingDevice struct {
	HardwareID string `json:"hardware_id"`
	Kind       string `json:"kind"`
	Model      string `json:"model,omitempty"`
	Firmware   string `json:"firmware,omitempty"`
	Port       string `json:"port,omitempty"`
	FirstSeen  string `json:"first_seen"`
	LastSeen   string `json:"last_seen,omitempty"`
}

// EnrollmentOpen says an enrollment window is open.
type EnrollmentOpen struct {
	Until string `json:"until"`
	Rules int    `json:"rules"`
}

// RefusedDevice is a port whose unit was last refused (auth_required: it
// cannot prove the key of the hardware id it claims).
type RefusedDevice struct {
	Port       string `json:"port"`
	HardwareID string `json:"hardware_id"`
	Reason     string `json:"reason"`
}

func (e *enrollment) payload(now time.Time) ([]byte, error) {
	st := EnrollmentStatus{V: envelope.Version, Pending: []PendingDevice{}}
	for _, d := range e.reg.List() {
		if d.State != provisioning.StatePending {
			continue
		}
		p := PendingDevice{HardwareID: d.HardwareID, Kind: kindName(d.Kind), Model: d.Model, Firmware: d.Firmware,
			Port: d.Port, FirstSeen: stamp(d.Created)}
		if !d.LastSeen.IsZero() {
			p.LastSeen = stamp(d.LastSeen)
		}
		st.Pending = append(st.Pending, p)
	}
	if w := e.reg.Window(); w.Open(now) {
		st.Window = &EnrollmentOpen{Until: stamp(w.Until), Rules: len(w.Rules)}
	}
	ports := e.links.portStatus()
	names := make([]string, 0, len(ports))
	for p := range ports {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		if s := ports[p]; s.Refused == msg.CodeAuthRequired || s.Refused == msg.CodeBootRegressed {
			st.Refused = append(st.Refused, RefusedDevice{Port: p, HardwareID: s.HardwareID, Reason: s.Refused.String()})
		}
	}
	return envelope.StatusPayload(e.format, st)
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// errNoRegistry is returned by admin operations when the gateway runs
// without provisioning.
var errNoRegistry = fmt.Errorf("daemon: provisioning is not configured")
