package devices

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// ErrUnknownKind is wrapped by Registry.New for a kind it has no factory for.
var ErrUnknownKind = errors.New("devices: unknown kind")

// Decoder decodes a device's kind-specific configuration into v, a pointer
// to a struct whose fields already hold the driver's defaults (keys the
// configuration leaves out keep them). Unknown keys and wrong types are
// errors that name the key. The gateway's configuration sections implement
// it; tests can use a small fake.
type Decoder interface {
	Decode(v any) error
}

// Options is what a Factory gets besides the device id. Everything is
// already validated by the gateway; the driver validates its own section.
type Options struct {
	Port string // serial port, "" for devices not on a serial line
	Baud int    // serial rate, 0 with no Port
	// Config is the device's kind-specific section; nil when there is none,
	// and then the driver runs with its defaults.
	Config Decoder
	// Log is the device's logger, already tagged with its id. The zero
	// Logger discards.
	Log zerolog.Logger
	// Now is the gateway's clock; nil means time.Now. Tests inject one.
	Now func() time.Time
	// CardKey is the site's card key ([privacy] card_key_file): a driver
	// that reads card numbers sends KeyedHash(CardKey, card) as "card_hash"
	// instead of the number, unless its own configuration names another
	// key. nil: cards travel in clear.
	CardKey []byte
	// StateDir is a directory the driver may keep small state in (a
	// terminal's read position), one file per device named after its id;
	// "" when the gateway keeps none, and then the driver keeps it in memory.
	StateDir string
	// Send, if set, sends a command to another device of this gateway by
	// its device id and returns that device's result (a room driver writing
	// its panel's display line). The gateway sets it; it fails while the
	// gateway is not running yet.
	Send func(ctx context.Context, device string, c Command) (Result, error)
}

// Clock returns o.Now, or time.Now when it is nil.
func (o Options) Clock() func() time.Time {
	if o.Now == nil {
		return time.Now
	}
	return o.Now
}

// Factory builds the driver of one device. It validates opts (returning an
// error that names the offending key and value) and does not touch the
// hardware: that is Run's job, so a device that is unplugged at start-up
// does not stop the gateway from starting.
type Factory func(id string, opts Options) (Driver, error)

// Registry maps a device kind to the Factory of its driver. Build one as a
// literal where the program is assembled:
//
//	reg := devices.Registry{"terminal": terminal.New, "wiegand": wiegand.New}
type Registry map[string]Factory

// New builds the driver for device id of the given kind.
func (r Registry) New(kind, id string, opts Options) (Driver, error) {
	f := r[kind]
	if f == nil {
		return nil, fmt.Errorf("%w %q for device %q (known: %s)", ErrUnknownKind, kind, id, strings.Join(r.Kinds(), ", "))
	}
	if id == "" {
		return nil, fmt.Errorf("devices: new %s device: empty id", kind)
	}
	d, err := f(id, opts)
	if err != nil {
		return nil, fmt.Errorf("devices: configuration invalid for %s device %q: %w", kind, id, err)
	}
	if d == nil {
		// A nil driver would panic at Run, far from the factory at fault.
		return nil, fmt.Errorf("devices: factory for kind %q returned no driver for device %q", kind, id)
	}
	if got := d.Describe(); got.ID != id || got.Kind != kind {
		// Events and status are routed by Describe: a mismatch would file one
		// device's events under another.
		return nil, fmt.Errorf("devices: factory for kind %q built device %q of kind %q, want device %q", kind, got.ID, got.Kind, id)
	}
	return d, nil
}

// Kinds returns the registered kinds, sorted.
func (r Registry) Kinds() []string {
	ks := make([]string, 0, len(r))
	for k, f := range r {
		if f != nil {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks
}
