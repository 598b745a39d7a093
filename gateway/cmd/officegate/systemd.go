package main

import (
	"context"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/gateway/sdnotify"
)

// systemd speaks to systemd when it started us (Type=notify, WatchdogSec in
// systemd/officegate.service): READY=1 once the journal is open and the
// pipeline runs, WATCHDOG=1 while it makes progress, STOPPING=1 at the
// signal. Outside systemd every call does nothing.
type systemd struct {
	// Immutable.
	n        *sdnotify.Notifier
	wd       sdnotify.WatchdogOptions
	stopping func() bool // cancels the STOPPING=1 notice of a run that ends by itself
	log      zerolog.Logger
}

// startSystemd reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID; STOPPING=1
// goes out as soon as ctx ends (SIGTERM), before the shutdown's work.
func startSystemd(ctx context.Context, log zerolog.Logger) *systemd {
	s := &systemd{log: log}
	n, err := sdnotify.New(os.Getenv("NOTIFY_SOCKET"))
	if err != nil {
		log.Warn().Err(err).Msg("not notifying systemd")
	}
	s.n = n
	timeout, err := sdnotify.WatchdogInterval(os.Getenv("WATCHDOG_USEC"), os.Getenv("WATCHDOG_PID"), os.Getpid())
	if err != nil {
		log.Warn().Err(err).Msg("systemd watchdog off")
	}
	s.wd.Every = timeout / 2 // sd_watchdog_enabled(3): ping at half the timeout
	s.stopping = context.AfterFunc(ctx, func() { s.notify(sdnotify.Stopping, sdnotify.Status("shutting down")) })
	return s
}

// ready is daemon.Options.Ready.
func (s *systemd) ready(*daemon.Gateway) {
	s.notify(sdnotify.Ready, sdnotify.Status("running"))
}

// watchdog is daemon.Options.Watchdog: it pings systemd while g makes
// progress, until ctx ends (the daemon stops it before any other part).
func (s *systemd) watchdog(ctx context.Context, g *daemon.Gateway) {
	if s.n == nil || s.wd.Every <= 0 {
		return
	}
	links := make(map[string]sdnotify.LinkStatus, len(g.Links))
	for id, l := range g.Links {
		links[id] = l
	}
	o := s.wd
	p := sdnotify.NewProgress(g.Journal, g.Uplink, links, sdnotify.Limits{})
	o.Check = func(now time.Time) error {
		err := p.Check(now)
		g.SetWatchdog(daemon.WatchdogVerdict{Every: o.Every, At: now, Err: err}) // the console's overview shows it
		return err
	}
	o.Log = s.log.With().Str("part", "watchdog").Logger()
	s.log.Info().Dur("every", o.Every).Msg("systemd watchdog on")
	sdnotify.RunWatchdog(ctx, s.n, o)
}

// close cancels the STOPPING=1 notice of a run that ended by itself.
func (s *systemd) close() {
	s.stopping()
}

func (s *systemd) notify(states ...string) {
	if err := s.n.Notify(states...); err != nil {
		s.log.Warn().Err(err).Msg("sd_notify")
	}
}
