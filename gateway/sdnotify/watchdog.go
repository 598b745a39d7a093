package sdnotify

import (
	"context"
	"time"

	"github.com/rs/zerolog"
)

// WatchdogOptions configure RunWatchdog.
type WatchdogOptions struct {
	// Every is the ping period: half of WATCHDOG_USEC (sd_watchdog_enabled(3)).
	Every time.Duration
	// Check returns nil while the pipeline makes progress (Progress.Check).
	Check func(now time.Time) error
	// Now is the clock passed to Check. Default time.Now.
	Now func() time.Time
	Log zerolog.Logger
}

// RunWatchdog pings systemd every o.Every while o.Check passes, until ctx
// ends. While it fails no ping is sent, so systemd restarts the service once
// WatchdogSec passes; STATUS= says why meanwhile, and the log says it once
// per stall, not at every tick.
func RunWatchdog(ctx context.Context, n *Notifier, o WatchdogOptions) {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	t := time.NewTicker(o.Every)
	defer t.Stop()
	stalled := false
	for {
		err := o.Check(now())
		switch {
		case err == nil && stalled:
			stalled = false
			o.Log.Warn().Msg("watchdog: pipeline progressing again; pinging")
			notify(n, o.Log, Watchdog, Status("running"))
		case err == nil:
			notify(n, o.Log, Watchdog)
		case !stalled:
			stalled = true
			o.Log.Error().Err(err).Msg("watchdog: pipeline stalled; withholding pings so systemd restarts the service")
			notify(n, o.Log, Status("stalled: "+err.Error()))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func notify(n *Notifier, log zerolog.Logger, states ...string) {
	if err := n.Notify(states...); err != nil {
		log.Warn().Err(err).Msg("sd_notify")
	}
}
