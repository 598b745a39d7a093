package reader

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/wiegand"
)

// Kind is the registry kind of the driver.
const Kind = "reader"

// Event types the driver emits.
const (
	TypePunch = "attendance.punch"
	TypeRead  = "credential.read"
)

// DefaultBusyRetry is how long a busy sink is retried before an event is lost.
const DefaultBusyRetry = 2 * time.Second

// Backoff between attempts to open the chip: a reader's lines do not come back by
// themselves within milliseconds (a permission or an overlay is being fixed).
const (
	openBackoffMin = time.Second
	openBackoffMax = 30 * time.Second
)

// With holds what tests and the demo inject into a driver. The zero value opens the
// configured chip and retries for DefaultBusyRetry.
type With struct {
	// Source replaces the GPIO chip; d0 and d1 become optional. When it ends (io.EOF),
	// Run returns nil: a played capture is over.
	Source wiegand.EdgeSource
	// BusyRetry is how long a busy sink is retried; 0 means DefaultBusyRetry.
	BusyRetry time.Duration
}

// Reader is the driver of one Wiegand reader.
type Reader struct {
	// Immutable.
	id        string
	set       settings
	log       zerolog.Logger
	now       func() time.Time
	src       wiegand.EdgeSource // nil: open the chip in Run
	busyRetry time.Duration
	dec       *wiegand.Decoder // fed by Run's goroutine only; Stats from any

	ran         atomic.Bool
	emitted     atomic.Uint64
	lost        atomic.Uint64
	busyRetries atomic.Uint64

	mu       sync.Mutex
	online   bool      // guarded by mu
	lastSeen time.Time // guarded by mu
}

var (
	_ devices.Driver   = (*Reader)(nil)
	_ devices.Statuser = (*Reader)(nil)
	_ devices.Factory  = New
)

// New is the driver's devices.Factory. It decodes and validates the configuration and
// reads the card key file, but does not open the chip.
func New(id string, opts devices.Options) (devices.Driver, error) {
	return NewWith(id, opts, With{})
}

// NewWith is New with injected parts.
func NewWith(id string, opts devices.Options, w With) (*Reader, error) {
	o := DefaultOptions()
	if opts.Config != nil {
		if err := opts.Config.Decode(&o); err != nil {
			return nil, err
		}
	}
	set, err := o.validate(w.Source == nil)
	if err != nil {
		return nil, err
	}
	if set.key == nil && opts.CardKey != nil {
		set.key = opts.CardKey // the site's key, unless the reader names its own
	}
	dec, err := wiegand.New(&set.decoder)
	if err != nil {
		return nil, err // validate built the same decoder
	}
	if w.BusyRetry < 0 {
		return nil, errors.New("reader: negative busy retry")
	}
	if w.BusyRetry == 0 {
		w.BusyRetry = DefaultBusyRetry
	}
	return &Reader{
		id:        id,
		set:       set,
		log:       opts.Log,
		now:       opts.Clock(),
		src:       w.Source,
		busyRetry: w.BusyRetry,
		dec:       dec,
	}, nil
}

// Describe implements devices.Driver.
func (r *Reader) Describe() devices.Description {
	return devices.Description{ID: r.id, Kind: Kind, Model: "wiegand"}
}

// Run implements devices.Driver: it decodes the lines and emits an event per frame until
// ctx is cancelled, reopening the chip with backoff when it fails.
func (r *Reader) Run(ctx context.Context, sink devices.Sink) error {
	if !r.ran.CompareAndSwap(false, true) {
		return errors.New("reader: Run called twice")
	}
	if r.src != nil {
		return r.runSource(ctx, sink, r.src)
	}
	backoff := openBackoffMin
	for ctx.Err() == nil {
		chip, err := wiegand.OpenChip(r.set.chip, r.set.d0, r.set.d1, nil)
		if err == nil {
			backoff = openBackoffMin
			err = r.runSource(ctx, sink, chip)
			chip.Close()
			if ctx.Err() != nil {
				return nil
			}
			// The kernel numbers a new line request's edges afresh.
			r.dec.Reset()
		}
		r.log.Warn().Err(err).Dur("retry_in", backoff).Msg("reader: gpio lines unavailable")
		if !sleep(ctx, backoff) {
			return nil
		}
		backoff = min(2*backoff, openBackoffMax)
	}
	return nil
}

// runSource decodes src until ctx is done, src ends or fails.
func (r *Reader) runSource(ctx context.Context, sink devices.Sink, src wiegand.EdgeSource) error {
	r.setOnline(true)
	defer r.setOnline(false)
	ws := &wallSource{src: src, now: r.now}
	err := wiegand.Run(ctx, ws, r.dec, func(f wiegand.Frame) {
		r.deliver(ctx, sink, f, ws.wall(f.Time))
	})
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// deliver emits the event of f, retrying a busy sink for r.busyRetry of waiting, and
// counts and logs the event if it cannot be delivered.
func (r *Reader) deliver(ctx context.Context, sink devices.Sink, f wiegand.Frame, at time.Time) {
	r.mu.Lock()
	r.lastSeen = at
	r.mu.Unlock()
	e := r.event(f, at)
	err := devices.EmitRetry(ctx, sink, e, r.busyRetry, nil, func() { r.busyRetries.Add(1) })
	switch {
	case err == nil:
		r.emitted.Add(1)
	case ctx.Err() != nil:
		r.lose(e, f, err, "the gateway stopped")
	case errors.Is(err, devices.ErrBusy):
		r.lose(e, f, err, "the sink stayed busy")
	default:
		r.lose(e, f, err, "the sink refused it")
	}
}

// lose counts and logs an event that could not be delivered. It logs what the frame
// was, never the card or the keys.
func (r *Reader) lose(e devices.Event, f wiegand.Frame, err error, why string) {
	n := r.lost.Add(1)
	r.log.Error().Err(err).
		Str("type", e.Type).
		Str("format", formatName(f.Format)).
		Int("bits", f.Bits).
		Time("at", e.Time).
		Uint64("events_lost", n).
		Msg("reader: event lost: " + why)
}

func (r *Reader) setOnline(on bool) {
	r.mu.Lock()
	r.online = on
	r.mu.Unlock()
}

// Status implements devices.Statuser.
func (r *Reader) Status() devices.Status {
	s := r.dec.Stats()
	r.mu.Lock()
	online, last := r.online, r.lastSeen
	r.mu.Unlock()
	return devices.Status{
		Online:   online,
		LastSeen: last,
		Clock:    devices.ClockSynced,
		Counters: map[string]uint64{
			"frames":             s.Frames,
			"events_emitted":     r.emitted.Load(),
			"events_lost":        r.lost.Load(),
			"busy_retries":       r.busyRetries.Load(),
			"frames_rejected":    s.BitCount + s.Parity + s.SeqGap + s.BothLow + s.Spacing + s.BadKey,
			"rejected_bit_count": s.BitCount,
			"rejected_parity":    s.Parity,
			"rejected_seq_gap":   s.SeqGap,
			"rejected_both_low":  s.BothLow,
			"rejected_spacing":   s.Spacing,
			"rejected_bad_key":   s.BadKey,
			"pin_timeout":        s.PINTimeout,
			"pin_too_long":       s.PINTooLong,
		},
	}
}

// sleep waits d, or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
