package zk4370

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/zkteco"
	"github.com/rs/zerolog"
)

var (
	_ devices.Driver   = (*Driver)(nil)
	_ devices.Statuser = (*Driver)(nil)
)

// TypePunch is the type of the events a terminal's punches become.
const TypePunch = "attendance.punch"

// maxPending is how many real-time punches the driver journals past its
// position before it reads the log to fold them in (doc.go §4.2): it bounds
// the position file.
const maxPending = 256

// saveEvery is how many backfilled punches go between two saves of the
// position: a crash re-sends at most that many, under the same ids.
const saveEvery = 64

// Deps are what a Driver takes from the gateway besides its options.
type Deps struct {
	Now      func() time.Time // nil: time.Now
	Timer    devices.Timer    // backoff and clock checks; nil: real timers
	Log      zerolog.Logger
	CardKey  []byte
	StateDir string // "": the position lives in memory only
}

// Driver calls one terminal and journals its punches (doc.go §4).
type Driver struct {
	// Immutable.
	id   string
	s    settings
	deps Deps
	path string // position file

	ran sync.Once

	mu sync.Mutex
	// Guarded by mu.
	online   bool
	lastSeen time.Time
	firmware string
	serial   string
	clock    string
	offset   time.Duration
	counters map[string]uint64
	cl       *Client // the session following real-time punches, for Handle

	fetches chan fetchReq // attendance.fetch, to the session's goroutine

	// Owned by Run's goroutine.
	pos    position
	recent map[string]bool // keys of the last backfill's new records and pending
}

// NewDriver builds the driver of device id from validated-on-call options.
func NewDriver(id string, o Options, deps Deps) (*Driver, error) {
	s, err := o.settings()
	if err != nil {
		return nil, err
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Timer == nil {
		deps.Timer = func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTimer(d)
			return t.C, func() { t.Stop() }
		}
	}
	return &Driver{id: id, s: s, deps: deps, path: statePath(deps.StateDir, id), clock: devices.ClockUnknown,
		counters: map[string]uint64{}, fetches: make(chan fetchReq)}, nil
}

// Describe implements devices.Driver.
func (d *Driver) Describe() devices.Description {
	return devices.Description{ID: d.id, Kind: Kind, Model: "ZKTeco (4370 protocol)", Commands: commands}
}

// Status implements devices.Statuser.
func (d *Driver) Status() devices.Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := make(map[string]uint64, len(d.counters))
	for k, v := range d.counters {
		c[k] = v
	}
	return devices.Status{Online: d.online, LastSeen: d.lastSeen, Firmware: d.firmware, Clock: d.clock,
		ClockOffset: d.offset, Counters: c}
}

func (d *Driver) count(name string, n uint64) {
	d.mu.Lock()
	d.counters[name] += n
	d.mu.Unlock()
}

func (d *Driver) seen() {
	d.mu.Lock()
	d.lastSeen = d.deps.Now()
	d.mu.Unlock()
}

// Run implements devices.Driver: it connects, backfills, follows real-time
// punches, and reconnects with backoff whenever the link fails.
func (d *Driver) Run(ctx context.Context, sink devices.Sink) error {
	again := true
	d.ran.Do(func() { again = false })
	if again {
		return errors.New("zk4370: Run called twice")
	}
	if d.deps.StateDir != "" {
		if err := os.MkdirAll(d.deps.StateDir, 0o750); err != nil {
			return fmt.Errorf("zk4370: device %q: state directory: %w", d.id, err)
		}
	}
	var err error
	if d.pos, err = loadPosition(d.path); err != nil {
		return fmt.Errorf("zk4370: device %q: %w", d.id, err)
	}
	wait := d.s.backoffMin
	for {
		up, err := d.session(ctx, sink)
		d.mu.Lock()
		d.online = false
		d.mu.Unlock()
		if ctx.Err() != nil {
			return nil
		}
		if up {
			wait = d.s.backoffMin
		}
		d.count("reconnects", 1)
		d.deps.Log.Warn().Err(err).Str("address", d.s.addr).Dur("retry_in", wait).Msg("zk4370: terminal unreachable")
		ch, stop := d.deps.Timer(wait)
		select {
		case <-ch:
		case <-ctx.Done():
			stop()
			return nil
		}
		wait = min(2*wait, d.s.backoffMax)
	}
}

// session runs one connection until it fails or ctx ends; up reports
// whether it got as far as following real-time punches.
func (d *Driver) session(ctx context.Context, sink devices.Sink) (up bool, err error) {
	cl, err := DialNetwork(ctx, d.s.network, d.s.addr, d.s.key, d.s.timeout)
	if err != nil {
		return false, err
	}
	defer func() {
		if ctx.Err() != nil {
			cl.Exit() // a polite goodbye; the terminal frees the session
		} else {
			cl.Close()
		}
	}()
	stop := context.AfterFunc(ctx, func() { cl.c.Close() })
	defer stop()
	serial, err := cl.Serial()
	if err != nil {
		return false, fmt.Errorf("zk4370: read the serial number: %w", err)
	}
	fw, _ := cl.Version() // informative only
	d.mu.Lock()
	d.serial, d.firmware = serial, fw
	d.mu.Unlock()
	d.seen()
	if d.pos.Serial != serial {
		if d.pos.Serial != "" {
			d.deps.Log.Warn().Str("was", d.pos.Serial).Str("now", serial).
				Msg("zk4370: another terminal answers at this address: its log is read from the start")
		}
		d.pos = position{Serial: serial}
	}
	d.syncClock(cl)
	if err := cl.RegisterEvents(EFAttLog); err != nil {
		return false, fmt.Errorf("zk4370: register for real-time punches: %w", err)
	}
	// Commands may use the session from here on: its requests take turns
	// with the backfill's.
	d.mu.Lock()
	d.cl = cl
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.cl = nil
		d.mu.Unlock()
	}()
	if err := d.backfill(ctx, cl, sink); err != nil {
		return false, err
	}
	d.mu.Lock()
	d.online = true
	d.mu.Unlock()
	d.deps.Log.Info().Str("serial", serial).Str("firmware", fw).Int("log_records", d.pos.Count).Msg("zk4370: terminal online")
	check, stopCheck := d.deps.Timer(d.s.check)
	defer func() { stopCheck() }()
	var keep <-chan time.Time // UDP only: nil never fires
	stopKeep := func() {}
	suspect := 0 // the log's record count when the last keepalive found records missing
	if cl.udp {
		keep, stopKeep = d.deps.Timer(d.s.keepalive)
	}
	defer func() { stopKeep() }()
	for {
		recs, overflow, bad, more := cl.Events()
		if bad > 0 {
			d.count("realtime_malformed", uint64(bad))
		}
		if len(recs) > 0 {
			d.seen()
		}
		if cl.udp && len(recs) > 0 {
			// A lost datagram would let a later punch overtake it: journal
			// real-time punches only when the log holds nothing else new.
			if gap, err := d.udpGap(cl, recs); err != nil {
				return true, err
			} else if gap {
				overflow = true
			}
		}
		if overflow {
			if err := d.backfill(ctx, cl, sink); err != nil {
				return true, err
			}
		}
		for _, r := range recs {
			if err := d.realtime(ctx, sink, r); err != nil {
				return true, err
			}
		}
		if len(d.pos.Pending) >= maxPending {
			if err := d.backfill(ctx, cl, sink); err != nil {
				return true, err
			}
		}
		select {
		case <-more:
		case <-cl.Done():
			return true, fmt.Errorf("zk4370: connection lost: %w", cl.Err())
		case <-ctx.Done():
			return true, nil
		case req := <-d.fetches:
			res := d.runFetch(ctx, cl, sink, req)
			req.done <- res
			if res.Status != devices.StatusOK && cl.Err() != nil {
				return true, fmt.Errorf("zk4370: connection lost: %w", cl.Err())
			}
		case <-check:
			d.syncClock(cl)
			stopCheck()
			check, stopCheck = d.deps.Timer(d.s.check)
		case <-keep:
			if err := d.keepalive(ctx, cl, sink, &suspect); err != nil {
				return true, err
			}
			stopKeep()
			keep, stopKeep = d.deps.Timer(d.s.keepalive)
		}
	}
}

// udpGap reports whether the terminal's log holds more records than the
// position, the real-time punches journaled past it and the new ones in
// recs: then a real-time datagram was lost, and its punch must be read
// from the log before these are journaled, so that none overtakes it
// (doc.go §4.5).
func (d *Driver) udpGap(cl *Client, recs []AttRecord) (bool, error) {
	fs, err := cl.FreeSizes()
	if err != nil {
		return false, fmt.Errorf("zk4370: count the log: %w", err)
	}
	fresh := 0
	for _, r := range recs {
		if !d.recent[recordKey(r)] {
			fresh++
		}
	}
	if missing := int(fs.Records) - d.pos.Count - len(d.pos.Pending) - fresh; missing > 0 {
		d.count("datagrams_lost", uint64(missing))
		return true, nil
	}
	return false, nil
}

// keepalive checks a UDP session (doc.go §4.5): the terminal's record count
// answers that it is there and still knows the session, and says whether
// the log holds punches no real-time datagram brought. A datagram may still
// be on its way at one check, so the log is read only when the same records
// are missing at two checks in a row (suspect carries the first's count).
func (d *Driver) keepalive(ctx context.Context, cl *Client, sink devices.Sink, suspect *int) error {
	fs, err := cl.FreeSizes()
	if err != nil {
		return fmt.Errorf("zk4370: UDP keepalive: %w", err)
	}
	d.seen()
	if n := cl.Damaged(); n > 0 {
		d.count("datagrams_damaged", uint64(n))
	}
	missing := int(fs.Records) - d.pos.Count - len(d.pos.Pending)
	if missing <= 0 {
		*suspect = 0
		return nil
	}
	if *suspect == 0 || int(fs.Records) < *suspect {
		*suspect = int(fs.Records)
		return nil
	}
	*suspect = 0
	d.count("datagrams_lost", uint64(missing))
	return d.backfill(ctx, cl, sink)
}

// syncClock measures the terminal's clock and sets it when it is off by more
// than the threshold (doc.go §4.3). It returns the offset it found and, when
// it set the clock, the offset after.
func (d *Driver) syncClock(cl *Client) (cs clockSync, err error) {
	measure := func() (time.Duration, error) {
		st, err := cl.Time()
		if err != nil {
			return 0, err
		}
		now := d.deps.Now().In(d.s.loc).Truncate(time.Second)
		return st.In(d.s.loc).Sub(now), nil
	}
	off, err := measure()
	cs.before = off
	if err == nil && (off > d.s.threshold || off < -d.s.threshold) {
		d.deps.Log.Info().Dur("offset", off).Msg("zk4370: setting the terminal's clock")
		if err = cl.SetTime(StampOf(d.deps.Now().In(d.s.loc))); err == nil {
			d.count("clock_sets", 1)
			cs.stepped = true
			off, err = measure()
		}
	}
	cs.after = off
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case err != nil:
		d.deps.Log.Warn().Err(err).Msg("zk4370: clock check failed")
		if d.clock == devices.ClockSynced {
			d.clock = devices.ClockDrifted
		}
	case off > d.s.threshold || off < -d.s.threshold:
		d.clock, d.offset = devices.ClockDrifted, off
	default:
		d.clock, d.offset = devices.ClockSynced, off
	}
	cs.clock = d.clock
	return cs, err
}

// clockSync is what one syncClock found and did.
type clockSync struct {
	clock         string
	before, after time.Duration // the terminal's clock minus the gateway's
	stepped       bool
}

// backfill reads the whole log and journals what the position does not
// cover, then moves the position to the log's end (doc.go §4.2).
func (d *Driver) backfill(ctx context.Context, cl *Client, sink devices.Sink) error {
	log, err := cl.ReadLog()
	if err != nil {
		return fmt.Errorf("zk4370: read the attendance log: %w", err)
	}
	d.seen()
	start, inPlace := d.pos.resume(log)
	if !inPlace {
		d.count("log_resets", 1)
		d.deps.Log.Warn().Int("had", d.pos.Count).Int("log_records", len(log)).Int("from", start).
			Msg("zk4370: the terminal's log no longer holds our last punch where it was (cleared or rolled): sending from there again, under the same ids")
	}
	pending := make(map[string]bool, len(d.pos.Pending))
	d.recent = make(map[string]bool, len(d.pos.Pending))
	for _, k := range d.pos.Pending {
		pending[k], d.recent[k] = true, true
	}
	n := 0
	for i := start; i < len(log); i++ {
		k := recordKey(log[i])
		d.recent[k] = true
		if pending[k] {
			continue
		}
		if err := d.emit(ctx, sink, log[i]); err != nil {
			return err
		}
		d.count("backfilled", 1)
		if n++; n%saveEvery == 0 {
			// Pending stays: records past i may still be among them.
			d.pos.Count, d.pos.Last = i+1, k
			if err := d.pos.save(d.path); err != nil {
				return err
			}
		}
	}
	d.pos.Count, d.pos.Last, d.pos.Pending = len(log), "", nil
	if len(log) > 0 {
		d.pos.Last = recordKey(log[len(log)-1])
	}
	return d.pos.save(d.path)
}

// realtime journals a real-time punch unless the last backfill or an
// earlier packet already did.
func (d *Driver) realtime(ctx context.Context, sink devices.Sink, r AttRecord) error {
	k := recordKey(r)
	if d.recent[k] {
		return nil
	}
	if err := d.emit(ctx, sink, r); err != nil {
		return err
	}
	d.count("realtime", 1)
	if d.recent == nil {
		d.recent = map[string]bool{}
	}
	d.recent[k] = true
	d.pos.Pending = append(d.pos.Pending, k)
	return d.pos.save(d.path)
}

// emit journals r and returns once it is durable; back-pressure waits.
func (d *Driver) emit(ctx context.Context, sink devices.Sink, r AttRecord) error {
	d.mu.Lock()
	serial, clock := d.serial, d.clock
	d.mu.Unlock()
	data := zkteco.PunchData(serial, r.PIN, int(r.State), int(r.Verify), strconv.FormatUint(uint64(r.WorkCode), 10))
	ev := devices.Event{Device: d.id, Type: TypePunch, Time: r.Time.In(d.s.loc), TimeRaw: r.Time.String(),
		Clock: clock, Data: data, Source: zkteco.PunchKey(serial, r.PIN, r.Time.String(), int(r.State), int(r.Verify))}
	err := devices.EmitRetry(ctx, sink, ev, 0, d.deps.Timer, func() { d.count("busy_retries", 1) })
	if err != nil {
		return fmt.Errorf("zk4370: journal punch %s: %w", recordKey(r), err)
	}
	d.count("punches", 1)
	return nil
}
