package daemon

import "time"

// SetStageHook makes Run tell h of every stage's start (stopped false) and
// stop (stopped true); an error h returns for a start fails that start.
func SetStageHook(o *Options, h func(stage string, stopped bool) error) {
	o.stageHook = func(e stageEvent) error { return h(e.Stage, e.Stopped) }
}

// SetSerialClock makes the serial error log read its window's clock from now.
func SetSerialClock(o *Options, now func() time.Time) { o.serialNow = now }
