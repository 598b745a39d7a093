package gpio

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"periph.io/x/conn/v3/driver/driverreg"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"
)

// ErrUnknownPin is wrapped by Open's error for a name no driver registered.
var ErrUnknownPin = errors.New("gpio: unknown pin")

// hostInit runs periph's driver initialisation once per process: it scans
// /dev/gpiochip* and registers every line, and running it again only
// returns the first result.
var hostInit = sync.OnceValues(host.Init)

// Open returns the named pin of this board ("GPIO17" on a Raspberry Pi, or
// the line's number), through periph.io host/v3 and the GPIO character
// device. The pin is not configured: wrap it in an Output or an Input.
func Open(name string) (PinIO, error) {
	state, err := hostInit()
	if err != nil {
		return nil, fmt.Errorf("gpio: open pin %q: host init: %w", name, err)
	}
	p := gpioreg.ByName(name)
	if p == nil {
		// A driver that failed to load (typically EACCES on /dev/gpiochip0
		// when the user is not in the gpio group) is not returned as Init's
		// error: it is only listed in State.Failed. Say so, since it is the
		// likely reason the pin is missing.
		return nil, fmt.Errorf("%w %q%s", ErrUnknownPin, name, failures(state))
	}
	return p, nil
}

func failures(s *driverreg.State) string {
	if s == nil || len(s.Failed) == 0 {
		return " (no GPIO driver failed to load: is the name right? Raspberry Pi lines are named GPIO0–GPIO27)"
	}
	var b strings.Builder
	b.WriteString(" (GPIO drivers that failed to load:")
	for i, f := range s.Failed {
		if i > 0 {
			b.WriteString(";")
		}
		fmt.Fprintf(&b, " %s: %v", f.D, f.Err)
	}
	b.WriteString(")")
	return b.String()
}
