package kiosk

import (
	"context"
	"errors"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/escpos"
	"github.com/officegate/officegate/devices/gpio"
	"github.com/officegate/officegate/devices/serialport"
)

// Printer states of printer.status.
const (
	PrinterOK           = "ok"
	PrinterPaperEnd     = "paper_end"
	PrinterPaperNearEnd = "paper_near_end"
	PrinterCoverOpen    = "cover_open"
	PrinterOffline      = "offline"
	PrinterError        = "error"
)

// maxBadgeQueue bounds badges waiting for the printer: a queue longer than a
// lobby's rush means the printer is stuck, and a badge printed minutes late
// is handed to the wrong person.
const maxBadgeQueue = 8

// Re-opening the printer's port after it went: quick after a USB glitch,
// settling at a try every few seconds while it stays away.
const (
	reopenMin = 250 * time.Millisecond
	reopenMax = 5 * time.Second
)

// badgeJob is a badge to print for a check-in.
type badgeJob struct {
	inviteID string
	badge    escpos.Badge
}

// runPrinter keeps the printer's port open, polls it every printer_poll and
// prints badges, until ctx ends. While the port cannot be opened, badges are
// answered offline at once.
func (k *Kiosk) runPrinter(ctx context.Context) {
	wait := reopenMin
	for ctx.Err() == nil {
		port, err := serialport.Open(*k.set.printer)
		if err != nil {
			k.cnt.printerFailed.Add(1)
			k.printerState(PrinterOffline)
			k.printerAway(ctx, wait, err)
			wait = min(2*wait, reopenMax)
			continue
		}
		k.cnt.printerOpened.Add(1)
		wait = reopenMin
		cl, err := escpos.NewClient(port, &escpos.ClientOptions{Badge: &escpos.Options{Width: k.set.width}})
		if err != nil { // the width was validated: not expected
			port.Close()
			k.log.Error().Err(err).Msg("kiosk: printer client")
			k.printerAway(ctx, reopenMax, err)
			continue
		}
		stop := context.AfterFunc(ctx, func() { cl.Close() })
		k.printerSession(ctx, cl)
		stop()
		cl.Close()
	}
}

// printerAway answers badges offline until d has passed or ctx ends.
func (k *Kiosk) printerAway(ctx context.Context, d time.Duration, cause error) {
	timer, stop := gpio.After(k.clock, d)
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer:
			return
		case j := <-k.jobs:
			k.printed(j, escpos.Offline, cause)
		}
	}
}

// printerSession polls and prints on an open client until the line breaks
// or ctx ends.
func (k *Kiosk) printerSession(ctx context.Context, cl *escpos.Client) {
	poll := func() bool {
		st, err := cl.Poll(ctx)
		if ctx.Err() != nil {
			return false
		}
		k.printerState(stateOf(st, err))
		return !lineBroken(err)
	}
	if !poll() {
		return
	}
	tick, stop := gpio.After(k.clock, k.set.printerPoll)
	defer func() { stop() }()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			if !poll() {
				return
			}
			tick, stop = gpio.After(k.clock, k.set.printerPoll)
		case j := <-k.jobs:
			o, err := cl.Print(ctx, j.badge)
			if ctx.Err() != nil {
				k.printed(j, escpos.Failed, ctx.Err())
				return
			}
			k.printed(j, o, err)
			if lineBroken(err) {
				k.printerState(PrinterOffline)
				return
			}
			if o != escpos.Printed && !poll() {
				return
			}
		}
	}
}

// printed emits the badge.print_result of j.
func (k *Kiosk) printed(j badgeJob, o escpos.Outcome, err error) {
	data := map[string]any{"invite_id": j.inviteID, "result": string(o)}
	if o == escpos.Printed {
		k.cnt.badgesPrinted.Add(1)
	} else {
		k.cnt.badgesFailed.Add(1)
		if err != nil {
			data["detail"] = err.Error()
		}
	}
	k.out.put(devices.Event{Type: TypePrintResult, Time: k.now(), Data: data})
}

// printerState emits printer.status when the state changed.
func (k *Kiosk) printerState(s string) {
	k.mu.Lock()
	changed := k.printer != s
	k.printer = s
	if changed {
		// Queued under k.mu so two changes cannot swap places.
		k.out.put(devices.Event{Type: TypePrinterState, Time: k.now(), Data: map[string]any{"state": s}})
	}
	k.mu.Unlock()
}

// stateOf maps a poll's answer to a printer.status state.
func stateOf(st escpos.Status, err error) string {
	switch {
	case errors.Is(err, escpos.ErrBadStatus):
		return PrinterError
	case err != nil:
		return PrinterOffline // no answer, or the line went
	}
	switch escpos.Classify(st) {
	case escpos.PaperEnd:
		return PrinterPaperEnd
	case escpos.CoverOpen:
		return PrinterCoverOpen
	case escpos.Failed:
		return PrinterError
	case escpos.Offline:
		return PrinterOffline
	}
	if st.PaperNearEnd {
		return PrinterPaperNearEnd
	}
	return PrinterOK
}

// lineBroken reports whether err means the port is gone (unplugged, closed, a
// write abandoned), so it must be opened again; a printer that answers
// badly or not at all is still on the line.
func lineBroken(err error) bool {
	if err == nil {
		return false
	}
	for _, alive := range []error{escpos.ErrNoAnswer, escpos.ErrBadStatus, escpos.ErrNotReady, escpos.ErrUnprintable, escpos.ErrBadQR, escpos.ErrBadOptions} {
		if errors.Is(err, alive) {
			// An ErrNotReady "after the job" may still hide a broken line;
			// the next poll finds out.
			return errors.Is(err, escpos.ErrClosed) || errors.Is(err, serialport.ErrUnplugged)
		}
	}
	return true
}
