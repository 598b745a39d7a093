package rollout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

// errTimeout is the cause of a context ended by within.
var errTimeout = errors.New("rollout: timed out")

// device takes one device from where its record stands to a final phase,
// or returns when ctx ends (the phase stays, for Resume).
func (r *Rollout) device(ctx context.Context, id string) {
	d := r.dev(id)
	if d.Phase.Final() {
		return
	}
	dev, err := r.o.cfg.Fleet.Device(id)
	if err != nil {
		r.set(id, Failed, err.Error(), nil)
		return
	}
	ver := r.img.Version
	ph := d.Phase
	if ph == Testing {
		// Stopped during the test boot: what runs now says how it went.
		if ph = r.judge(ctx, dev, id); ph.Final() || ctx.Err() != nil {
			return
		}
	}
	if ph != Testing {
		if ph != Transferring && !r.idle(ctx, id) {
			return
		}
		if !r.set(id, Transferring, "", func(d *DeviceRecord) {
			d.Attempts++
			if d.Started.IsZero() {
				d.Started = d.Updated
			}
		}) {
			return
		}
		if !r.transfer(ctx, dev, id) {
			return
		}
		// The test boot reboots the device: ask again.
		if !r.idle(ctx, id) || !r.set(id, Testing, "", nil) {
			return
		}
		tctx, stop := within(ctx, r.o.cfg.Clock, r.o.cfg.BootTimeout)
		err := dev.TestBoot(tctx, r.img.SHA256)
		timedOut := context.Cause(tctx) == errTimeout
		stop()
		switch {
		case ctx.Err() != nil:
			return
		case err == nil:
		case errors.Is(err, ErrReverted):
			r.set(id, RolledBack, reason(err, dev.Status()), nil)
			return
		case timedOut:
			r.set(id, RolledBack, fmt.Sprintf("not back running %s within %v of its test boot", ver, r.o.cfg.BootTimeout), nil)
			return
		case errors.Is(err, ErrRefused):
			r.set(id, Failed, "test boot: "+err.Error(), nil)
			return
		default:
			switch r.judge(ctx, dev, id) {
			case Testing:
			case Waiting:
				r.set(id, Failed, "test boot: "+err.Error(), nil)
				return
			default:
				return
			}
		}
	}
	r.confirm(ctx, dev, id)
}

// idle asks the Busy hook until the device is free, reporting it deferred
// meanwhile; false if ctx ended or the state could not be written.
func (r *Rollout) idle(ctx context.Context, id string) bool {
	first := true
	for {
		busy, why := r.o.cfg.Busy(id)
		if !busy {
			return true
		}
		reason := "deferred: " + why
		if d := r.dev(id); d.Phase != Deferred || d.Reason != reason {
			if !r.set(id, Deferred, reason, func(d *DeviceRecord) {
				if first {
					d.Deferrals++
				}
			}) {
				return false
			}
		}
		first = false
		if !sleep(ctx, r.o.cfg.Clock, r.o.cfg.DeferRetry) {
			return false
		}
	}
}

// transfer sends the image; false if the device is done (failed) or ctx
// ended.
func (r *Rollout) transfer(ctx context.Context, dev Device, id string) bool {
	tctx, stop := within(ctx, r.o.cfg.Clock, r.o.cfg.TransferTimeout)
	err := dev.Transfer(tctx, r.img, func(held int64) { r.progress(id, held) })
	timedOut := context.Cause(tctx) == errTimeout
	stop()
	switch {
	case ctx.Err() != nil:
		return false
	case err == nil:
		r.progress(id, int64(len(r.img.Data)))
		return true
	case timedOut:
		r.set(id, Failed, fmt.Sprintf("transfer not finished within %v (device offline?)", r.o.cfg.TransferTimeout), nil)
	default:
		r.set(id, Failed, "transfer: "+err.Error(), nil)
	}
	return false
}

// confirm keeps the test image under watch for the probation time, then
// makes it permanent.
func (r *Rollout) confirm(ctx context.Context, dev Device, id string) {
	ver := r.img.Version
	st0 := dev.Status()
	if !sleep(ctx, r.o.cfg.Clock, r.o.cfg.Probation) {
		return
	}
	if st := dev.Status(); !st.Online || st.Boot != st0.Boot || st.Firmware != ver || st.Image != msg.ImageTesting {
		// It went away or rebooted during probation: let it settle.
		switch r.judge(ctx, dev, id) {
		case Testing:
		case Waiting:
			st := dev.Status()
			r.set(id, RolledBack, fmt.Sprintf("runs %s (%s) again after its test boot", st.Firmware, imageName(st.Image)), nil)
			return
		default:
			return
		}
	}
	cctx, stop := within(ctx, r.o.cfg.Clock, r.o.cfg.BootTimeout)
	err := dev.Confirm(cctx, r.img.SHA256)
	stop()
	if ctx.Err() != nil {
		return
	}
	st := dev.Status()
	switch {
	case err == nil, st.Firmware == ver && st.Image == msg.ImageConfirmed:
		r.set(id, Confirmed, "", nil)
	case st.Image == msg.ImageReverted && st.Reverted == ver:
		r.set(id, RolledBack, reason(nil, st), nil)
	default:
		r.set(id, RolledBack, fmt.Sprintf("not confirmed (%v); its bootloader reverts it", err), nil)
	}
}

// judge waits for the device to be online and decides from what it runs
// how its test boot went: Testing (the new image runs in test: confirm
// it), Confirmed or RolledBack (recorded), or Waiting (it never booted
// the image: start over; the transfer resumes from what it holds). It
// returns the zero Phase if ctx ended.
func (r *Rollout) judge(ctx context.Context, dev Device, id string) Phase {
	ver, timeout := r.img.Version, r.o.cfg.BootTimeout
	tctx, stop := within(ctx, r.o.cfg.Clock, timeout)
	defer stop()
	st := dev.Status()
	for !st.Online {
		if !sleep(tctx, r.o.cfg.Clock, r.o.cfg.Poll) {
			if ctx.Err() != nil {
				return ""
			}
			r.set(id, RolledBack, fmt.Sprintf("not back running %s within %v of its test boot", ver, timeout), nil)
			return RolledBack
		}
		st = dev.Status()
	}
	switch {
	case st.Image == msg.ImageReverted && st.Reverted == ver:
		r.set(id, RolledBack, reason(nil, st), nil)
		return RolledBack
	case st.Firmware == ver && st.Image == msg.ImageTesting:
		return Testing
	case st.Firmware == ver && st.Image == msg.ImageConfirmed:
		r.set(id, Confirmed, "", nil)
		return Confirmed
	}
	return Waiting
}

// reason says why a device reverted, from its error or its HELLO.
func reason(err error, st DeviceStatus) string {
	if st.Image == msg.ImageReverted && st.Reason != "" {
		return fmt.Sprintf("reverted %s: %s", st.Reverted, st.Reason)
	}
	if err != nil {
		return err.Error()
	}
	return "reverted " + st.Reverted
}

// sleep waits d on clk; false if ctx ended first.
func sleep(ctx context.Context, clk link.Clock, d time.Duration) bool {
	t := clk.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-ctx.Done():
		return false
	}
}

// within is context.WithTimeout on clk: the context ends with cause
// errTimeout after d. stop releases it and waits for its timer goroutine.
func within(ctx context.Context, clk link.Clock, d time.Duration) (_ context.Context, stop func()) {
	c, cancel := context.WithCancelCause(ctx)
	t := clk.NewTimer(d)
	fin := make(chan struct{})
	go func() {
		defer close(fin)
		select {
		case <-t.C():
			cancel(errTimeout)
		case <-c.Done():
		}
	}()
	return c, func() {
		cancel(context.Canceled)
		t.Stop()
		<-fin
	}
}
