package pushdrv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/zkpush"
)

var (
	_ devices.Driver   = (*Driver)(nil)
	_ devices.Statuser = (*Driver)(nil)
)

// Driver is one PUSH terminal.
type Driver struct {
	// Immutable.
	id  string
	set settings
	hub *Hub
	log zerolog.Logger
	now func() time.Time
	// host is, for a terminal enrolled through the registry, the
	// configured terminal whose listener, zone and sink it shares; nil for
	// a configured one.
	host    *Driver
	cardKey []byte // the site card key (devices.Options.CardKey); nil: none

	// serveMu serialises the terminal's requests: its uploads are journaled
	// in the order they were answered, and a client flooding under its
	// serial waits only on itself.
	serveMu sync.Mutex

	// Mutable, guarded by mu.
	mu       sync.Mutex
	sink     devices.Sink // set while Run runs
	l        *listener    // set while Run runs
	lastSeen time.Time
	lastAddr netip.Addr
	contacts []contact     // recent contact periods, oldest first (clock.go)
	skew     time.Duration // the last 200 reply's Date minus the gateway's clock
	tzSent   int           // the TimeZone of the last handshake reply (when tzKnown)
	tzKnown  bool
	firmware string
	counters map[string]uint64
	queue    []*pending // commands waiting for a poll or a result, in order
	nextCmd  uint64
}

// Factory returns the registry's factory for PUSH terminals on h.
func Factory(h *Hub) devices.Factory {
	return func(id string, opts devices.Options) (devices.Driver, error) { return New(h, id, opts) }
}

// New builds a terminal's driver; it does not listen until Run.
func New(h *Hub, id string, opts devices.Options) (*Driver, error) {
	o := DefaultOptions()
	if opts.Config != nil {
		if err := opts.Config.Decode(&o); err != nil {
			return nil, err
		}
	}
	set, err := o.validate(id)
	if err != nil {
		return nil, err
	}
	return &Driver{id: id, set: set, hub: h, log: opts.Log, now: opts.Clock(), cardKey: opts.CardKey, counters: newCounters()}, nil
}

// CounterNames are the names of Status().Counters, every one present from
// the start (at 0) so that a rate on /metrics starts at the first event.
var CounterNames = []string{"address_changes", "command_results", "lines_refused", "oper_records", "photos_refused",
	"punches", "requests_refused_address", "requests_unknown", "requests_unreadable", "tables_ignored",
	"templates_refused", "uploads_refused", "uploads_truncated", "zone_changes"}

func newCounters() map[string]uint64 {
	c := make(map[string]uint64, len(CounterNames))
	for _, n := range CounterNames {
		c[n] = 0
	}
	return c
}

// Describe implements devices.Driver.
func (d *Driver) Describe() devices.Description {
	return devices.Description{ID: d.id, Kind: Kind, Model: "zkteco-push", Commands: Commands}
}

// Run implements devices.Driver: the terminal is served on its listener
// until ctx ends.
func (d *Driver) Run(ctx context.Context, sink devices.Sink) error {
	d.mu.Lock()
	d.sink = sink
	d.mu.Unlock()
	l, err := d.hub.attach(d)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.l = l
	d.mu.Unlock()
	<-ctx.Done()
	d.hub.detach(l, d)
	d.mu.Lock()
	d.sink, d.l = nil, nil
	d.mu.Unlock()
	return nil
}

// SetEnroll hands the Hub the registry's answer about serial numbers no
// configured terminal has (Hub.SetEnroll); the daemon calls it before Run
// when provisioning is configured.
func (d *Driver) SetEnroll(e func(serial, addr string) (id, why string, err error)) {
	d.hub.SetEnroll(e)
}

// Hosted returns the terminals enrolled through the registry that d hosts
// (their requests come to d's listener; Hub.SetEnroll), sorted by id: the
// daemon gives them status and commands like configured terminals.
func (d *Driver) Hosted() []devices.Driver {
	d.mu.Lock()
	l := d.l
	d.mu.Unlock()
	if l == nil {
		return nil
	}
	l.mu.Lock()
	var out []*Driver
	for _, e := range l.enrolled {
		if e.host == d {
			out = append(out, e)
		}
	}
	l.mu.Unlock()
	slices.SortFunc(out, func(a, b *Driver) int { return strings.Compare(a.id, b.id) })
	ds := make([]devices.Driver, len(out))
	for i, e := range out {
		ds[i] = e
	}
	return ds
}

// offlineAfter: a terminal polls every Delay (10 s, DefaultOptions); three
// missed polls make it offline.
const offlineAfter = 30 * time.Second

// Status implements devices.Statuser.
func (d *Driver) Status() devices.Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := make(map[string]uint64, len(d.counters))
	for k, v := range d.counters {
		c[k] = v
	}
	clock, offset := d.clockNowLocked()
	return devices.Status{Online: !d.lastSeen.IsZero() && d.now().Sub(d.lastSeen) < offlineAfter, LastSeen: d.lastSeen,
		Firmware: d.firmware, Clock: clock, ClockOffset: offset, Counters: c}
}

// countLocked adds one to a counter; d.mu must be held.
func (d *Driver) countLocked(name string) { d.counters[name]++ }

func (d *Driver) count(name string, n int) {
	d.mu.Lock()
	d.counters[name] += uint64(n)
	d.mu.Unlock()
}

// reply writes a text reply with the gateway's time in Date (§5, §12:
// the terminal sets its clock from it).
func (d *Driver) reply(w http.ResponseWriter, status int, body string) {
	d.replyAt(w, status, body, d.now())
}

// dateOf is the Date header's time for the gateway's clock now: rounded to
// the second the header can say, rather than truncated, so that a terminal
// setting its clock from it is off by at most half a second (plus the
// reply's way across the LAN), ahead or behind.
func dateOf(now time.Time) time.Time { return now.Round(time.Second) }

func clipFirmware(fw string) string { return strings.ToValidUTF8(fw[:min(len(fw), 64)], "?") }

// replyAt is reply at the gateway's time now.
func (d *Driver) replyAt(w http.ResponseWriter, status int, body string, now time.Time) {
	w.Header().Set("Date", dateOf(now).UTC().Format(http.TimeFormat))
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(status)
	io.WriteString(w, body)
	if status == http.StatusOK {
		d.mu.Lock()
		d.answeredAtLocked(now, dateOf(now))
		d.mu.Unlock()
	}
}

func (d *Driver) serve(w http.ResponseWriter, r *http.Request) {
	addr, _ := netip.ParseAddrPort(r.RemoteAddr)
	if !d.allowed(addr.Addr()) {
		d.count("requests_refused_address", 1)
		d.reply(w, http.StatusForbidden, "source address not allowed for this terminal")
		return
	}
	// The body is read before the terminal's turn, so a slow sender holds
	// only its own connection (ReadTimeout bounds it).
	body, truncated, err := d.readBody(r)
	if err != nil {
		d.count("requests_unreadable", 1)
		return // no reply: the connection is dead or timed out, the terminal keeps its records
	}
	d.serveMu.Lock()
	defer d.serveMu.Unlock()
	d.seen(r.Context(), addr.Addr())
	q := r.URL.Query()
	switch {
	case r.URL.Path == "/iclock/cdata" && r.Method == http.MethodGet:
		o := d.options()
		d.mu.Lock()
		d.tzSent, d.tzKnown = o.TimeZone, true
		d.mu.Unlock()
		d.reply(w, http.StatusOK, string(zkpush.AppendOptions(nil, d.set.serial, o)))
	case r.URL.Path == "/iclock/cdata" && r.Method == http.MethodPost && q.Get("table") == "ATTLOG":
		d.attlog(w, r.Context(), body, truncated)
	case r.URL.Path == "/iclock/cdata" && r.Method == http.MethodPost && q.Get("table") == "OPERLOG":
		d.operlog(w, r.Context(), body, truncated)
	case r.URL.Path == "/iclock/cdata" && q.Get("table") == "ATTPHOTO", r.URL.Path == "/iclock/fdata":
		d.count("photos_refused", 1) // never journaled; read up to the cap and dropped
		d.reply(w, http.StatusOK, "OK")
	case r.URL.Path == "/iclock/cdata" && r.Method == http.MethodPost:
		d.count("tables_ignored", 1) // table=options and others we do not use
		d.reply(w, http.StatusOK, "OK")
	case r.URL.Path == "/iclock/getrequest":
		if info := q.Get("INFO"); info != "" {
			fw, _, _ := strings.Cut(info, ",")
			d.mu.Lock()
			d.firmware = clipFirmware(fw)
			d.mu.Unlock()
		}
		now := d.now()
		d.replyAt(w, http.StatusOK, d.commandLines(now, dateOf(now)), now)
	case r.URL.Path == "/iclock/devicecmd":
		rs, bad := zkpush.ParseResults(body)
		d.results(rs)
		d.count("command_results", len(rs))
		d.count("lines_refused", len(bad))
		d.reply(w, http.StatusOK, "OK")
	case r.URL.Path == "/iclock/ping":
		d.reply(w, http.StatusOK, "OK")
	default:
		d.count("requests_unknown", 1)
		d.reply(w, http.StatusNotFound, "not a PUSH request")
	}
}

func (d *Driver) allowed(a netip.Addr) bool {
	if len(d.set.allow) == 0 {
		return true
	}
	a = a.Unmap()
	for _, p := range d.set.allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// readBody reads up to MaxBody bytes; truncated says the body was longer,
// and then only the whole lines within the cap are returned.
func (d *Driver) readBody(r *http.Request) (body []byte, truncated bool, err error) {
	max := d.hub.opt.MaxBody
	body, err = io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		return nil, false, err
	}
	if int64(len(body)) > max {
		body = body[:max]
		if i := bytes.LastIndexByte(body, '\n'); i >= 0 {
			body = body[:i+1]
		} else {
			body = nil
		}
		return body, true, nil
	}
	return body, false, nil
}

// seen records the request; a serial seen from a second address is an alarm
// (two devices claiming one serial, or a forger on the LAN).
func (d *Driver) seen(ctx context.Context, a netip.Addr) {
	d.mu.Lock()
	d.lastSeen = d.now()
	prev := d.lastAddr
	d.lastAddr = a
	sink := d.sink
	d.mu.Unlock()
	if prev.IsValid() && prev != a && sink != nil {
		d.count("address_changes", 1)
		d.log.Warn().Str("from", prev.String()).Str("to", a.String()).Msg("zkpush: terminal serial seen from a second address")
		sink.Emit(ctx, devices.Event{Device: d.id, Type: "device.alarm", Time: d.now(), Clock: devices.ClockSynced,
			Data: map[string]any{"alarm": "other", "detail": fmt.Sprintf("serial %s seen from %s, before from %s", d.set.serial, a, prev)}})
	}
}

// options is the handshake reply: the configured zone's offset now as the
// TimeZone (§5: hours, or minutes for half and quarter zones).
func (d *Driver) options() zkpush.Options {
	o := zkpush.DefaultOptions()
	_, off := d.now().In(d.set.loc).Zone()
	if off%3600 == 0 {
		o.TimeZone = off / 3600
	} else {
		o.TimeZone = off / 60
	}
	return o
}

// errNoSink: the request came between the listener opening and Run setting
// the sink, or after Run returned.
var errNoSink = errors.New("pushdrv: not running")
