package kiosk

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
)

// CmdDisplay is the command a kiosk sends to its panel (the device its
// display key names, on the firmware-bridge link): {"line": text}.
const CmdDisplay = "kiosk.display"

// displayer shows what the kiosk decided on its panel, if it has one. The
// flow never waits for it: lines go through a small queue to one goroutine,
// and a panel that is slow or gone only loses lines (counted).
type displayer struct {
	panel   string // device id; "" for none
	send    func(ctx context.Context, device string, c devices.Command) (devices.Result, error)
	log     zerolog.Logger
	lines   chan string
	sent    atomic.Uint64
	failed  atomic.Uint64
	dropped atomic.Uint64
}

func newDisplayer(panel string, send func(context.Context, string, devices.Command) (devices.Result, error), log zerolog.Logger) *displayer {
	if send == nil {
		panel = "" // nothing to send with
	}
	return &displayer{panel: panel, send: send, log: log, lines: make(chan string, 8)}
}

// show queues a line; it never blocks.
func (d *displayer) show(format string, a ...any) {
	if d.panel == "" {
		return
	}
	line := fmt.Sprintf(format, a...)
	if r := []rune(line); len(r) > 64 {
		line = string(r[:63]) + "…"
	}
	select {
	case d.lines <- line:
	default:
		d.dropped.Add(1)
	}
}

func (d *displayer) run(ctx context.Context) {
	if d.panel == "" {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case line := <-d.lines:
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			res, err := d.send(sctx, d.panel, devices.Command{Name: CmdDisplay, Args: map[string]any{"line": line}})
			cancel()
			if err == nil && res.Status != devices.StatusOK {
				err = fmt.Errorf("%s: %s", res.Status, res.Error)
			}
			if err != nil {
				d.failed.Add(1)
				d.log.Debug().Err(err).Str("panel", d.panel).Msg("kiosk: display line not shown")
				continue
			}
			d.sent.Add(1)
		}
	}
}
