package daemon

import "time"

// WatchdogVerdict is the service manager watchdog's latest decision, which
// Options.Watchdog reports with Gateway.SetWatchdog at every check; the
// console's overview shows it.
type WatchdogVerdict struct {
	Every time.Duration // the ping period
	At    time.Time     // when the pipeline was checked
	// Err is nil while the pipeline makes progress and the service manager
	// is pinged; else what stalled, and pings are withheld so that it
	// restarts the gateway.
	Err error
}

// SetWatchdog records the watchdog's latest verdict. A gateway whose
// watchdog never calls it (none configured, or not started by a service
// manager that asked for pings) shows the watchdog as off.
func (g *Gateway) SetWatchdog(v WatchdogVerdict) { g.watchdog.Store(&v) }
