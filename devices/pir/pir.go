package pir

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/gpio"
)

// Kind is the registry kind of the driver.
const Kind = "pir"

// EventOccupancy is the type of the one event a Sensor emits (MQTT.md
// reserves it); Data["state"] is StateOccupied or StateVacant.
const EventOccupancy = "room.occupancy"

// State is what the sensor says about the room.
type State string

// States. A sensor is StateUnknown until its warm-up ends.
const (
	StateUnknown  State = "unknown"
	StateOccupied State = "occupied"
	StateVacant   State = "vacant"
)

// ErrRunning is returned by a second call to Run.
var ErrRunning = errors.New("pir: already running")

// Stats are the sensor's counters since it was built.
type Stats struct {
	Motions       uint64 // motions counted (after the warm-up)
	IgnoredWarmup uint64 // motions ignored during the warm-up
	Emitted       uint64 // transitions the sink took
	Lost          uint64 // transitions the sink did not take
	BusyRetries   uint64 // Emit calls answered busy
}

// Sensor is the driver of one PIR motion sensor on a GPIO input.
type Sensor struct {
	// Immutable.
	id   string
	open gpio.Opener
	opts Opts
	log  zerolog.Logger

	ran         atomic.Bool
	motions     atomic.Uint64
	ignored     atomic.Uint64
	emitted     atomic.Uint64
	lost        atomic.Uint64
	busyRetries atomic.Uint64
	mu          sync.Mutex
	state       State     // guarded by mu
	lastMotion  time.Time // guarded by mu
	lastSeen    time.Time // guarded by mu; last debounced edge
	online      bool      // guarded by mu; the pin is open and watched
}

var (
	_ devices.Driver   = (*Sensor)(nil)
	_ devices.Statuser = (*Sensor)(nil)
)

// New builds the sensor of device id on a pin that open opens; nil opts is
// not allowed (the pin is required). It does not open the pin: Run does.
func New(id string, open gpio.Opener, opts *Opts) (*Sensor, error) {
	if open == nil {
		return nil, fmt.Errorf("pir: device %q: no pin opener", id)
	}
	if opts == nil {
		return nil, fmt.Errorf("pir: device %q: no options (the pin is required)", id)
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("pir: device %q: %w", id, err)
	}
	return &Sensor{id: id, open: open, opts: o, state: StateUnknown}, nil
}

// Factory returns the devices.Factory of sensors whose pins open opens
// and whose timing clock is clock (nil: the real clock). It decodes the
// device's section into a Config.
func Factory(open gpio.Opener, clock gpio.Clock) devices.Factory {
	return func(id string, opts devices.Options) (devices.Driver, error) {
		c := DefaultConfig()
		if opts.Config != nil {
			if err := opts.Config.Decode(&c); err != nil {
				return nil, err
			}
		}
		o, err := c.Opts()
		if err != nil {
			return nil, err
		}
		o.Clock = clock
		s, err := New(id, open, &o)
		if err != nil {
			return nil, err
		}
		s.log = opts.Log
		return s, nil
	}
}

// Describe implements devices.Driver.
func (s *Sensor) Describe() devices.Description {
	return devices.Description{ID: s.id, Kind: Kind, Model: "pir"}
}

// State returns what the sensor says now.
func (s *Sensor) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// Occupied reports whether the room counts as occupied now.
func (s *Sensor) Occupied() bool { return s.State() == StateOccupied }

// LastMotion returns when the latest counted motion began; zero if none.
func (s *Sensor) LastMotion() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastMotion
}

// Stats returns the counters.
func (s *Sensor) Stats() Stats {
	return Stats{
		Motions:       s.motions.Load(),
		IgnoredWarmup: s.ignored.Load(),
		Emitted:       s.emitted.Load(),
		Lost:          s.lost.Load(),
		BusyRetries:   s.busyRetries.Load(),
	}
}

// Status implements devices.Statuser.
func (s *Sensor) Status() devices.Status {
	st := s.Stats()
	s.mu.Lock()
	online, last := s.online, s.lastSeen
	s.mu.Unlock()
	return devices.Status{
		Online:   online,
		LastSeen: last,
		Clock:    devices.ClockSynced, // times are the gateway's own clock
		Counters: map[string]uint64{
			"motions":        st.Motions,
			"ignored_warmup": st.IgnoredWarmup,
			"events_emitted": st.Emitted,
			"events_lost":    st.Lost,
			"busy_retries":   st.BusyRetries,
		},
	}
}
