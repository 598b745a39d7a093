package intake

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/gateway/journal"
)

var _ devices.Sink = (*Intake)(nil)

// Emit implements devices.Sink for drivers that are not on a firmware-bridge
// link (a Wiegand reader on GPIO): it returns once the event is durable. An
// event with a device memory behind it (Source set) gets the stable id of
// (hardware id, boot, seq); one the gateway originates gets a random id, drawn
// here once and journaled with it, so every publish of it carries the same id.
func (in *Intake) Emit(ctx context.Context, ev devices.Event) error {
	return in.emit(ctx, ev, true)
}

// Note journals an event the gateway itself originates about a device (its
// status changed, its clock was stepped): like Emit, but it is not news from
// the device, so the device does not count as seen. The event's time is now,
// by the gateway's clock.
func (in *Intake) Note(ctx context.Context, device, typ string, data map[string]any) error {
	now := in.opt.Now()
	return in.emit(ctx, devices.Event{Device: device, Type: typ, Time: now, Clock: devices.ClockSynced, Data: data}, false)
}

var _ devices.BatchSink = (*Intake)(nil)

// EmitBatch implements devices.BatchSink: the events are journaled in order
// in one append, so one commit (one fdatasync) makes them all durable. A
// refused event refuses the batch before anything is journaled.
func (in *Intake) EmitBatch(ctx context.Context, evs []devices.Event) error {
	var all []journal.Entry
	for _, ev := range evs {
		entries, err := in.entries(ev)
		if err != nil {
			return err
		}
		all = append(all, entries...)
	}
	if len(all) == 0 {
		return nil
	}
	if _, err := in.j.AppendEntries(ctx, all); err != nil {
		if errors.Is(err, journal.ErrFull) {
			return fmt.Errorf("%w: %w", devices.ErrBusy, err)
		}
		return err
	}
	in.tap(all)
	if in.opt.OnEvent != nil {
		for _, ev := range evs {
			in.opt.OnEvent(ev.Device, time.Now())
		}
	}
	return nil
}

func (in *Intake) emit(ctx context.Context, ev devices.Event, seen bool) error {
	entries, err := in.entries(ev)
	if err != nil {
		return err
	}
	if _, err := in.j.AppendEntries(ctx, entries); err != nil {
		if errors.Is(err, journal.ErrFull) {
			return fmt.Errorf("%w: %w", devices.ErrBusy, err)
		}
		return err
	}
	in.tap(entries)
	if seen && in.opt.OnEvent != nil {
		in.opt.OnEvent(ev.Device, time.Now())
	}
	return nil
}

// entries builds the journal entries of a driver's event, through the one
// envelope builder: the event, and the alarm beside it when biometric data
// was removed from it.
func (in *Intake) entries(ev devices.Event) ([]journal.Entry, error) {
	return in.build(in.driverArrival(ev))
}
