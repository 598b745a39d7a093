package admin

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/provisioning"
	"github.com/officegate/officegate/provisioning/people"
	"github.com/officegate/officegate/provisioning/rollout"
)

// Links is what the daemon tells the admin service about live links.
type Links interface {
	Link(deviceID string) *link.Gateway // nil if the device has no link now
	Ports() map[string]link.Status      // every watched port and its link's status
}

// Deps is what the admin service works on. Registry and Links are required.
type Deps struct {
	Registry *provisioning.Registry
	Links    Links
	// Profiles are the configuration profiles by name (the bytes a device
	// of that profile is given); read once by New.
	Profiles map[string][]byte
	Log      zerolog.Logger
	Now      func() time.Time // nil: time.Now
	// PushWait bounds how long ConfigPush waits for one online device's
	// answer; 0 means 30 s (a push is a few frames, a device that takes
	// longer is stuck or busy, and the CLI is waiting).
	PushWait time.Duration
	// Rollouts, if set, runs firmware rollouts (the daemon makes it with its
	// Fleet, Busy and Progress hooks, and calls Resume); nil: the firmware
	// operations answer ErrNoFirmware and the MQTT firmware commands are
	// unsupported.
	Rollouts *rollout.Orchestrator
	// Images is where firmware rollouts take their images from; its Dir
	// is required with Rollouts (provisioning.firmware_dir).
	Images rollout.Images
	// People is the person directory (people.go); nil: the people
	// operations answer ErrNoPeople. Forget erases a forgotten person
	// elsewhere on the box (the kiosks' invite caches).
	People *people.Directory
	Forget Forgetter
	// Configured, if set, lists the devices of the gateway's configuration
	// (trusted by their port, or drivers: a kiosk, a room, a LAN terminal)
	// as they are now, State StateConfigured; Everything and Show include
	// them.
	Configured func() []Device
	// Devices, if set, runs commands on devices (door.pulse, time.set, …)
	// for DeviceCommand; nil: DeviceCommand answers ErrNoCommands.
	Devices DeviceCommander
	// Sinks, if set, reports the sinks and replays their dead letters
	// (sinks.go); nil: no sinks.
	Sinks Sinks
}

// Errors of this package; others come from provisioning and wrap its
// sentinels (ErrNotFound, ErrState, ErrConflict, ErrInvalid, ErrManifest).
var (
	ErrNoProfile = errors.New("admin: no such profile")
	// ErrNotRunning is wrapped by the Client when nothing serves the socket.
	ErrNotRunning = errors.New("admin: the officegate daemon is not running")
)

// MaxWindow is the longest enrollment window: a window left open by
// mistake must close by itself the same day.
const MaxWindow = 24 * time.Hour

// Service is the one admin service inside the daemon: the socket API
// (Serve), the MQTT gateway commands (Command) and the daemon itself call it.
// It is safe for concurrent use; every mutation is the Registry's, durable
// before it returns.
type Service struct {
	// Immutable.
	reg      *provisioning.Registry
	links    Links
	log      zerolog.Logger
	now      func() time.Time
	pushWait time.Duration
	rollouts *rollout.Orchestrator
	images   rollout.Images
	people   *people.Directory
	forget   Forgetter
	devices  DeviceCommander
	fixed    func() []Device
	sinks    Sinks

	mu sync.Mutex
	// Guarded by mu.
	profiles map[string][]byte
}

// New checks deps and returns the service.
func New(deps Deps) (*Service, error) {
	if deps.Registry == nil || deps.Links == nil {
		return nil, errors.New("admin: Registry and Links are required")
	}
	if deps.Rollouts != nil && deps.Images.Dir == "" {
		return nil, errors.New("admin: firmware rollouts need a firmware directory (Images.Dir)")
	}
	s := &Service{reg: deps.Registry, links: deps.Links, profiles: maps.Clone(deps.Profiles),
		log: deps.Log, now: deps.Now, pushWait: deps.PushWait, rollouts: deps.Rollouts, images: deps.Images,
		people: deps.People, forget: deps.Forget, devices: deps.Devices, fixed: deps.Configured,
		sinks: deps.Sinks}
	if s.now == nil {
		s.now = time.Now
	}
	if s.pushWait <= 0 {
		s.pushWait = 30 * time.Second
	}
	return s, nil
}

// Device is a registry device joined with what its live link says.
type Device struct {
	HardwareID string    `json:"hardware_id"`
	DeviceID   string    `json:"device_id,omitempty"` // "" while pending
	Name       string    `json:"name,omitempty"`
	Kind       string    `json:"kind"`
	Model      string    `json:"model,omitempty"`
	Room       string    `json:"room,omitempty"`
	Profile    string    `json:"profile,omitempty"`
	State      string    `json:"state"` // pending, active, disabled, retired
	Keyed      bool      `json:"keyed"` // holds its link key (false: approved, key not yet agreed)
	Port       string    `json:"port,omitempty"`
	Online     bool      `json:"online"`
	Firmware   string    `json:"firmware,omitempty"`
	Clock      string    `json:"clock,omitempty"`       // synced, drifted, unknown: its link's judgement of its clock (MQTT.md §4)
	ConfigHash string    `json:"config_hash,omitempty"` // hex SHA-256 of the configuration it has
	Refused    string    `json:"refused,omitempty"`     // why the link last refused its HELLO
	LastSeen   time.Time `json:"last_seen,omitzero"`
	Created    time.Time `json:"created,omitzero"`
	Updated    time.Time `json:"updated,omitzero"`
}

// DeviceList is List's answer.
type DeviceList struct {
	Time         time.Time `json:"time"` // the daemon's clock, for "seen 3 min ago"
	Devices      []Device  `json:"devices"`
	Window       *Window   `json:"window,omitempty"` // the enrollment window, if open
	Preapprovals int       `json:"preapprovals"`     // manifest lines waiting for their device
}

// List returns every device the registry knows, pending ones included,
// sorted by device id (pending devices, without one, last, by hardware id).
func (s *Service) List() DeviceList {
	now := s.now()
	live := s.liveByHW()
	out := DeviceList{Time: now, Devices: []Device{}, Preapprovals: len(s.reg.Preapprovals())}
	for _, d := range s.reg.List() {
		out.Devices = append(out.Devices, s.join(d, live))
	}
	sort.SliceStable(out.Devices, func(i, j int) bool {
		a, b := out.Devices[i], out.Devices[j]
		if (a.DeviceID == "") != (b.DeviceID == "") {
			return b.DeviceID == ""
		}
		if a.DeviceID != b.DeviceID {
			return a.DeviceID < b.DeviceID
		}
		return a.HardwareID < b.HardwareID
	})
	if w := s.reg.Window(); w.Open(now) {
		ww := windowOut(w)
		out.Window = &ww
	}
	return out
}

// StateConfigured is the state of a device of the gateway's configuration:
// not in the registry, never pending, trusted by its port or its driver.
const StateConfigured = "configured"

// Everything is List with the configured devices (Deps.Configured) after
// the registry's, by device id.
func (s *Service) Everything() DeviceList {
	out := s.List()
	if s.fixed == nil {
		return out
	}
	fixed := s.fixed()
	sort.Slice(fixed, func(i, j int) bool { return fixed[i].DeviceID < fixed[j].DeviceID })
	out.Devices = append(out.Devices, fixed...)
	return out
}

// Show returns one device by device id, or else by hardware id; a
// device of the configuration by its id.
func (s *Service) Show(ref string) (Device, error) {
	d, err := s.reg.Get(ref)
	if errors.Is(err, provisioning.ErrNotFound) {
		d, err = s.reg.ByHardwareID(ref)
		if errors.Is(err, provisioning.ErrNotFound) && s.fixed != nil {
			for _, f := range s.fixed() {
				if f.DeviceID == ref {
					return f, nil
				}
			}
		}
		if errors.Is(err, provisioning.ErrNotFound) {
			return Device{}, fmt.Errorf("%w: %q is neither a device id nor a hardware id", provisioning.ErrNotFound, ref)
		}
	}
	if err != nil {
		return Device{}, err
	}
	return s.join(d, s.liveByHW()), nil
}

// Approve makes the pending device hw active as device id id. name
// defaults to id.
func (s *Service) Approve(hw, id, name, room, profile string) (Device, error) {
	if err := s.checkProfile(profile); err != nil {
		return Device{}, err
	}
	if _, err := s.reg.Approve(hw, id, name, room, profile); err != nil {
		return Device{}, err
	}
	s.log.Info().Str("hardware_id", hw).Str("device", id).Msg("admin: device approved")
	return s.byHW(hw)
}

// Reject forgets the pending unit hw (provisioning.Registry.Reject): it is
// no longer listed, and is pending again if it says HELLO again.
func (s *Service) Reject(hw string) error {
	if err := s.reg.Reject(hw); err != nil {
		return err
	}
	s.log.Info().Str("hardware_id", hw).Msg("admin: pending unit rejected")
	return nil
}

// Rename gives device id a new name (its id and topics stay).
func (s *Service) Rename(id, name string) (Device, error) {
	return s.mutate(id, "renamed", func() error { return s.reg.Rename(id, name) })
}

// Disable refuses the device from its next HELLO on, keeping its key.
func (s *Service) Disable(id string) (Device, error) {
	return s.mutate(id, "disabled", func() error { return s.reg.Disable(id) })
}

// Enable lets a disabled device in again.
func (s *Service) Enable(id string) (Device, error) {
	return s.mutate(id, "enabled", func() error { return s.reg.Enable(id) })
}

// Retire refuses the device for good and destroys its key.
func (s *Service) Retire(id string) (Device, error) {
	return s.mutate(id, "retired", func() error { return s.reg.Retire(id) })
}

// Replace hands device id oldID to the unit newHW and returns the new unit.
func (s *Service) Replace(oldID, newHW string) (Device, error) {
	if _, err := s.reg.Replace(oldID, newHW); err != nil {
		return Device{}, err
	}
	s.log.Info().Str("device", oldID).Str("hardware_id", newHW).Msg("admin: device replaced")
	return s.byHW(newHW)
}

func (s *Service) mutate(id, what string, f func() error) (Device, error) {
	if err := f(); err != nil {
		return Device{}, err
	}
	s.log.Info().Str("device", id).Msg("admin: device " + what)
	d, err := s.reg.Get(id)
	if err != nil {
		return Device{}, err
	}
	return s.join(d, s.liveByHW()), nil
}

func (s *Service) byHW(hw string) (Device, error) {
	d, err := s.reg.ByHardwareID(hw)
	if err != nil {
		return Device{}, err
	}
	return s.join(d, s.liveByHW()), nil
}

// SetProfiles replaces the configuration profiles (after the daemon read
// its configuration again). ConfigPush then takes a changed profile to its
// devices.
func (s *Service) SetProfiles(p map[string][]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.profiles = maps.Clone(p)
}

// profile returns the configuration of profile p.
func (s *Service) profile(p string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg, ok := s.profiles[p]
	if !ok {
		names := slices.Sorted(maps.Keys(s.profiles))
		return nil, fmt.Errorf("%w: %q (known: %q)", ErrNoProfile, p, names)
	}
	return cfg, nil
}

// checkProfile refuses to assign a profile the gateway does not have.
func (s *Service) checkProfile(p string) error {
	s.mu.Lock()
	none := s.profiles == nil
	s.mu.Unlock()
	if p == "" || none {
		return nil // no profiles configured: the name is the registry's to keep
	}
	_, err := s.profile(p)
	return err
}

// live is a link's view of one unit.
type live struct {
	port string
	st   link.Status
}

// liveByHW indexes the watched ports' statuses by hardware id.
func (s *Service) liveByHW() map[string]live {
	m := map[string]live{}
	for port, st := range s.links.Ports() {
		if st.HardwareID == "" {
			continue // nothing said HELLO on that port yet
		}
		if old, ok := m[st.HardwareID]; ok && old.st.LastSeen.After(st.LastSeen) {
			continue // moved ports: the fresher one wins
		}
		m[st.HardwareID] = live{port: port, st: st}
	}
	return m
}

func (s *Service) join(d provisioning.Device, lv map[string]live) Device {
	out := Device{
		HardwareID: d.HardwareID, DeviceID: d.DeviceID, Name: d.Name, Kind: d.Kind.String(), Model: d.Model,
		Room: d.Room, Profile: d.Profile, State: d.State.String(), Keyed: d.KeyRef != "", Port: d.Port,
		Firmware: d.Firmware, LastSeen: d.LastSeen, Created: d.Created, Updated: d.Updated,
	}
	if len(d.ConfigHash) > 0 {
		out.ConfigHash = fmt.Sprintf("%x", d.ConfigHash)
	}
	l, ok := lv[d.HardwareID]
	if !ok && d.DeviceID != "" && d.State != provisioning.StateRetired {
		if g := s.links.Link(d.DeviceID); g != nil {
			if st := g.Status(); st.HardwareID == d.HardwareID {
				l, ok = live{st: st}, true
			}
		}
	}
	if !ok {
		return out
	}
	out.Online = l.st.Online
	if l.st.HardwareID != "" {
		out.Clock = l.st.Clock.State.String()
	}
	if l.port != "" {
		out.Port = l.port
	}
	if l.st.Firmware != "" {
		out.Firmware = l.st.Firmware
	}
	if len(l.st.ConfigHash) > 0 {
		out.ConfigHash = fmt.Sprintf("%x", l.st.ConfigHash)
	}
	if l.st.Refused != 0 {
		out.Refused = l.st.Refused.String()
	}
	if l.st.LastSeen.After(out.LastSeen) {
		out.LastSeen = l.st.LastSeen
	}
	return out
}
