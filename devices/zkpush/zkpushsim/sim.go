// Package zkpushsim is an emulated ZKTeco PUSH terminal, written from the specification.
//
// It behaves as zkpush's doc.go says a terminal does, not as our gateway
// expects: it keeps its attendance records in a store of fixed capacity until
// a server answers "OK: n" for them, sends them again from its last
// acknowledged record after any failure (and all of them when the server
// answers a handshake with ATTLOGStamp=0), sets its clock from every reply's
// Date header in the zone the handshake's TimeZone names, polls for commands
// and executes the ones a real terminal does on a user table of its own.
// Tests and the demo drive it; it is a fixture, not a product.
package zkpushsim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/officegate/officegate/devices/zkpush"
	"github.com/officegate/officegate/devices/zkteco"
)

// ErrFull is returned by Punch when the record store is full: a real terminal
// shows "attendance log full" and records nothing more until records are
// uploaded or cleared; the emulator does the same rather than overwrite.
var ErrFull = errors.New("zkpushsim: record store full")

// Opts configures a Terminal; nil means DefaultOpts.
type Opts struct {
	Capacity int              // records held; 0 means 100000 (a common terminal's log size)
	Batch    int              // records per upload; 0 means 100
	Now      func() time.Time // the emulator's own oscillator; nil means time.Now
	Client   *http.Client     // nil means a client with a 10 s timeout
	Firmware string           // reported in INFO; "" means "Ver 6.60 emu"
	Lock     bool             // the terminal has a lock output (AC_UNLOCK works)
}

// DefaultOpts are the options a nil *Opts means.
func DefaultOpts() *Opts { return &Opts{} }

// User is an entry of the terminal's user table.
type User struct {
	PIN, Name, Card string
	Pri, Group      int
}

// Terminal is one emulated terminal. Its methods are safe for concurrent use.
type Terminal struct {
	// Immutable.
	sn     string
	server string // base URL, e.g. http://127.0.0.1:8081
	opt    Opts

	inflight atomic.Int32 // uploads sent and not yet answered

	// Mutable, guarded by mu.
	mu       sync.Mutex
	records  []zkpush.Punch // the attendance log, oldest first
	acked    int            // records[:acked] are acknowledged by a server
	query    []zkpush.Punch // records a DATA QUERY ATTLOG asked for, not yet uploaded
	oper     []string       // OPERLOG lines not yet acknowledged
	users    map[string]User
	options  zkpush.Options
	settings map[string]string // SET OPTION values
	offset   time.Duration     // device clock minus oscillator, set from Date headers
	clockSet bool
	results  []zkpush.Result // command results not yet delivered
	uploads  int             // POSTs that were acknowledged
	unlocks  int             // AC_UNLOCK commands executed
}

// New returns a terminal with serial number sn that calls server.
func New(sn, server string, o *Opts) *Terminal {
	if o == nil {
		o = DefaultOpts()
	}
	opt := *o
	if opt.Capacity == 0 {
		opt.Capacity = 100000
	}
	if opt.Batch == 0 {
		opt.Batch = 100
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Client == nil {
		opt.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if opt.Firmware == "" {
		opt.Firmware = "Ver 6.60 emu"
	}
	return &Terminal{sn: sn, server: strings.TrimSuffix(server, "/"), opt: opt,
		users: map[string]User{}, settings: map[string]string{}}
}

// SN returns the serial number.
func (t *Terminal) SN() string { return t.sn }

// Clock returns the terminal's wall clock: the oscillator corrected by the
// last Date header, in the zone of the last handshake's TimeZone.
func (t *Terminal) Clock() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.clockLocked()
}

func (t *Terminal) clockLocked() time.Time {
	tz := t.options.TimeZone
	secs := tz * 3600
	if tz <= -60 || tz >= 60 { // §5: minutes beyond ±60
		secs = tz * 60
	}
	return t.opt.Now().Add(t.offset).In(time.FixedZone("", secs))
}

// Punch records a punch at the terminal's clock, as a person at the terminal
// does, and returns it.
func (t *Terminal) Punch(pin string, status, verify int) (zkpush.Punch, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := zkpush.Punch{PIN: pin, Time: t.clockLocked().Format(zkteco.TimeLayout), Status: status, Verify: verify}
	return p, t.addLocked(p)
}

// Add records p as is (a punch at a chosen time).
func (t *Terminal) Add(p zkpush.Punch) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.addLocked(p)
}

func (t *Terminal) addLocked(p zkpush.Punch) error {
	if len(t.records) >= t.opt.Capacity {
		return fmt.Errorf("%w: %d records", ErrFull, len(t.records))
	}
	t.records = append(t.records, p)
	return nil
}

// AddOper queues an OPERLOG line (OPLOG, USER, or a template line a real
// terminal would send after an enrollment).
func (t *Terminal) AddOper(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.oper = append(t.oper, line)
}

// Pending returns how many attendance records wait for acknowledgement.
func (t *Terminal) Pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.records) - t.acked + len(t.query)
}

// Records returns a copy of the attendance log.
func (t *Terminal) Records() []zkpush.Punch {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]zkpush.Punch(nil), t.records...)
}

// Unlocks returns how many times the lock output was opened (AC_UNLOCK).
func (t *Terminal) Unlocks() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.unlocks
}

// Users returns a copy of the user table.
func (t *Terminal) Users() map[string]User {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := make(map[string]User, len(t.users))
	for k, v := range t.users {
		m[k] = v
	}
	return m
}

// ResetStamp forgets what was acknowledged, as the terminal does when its
// server answers ATTLOGStamp=0 (or its firmware is reinstalled): everything
// is uploaded again.
func (t *Terminal) ResetStamp() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.acked = 0
}

// do sends one request and returns the reply body of a 200 answer; every
// reply's Date header sets the clock, as §5 and §12 say.
func (t *Terminal) do(ctx context.Context, method, path string, q url.Values, body []byte) (string, error) {
	q.Set("SN", t.sn)
	req, err := http.NewRequestWithContext(ctx, method, t.server+path+"?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("User-Agent", "iClock Proxy/1.09")
	if body != nil {
		req.Header.Set("Content-Type", "text/plain")
	}
	resp, err := t.opt.Client.Do(req)
	if err != nil {
		return "", fmt.Errorf("zkpushsim %s: %s %s: %w", t.sn, method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("zkpushsim %s: %s %s: reading the reply: %w", t.sn, method, path, err)
	}
	if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		t.mu.Lock()
		t.offset, t.clockSet = d.Sub(t.opt.Now()), true
		t.mu.Unlock()
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("zkpushsim %s: %s %s: %s: %q", t.sn, method, path, resp.Status, strings.TrimSpace(string(b)))
	}
	return string(b), nil
}

// Handshake exchanges initialization information (§5). A reply whose
// ATTLOGStamp is 0 makes the terminal upload its whole log again.
func (t *Terminal) Handshake(ctx context.Context) error {
	q := url.Values{"options": {"all"}, "pushver": {zkpush.ServerVersion}, "language": {"69"}}
	body, err := t.do(ctx, http.MethodGet, "/iclock/cdata", q, nil)
	if err != nil {
		return err
	}
	o, err := zkpush.ParseOptions([]byte(body), t.sn)
	if err != nil {
		return fmt.Errorf("zkpushsim %s: %w", t.sn, err)
	}
	t.mu.Lock()
	t.options = o
	if o.ATTLOGStamp == "0" {
		t.acked = 0
	}
	t.mu.Unlock()
	return nil
}

// Options returns the options of the last handshake.
func (t *Terminal) Options() zkpush.Options {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.options
}
