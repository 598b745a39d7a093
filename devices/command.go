package devices

import (
	"fmt"
	"time"
)

// Result statuses. Every command is answered with exactly one of them.
const (
	StatusOK          = "ok"          // done
	StatusError       = "error"       // tried and failed; Result.Error says why
	StatusUnsupported = "unsupported" // the driver does not know the command
	StatusBusy        = "busy"        // not now (e.g. a check-in in progress); may be sent again
	StatusExpired     = "expired"     // not done because its deadline had passed
)

// Command asks a device to do something.
type Command struct {
	ID   string         // unique per command; the gateway deduplicates by it
	Name string         // e.g. "door.pulse"
	Args map[string]any // command-specific; drivers validate what they read
	// Deadline is when the command stops being worth doing (a door released
	// an hour late is a security fault, not a delayed success). Zero means
	// none. The gateway refuses expired commands before they reach a driver;
	// a driver that queues work checks again with Expired before acting.
	Deadline time.Time
}

// Expired reports whether c's deadline has passed at now.
func (c Command) Expired(now time.Time) bool {
	return !c.Deadline.IsZero() && !now.Before(c.Deadline)
}

// Result answers one Command.
type Result struct {
	Status string         // one of the Status constants
	Error  string         // why, for StatusError (and optionally the others)
	Data   map[string]any // command-specific; subject to CheckData like event data
}

// OK is a successful result carrying data (nil for none).
func OK(data map[string]any) Result { return Result{Status: StatusOK, Data: data} }

// Failed is an error result carrying err's text.
func Failed(err error) Result {
	if err == nil {
		// A failure without a cause would reach the caller as a bare
		// "error": say at least that the cause was lost.
		return Result{Status: StatusError, Error: "devices: failed without a reason"}
	}
	return Result{Status: StatusError, Error: err.Error()}
}

// Unsupported answers a command the driver does not know.
func Unsupported(c Command) Result {
	return Result{Status: StatusUnsupported, Error: fmt.Sprintf("devices: command %q is not supported", c.Name)}
}
