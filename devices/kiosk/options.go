package kiosk

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/door"
	"github.com/officegate/officegate/devices/escpos"
	"github.com/officegate/officegate/devices/scanner"
	"github.com/officegate/officegate/devices/serialport"
)

// Options is the device's configuration section ([devices.kiosk]). New fills
// in the defaults before decoding, so keys the section leaves out keep them.
// Durations are Go duration strings ("3s").
type Options struct {
	ScannerPort    string       `toml:"scanner_port"`    // default: the device's port
	ScannerBaud    int          `toml:"scanner_baud"`    // default: the device's baud, else 115200
	PrinterPort    string       `toml:"printer_port"`    // "": no printer, no badges
	PrinterBaud    int          `toml:"printer_baud"`    // default 9600
	PrinterWidth   int          `toml:"printer_width"`   // 384 (58 mm, the default) or 576 (80 mm)
	Door           *DoorOptions `toml:"door"`            // nil: no door
	InviteKeyFile  string       `toml:"invite_key_file"` // required
	StateFile      string       `toml:"state_file"`      // required
	ApproveTimeout string       `toml:"approve_timeout"` // default "30s"
	Pulse          string       `toml:"pulse"`           // default "3s"
	PrinterPoll    string       `toml:"printer_poll"`    // default "10s"
	Location       string       `toml:"location"`        // badge heading; default "VISITOR"
	Display        string       `toml:"display"`         // device id of the kiosk's panel; "": none
	ScanBurst      int          `toml:"scan_burst"`      // scans accepted back to back; default 5
	ScanInterval   string       `toml:"scan_interval"`   // then one scan per interval; default "1s"
}

// DoorOptions is the [devices.kiosk.door] table; the keys are package door's.
type DoorOptions struct {
	RelayPin      string `toml:"relay_pin"`
	RelayActive   string `toml:"relay_active"`
	MaxPulse      string `toml:"max_pulse"`       // default "5s"
	ContactPin    string `toml:"contact_pin"`     // "": no contact
	ContactClosed string `toml:"contact_closed"`  // required with contact_pin
	HeldOpenAfter string `toml:"held_open_after"` // default "30s"
}

// Defaults.
const (
	DefaultApproveTimeout = 30 * time.Second // approve/deny hooks in visitor products time out after 30 s
	DefaultPulse          = 3 * time.Second  // strike vendors: 3–5 s
	DefaultPrinterPoll    = 10 * time.Second
	DefaultPrinterBaud    = 9600 // the factory rate of most receipt printers' serial boards
	DefaultLocation       = "VISITOR"
	// A lobby's scans come one visitor at a time, each walking through the
	// door before the next: a few back to back (a group showing their
	// codes), then about one a second at most. Faster is a scanner stuck in
	// continuous mode or codes waved at it, each of which would otherwise
	// be a prompt at the front desk.
	DefaultScanBurst    = 5
	DefaultScanInterval = time.Second
	// noiseQuiet is the scanner's noise rule: a line ending within it of a
	// line refused for its content is noise. Random bytes come back to back;
	// a person takes longer than this to present a code after anything else.
	noiseQuiet = 500 * time.Millisecond
)

// Limits of the configuration.
const (
	maxApproveTimeout = 10 * time.Minute // a receptionist deciding longer has left the visitor standing
	minPrinterPoll    = 100 * time.Millisecond
	maxPrinterPoll    = time.Hour
	maxLocation       = 40 // escpos cuts the title at 40 characters
	maxScanBurst      = 1000
	minScanInterval   = time.Millisecond
	maxScanInterval   = time.Hour
)

// DefaultOptions returns the options of a section without keys.
func DefaultOptions() Options {
	return Options{
		PrinterBaud:    DefaultPrinterBaud,
		PrinterWidth:   escpos.Width58mm,
		ApproveTimeout: DefaultApproveTimeout.String(),
		Pulse:          DefaultPulse.String(),
		PrinterPoll:    DefaultPrinterPoll.String(),
		Location:       DefaultLocation,
		ScanBurst:      DefaultScanBurst,
		ScanInterval:   DefaultScanInterval.String(),
	}
}

// settings are Options validated and converted.
type settings struct {
	scanner        scanner.Config
	printer        *serialport.Config // nil: no printer
	width          int
	door           *door.Config // nil: no door
	key            []byte
	stateFile      string
	approveTimeout time.Duration
	pulse          time.Duration
	printerPoll    time.Duration
	location       string
	display        string
}

// validate checks o against the device's common options; errors name the key
// and quote the value.
func (o Options) validate(common devices.Options) (settings, error) {
	var s settings
	port, baud := o.ScannerPort, o.ScannerBaud
	if port == "" {
		port = common.Port
		if baud == 0 {
			baud = common.Baud
		}
	}
	if port == "" {
		return s, errors.New("kiosk: option scanner_port: missing (or set the device's port)")
	}
	s.scanner = scanner.Config{Port: port, Baud: baud, MaxLine: MaxTokenLen, MinLine: MinTokenLen, ASCII: true, Quiet: noiseQuiet}
	if err := s.scanner.Validate(); err != nil {
		return s, fmt.Errorf("kiosk: option scanner_port/scanner_baud: %w", err)
	}
	if o.PrinterPort != "" {
		pc := serialport.Config{Name: o.PrinterPort, Baud: o.PrinterBaud}
		if err := pc.Validate(); err != nil {
			return s, fmt.Errorf("kiosk: option printer_port/printer_baud: %w", err)
		}
		if pc.Name == s.scanner.Port {
			return s, fmt.Errorf("kiosk: option printer_port: %q is the scanner's port", pc.Name)
		}
		s.printer = &pc
	}
	switch o.PrinterWidth {
	case escpos.Width58mm, escpos.Width80mm:
		s.width = o.PrinterWidth
	default:
		return s, fmt.Errorf("kiosk: option printer_width: %d is not %d (58 mm) or %d (80 mm)", o.PrinterWidth, escpos.Width58mm, escpos.Width80mm)
	}
	var err error
	dur := func(key, v string, lo, hi time.Duration) (time.Duration, error) {
		d, err := time.ParseDuration(v)
		if err != nil {
			return 0, fmt.Errorf("kiosk: option %s: %q is not a duration such as \"3s\"", key, v)
		}
		if d < lo || d > hi {
			return 0, fmt.Errorf("kiosk: option %s: %q is not between %v and %v", key, v, lo, hi)
		}
		return d, nil
	}
	if s.approveTimeout, err = dur("approve_timeout", o.ApproveTimeout, time.Second, maxApproveTimeout); err != nil {
		return s, err
	}
	if s.printerPoll, err = dur("printer_poll", o.PrinterPoll, minPrinterPoll, maxPrinterPoll); err != nil {
		return s, err
	}
	if o.ScanBurst < 1 || o.ScanBurst > maxScanBurst {
		return s, fmt.Errorf("kiosk: option scan_burst: %d is not between 1 and %d", o.ScanBurst, maxScanBurst)
	}
	s.scanner.Limit.Burst = o.ScanBurst
	if s.scanner.Limit.Every, err = dur("scan_interval", o.ScanInterval, minScanInterval, maxScanInterval); err != nil {
		return s, err
	}
	if o.Door != nil {
		dc := door.Config{RelayPin: o.Door.RelayPin, RelayActive: o.Door.RelayActive,
			ContactPin: o.Door.ContactPin, ContactClosed: o.Door.ContactClosed}
		if o.Door.MaxPulse != "" {
			if dc.MaxPulse, err = dur("door.max_pulse", o.Door.MaxPulse, time.Millisecond, door.MaxMaxPulse); err != nil {
				return s, err
			}
		}
		if o.Door.HeldOpenAfter != "" {
			if dc.HeldOpenAfter, err = dur("door.held_open_after", o.Door.HeldOpenAfter, time.Second, 24*time.Hour); err != nil {
				return s, err
			}
		}
		if err := dc.Validate(); err != nil {
			return s, fmt.Errorf("kiosk: option door: %w", err)
		}
		s.door = &dc
	}
	maxPulse := door.MaxMaxPulse
	if s.door != nil {
		maxPulse = s.door.MaxPulse
	}
	if s.pulse, err = dur("pulse", o.Pulse, minPulse, maxPulse); err != nil {
		return s, fmt.Errorf("%w (door.max_pulse)", err)
	}
	if o.InviteKeyFile == "" {
		return s, errors.New("kiosk: option invite_key_file: missing (scanned invites travel only as keyed hashes)")
	}
	if s.key, err = devices.ReadKey(o.InviteKeyFile); err != nil {
		return s, fmt.Errorf("kiosk: option invite_key_file: %w", err)
	}
	if o.StateFile == "" {
		return s, errors.New("kiosk: option state_file: missing (where the invite cache is kept)")
	}
	s.stateFile = o.StateFile
	loc, err := cleanText(o.Location, maxLocation)
	if err != nil || loc == "" {
		return s, fmt.Errorf("kiosk: option location: %q: want 1 to %d printable characters", o.Location, maxLocation)
	}
	s.location = loc
	if o.Display != "" && (len(o.Display) > 64 || strings.ContainsFunc(o.Display, func(r rune) bool {
		return !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '.' || r == '_' || r == '-')
	})) {
		return s, fmt.Errorf("kiosk: option display: %q: want a device id (1 to 64 of a-z 0-9 . _ -)", o.Display)
	}
	s.display = o.Display
	return s, nil
}
