package pushdrv

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// Kind is the registry kind of a PUSH terminal.
const Kind = "zkpush"

// Options is a terminal's configuration section ([devices.zkpush]).
type Options struct {
	Serial    string   `toml:"serial"`     // the terminal's serial number (Menu → System Info); required
	Listen    string   `toml:"listen"`     // host:port the terminal calls; default ":8081"
	TimeZone  string   `toml:"time_zone"`  // IANA zone of the terminal's wall clock; default "Local"
	AllowFrom []string `toml:"allow_from"` // source addresses or prefixes; empty: any
	// DoorPulse is the lock time set on the terminal (Menu → Access →
	// Lock), e.g. "3s": door.pulse opens the lock for that long. Empty: the
	// terminal has no lock output and door.pulse is refused.
	DoorPulse string `toml:"door_pulse"`
}

// DefaultOptions returns what a section without keys gives.
func DefaultOptions() Options { return Options{Listen: ":8081", TimeZone: "Local"} }

type settings struct {
	serial string
	listen string
	loc    *time.Location
	allow  []netip.Prefix
	pulse  time.Duration // 0: no lock output
}

func (o Options) validate(id string) (settings, error) {
	bad := func(key string, v any, why string) error {
		return fmt.Errorf("configuration invalid for device %q: %s %q: %s", id, key, v, why)
	}
	var s settings
	if err := checkSerial(o.Serial); err != nil {
		return s, bad("serial", o.Serial, err.Error())
	}
	if _, _, err := net.SplitHostPort(o.Listen); err != nil {
		return s, bad("listen", o.Listen, err.Error())
	}
	loc, err := time.LoadLocation(o.TimeZone)
	if err != nil {
		return s, bad("time_zone", o.TimeZone, err.Error())
	}
	for _, a := range o.AllowFrom {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			addr, err2 := netip.ParseAddr(a)
			if err2 != nil {
				return s, bad("allow_from", a, "not an address or prefix")
			}
			p = netip.PrefixFrom(addr, addr.BitLen())
		}
		s.allow = append(s.allow, p.Masked())
	}
	if o.DoorPulse != "" {
		p, err := time.ParseDuration(o.DoorPulse)
		if err != nil || p < 100*time.Millisecond || p > 10*time.Second || p%time.Millisecond != 0 {
			return s, bad("door_pulse", o.DoorPulse, "need a duration from 100ms to 10s (the lock time set on the terminal)")
		}
		s.pulse = p
	}
	s.serial, s.listen, s.loc = o.Serial, o.Listen, loc
	return s, nil
}

var errSerial = errors.New("need the terminal's serial number, 1 to 32 letters and digits")

// checkSerial accepts what a serial number may be: it names a terminal in
// the configuration and in the registry.
func checkSerial(sn string) error {
	if sn == "" || len(sn) > 32 {
		return errSerial
	}
	for _, c := range sn {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return errSerial
		}
	}
	return nil
}
