package zk4370

import (
	"cmp"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"time"

	"github.com/officegate/officegate/devices"
)

// Kind is the registry kind of a 4370 terminal.
const Kind = "zk4370"

// DefaultPort is the terminal's TCP port.
const DefaultPort = "4370"

// Options is the device's configuration section (doc.go §4.1). New fills in
// the defaults before decoding, so keys the section leaves out keep them.
type Options struct {
	Address        string `toml:"address"`         // "host" or "host:port" (required)
	CommKey        int64  `toml:"comm_key"`        // 0–4294967295; 0: none
	TimeZone       string `toml:"time_zone"`       // IANA name; "": the gateway's zone
	ClockThreshold string `toml:"clock_threshold"` // default "2s"
	ClockCheck     string `toml:"clock_check"`     // default "1h"
	Timeout        string `toml:"timeout"`         // one reply's wait; default "5s"
	BackoffMin     string `toml:"backoff_min"`     // default "1s"
	BackoffMax     string `toml:"backoff_max"`     // default "1m"
	// Transport is "tcp" (the default) or "udp": the protocol's UDP
	// transport (doc.go §1), for terminals whose TCP port is closed.
	Transport string `toml:"transport"`
	// Keepalive is, over UDP, how often the session is checked: a UDP
	// terminal that went away sends no error, and a lost real-time
	// datagram leaves its punch only in the log. Default "10s".
	Keepalive string `toml:"keepalive"`
}

// DefaultOptions returns the options a section without keys gives.
func DefaultOptions() Options {
	return Options{ClockThreshold: "2s", ClockCheck: "1h", Timeout: "5s", BackoffMin: "1s", BackoffMax: "1m",
		Transport: "tcp", Keepalive: "10s"}
}

// settings are Options validated.
type settings struct {
	addr                   string
	key                    uint32
	loc                    *time.Location
	threshold, check       time.Duration
	timeout                time.Duration
	backoffMin, backoffMax time.Duration
	network                string        // "tcp" or "udp"
	keepalive              time.Duration // UDP only
}

func (o Options) settings() (settings, error) {
	var s settings
	if o.Address == "" {
		return s, fmt.Errorf("address: required (the terminal's host, or host:port)")
	}
	host, port, err := net.SplitHostPort(o.Address)
	if err != nil {
		host, port = o.Address, DefaultPort
	}
	if n, err := strconv.Atoi(port); host == "" || err != nil || n < 1 || n > 65535 {
		return s, fmt.Errorf("address %q: want host or host:port", o.Address)
	}
	s.addr = net.JoinHostPort(host, port)
	if o.CommKey < 0 || o.CommKey > 1<<32-1 {
		return s, fmt.Errorf("comm_key %d: want 0 to 4294967295", o.CommKey)
	}
	s.key = uint32(o.CommKey)
	s.loc = time.Local
	if o.TimeZone != "" {
		if s.loc, err = time.LoadLocation(o.TimeZone); err != nil {
			return s, fmt.Errorf("time_zone %q: %w", o.TimeZone, err)
		}
	}
	for _, d := range []struct {
		key, v string
		dst    *time.Duration
		lo, hi time.Duration
	}{
		// The terminal's clock has whole seconds: a threshold under 2 s
		// would set it on every check.
		{"clock_threshold", o.ClockThreshold, &s.threshold, 2 * time.Second, time.Hour},
		{"clock_check", o.ClockCheck, &s.check, time.Minute, 7 * 24 * time.Hour},
		{"timeout", o.Timeout, &s.timeout, 100 * time.Millisecond, time.Minute},
		{"backoff_min", o.BackoffMin, &s.backoffMin, time.Millisecond, time.Hour},
		{"backoff_max", o.BackoffMax, &s.backoffMax, time.Millisecond, 24 * time.Hour},
		{"keepalive", cmp.Or(o.Keepalive, "10s"), &s.keepalive, time.Millisecond, time.Hour},
	} {
		v, err := time.ParseDuration(d.v)
		if err != nil || v < d.lo || v > d.hi {
			return s, fmt.Errorf("%s %q: want a duration from %v to %v", d.key, d.v, d.lo, d.hi)
		}
		*d.dst = v
	}
	switch o.Transport {
	case "", "tcp":
		s.network = "tcp"
	case "udp":
		s.network = o.Transport
	default:
		return s, fmt.Errorf("transport %q: want tcp or udp", o.Transport)
	}
	if s.backoffMax < s.backoffMin {
		return s, fmt.Errorf("backoff_max %q is below backoff_min %q", o.BackoffMax, o.BackoffMin)
	}
	return s, nil
}

// New is the registry's Factory: it decodes and validates the section and
// touches nothing on the network.
func New(id string, opts devices.Options) (devices.Driver, error) {
	o := DefaultOptions()
	if opts.Config != nil {
		if err := opts.Config.Decode(&o); err != nil {
			return nil, err
		}
	}
	return NewDriver(id, o, Deps{Now: opts.Now, Log: opts.Log, CardKey: opts.CardKey, StateDir: opts.StateDir})
}

// statePath is where a device's position is kept.
func statePath(dir, id string) string {
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, "zk4370-"+url.PathEscape(id)+".json")
}
