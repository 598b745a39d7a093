package sinks

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/internal/atomicfile"
)

// ErrUnmapped marks a delivery refused because the event's person has no
// user id on the sink's platform (provisioning/people): the record is held
// for that sink, not dead-lettered and never sent with a guessed id. Sinks
// return it through Unmapped.
var ErrUnmapped = errors.New("sinks: person has no user id on the sink's platform")

// UnmappedError is the error Unmapped returns; errors.Is(err, ErrUnmapped)
// holds for it.
type UnmappedError struct {
	Person   string // the person id (or card hash) the event names
	Platform string // the platform the sink delivers to ("dingtalk", …)
}

func (e *UnmappedError) Error() string {
	return fmt.Sprintf("sinks: person %q has no %s user id in the person directory", e.Person, e.Platform)
}

func (e *UnmappedError) Unwrap() error { return ErrUnmapped }

// Unmapped is the error a sink returns for an event whose person has no
// user id on its platform.
func Unmapped(person, platform string) error {
	return &UnmappedError{Person: person, Platform: platform}
}

// MaxHeld is how many records one sink holds. Past it, an unmapped record
// is a delivery failure (retried, the stream waits) rather than a longer
// list: the held file is rewritten whole on each change, and 10 000 records
// (some 5 MB) is weeks of punches of a dozen unmapped people.
const MaxHeld = 10000

// Held is a record a sink holds until its person is mapped.
type Held struct {
	Sink     string    `json:"sink"`
	Stream   string    `json:"stream"`
	Seq      uint64    `json:"seq"`
	ID       string    `json:"id,omitempty"`
	Device   string    `json:"device,omitempty"`
	Type     string    `json:"type,omitempty"`
	Person   string    `json:"person"`
	Platform string    `json:"platform"`
	Since    time.Time `json:"since"` // when it was held
	Body     []byte    `json:"body"`  // the journaled body, as it was
}

// AlarmDetail is the detail of the device.alarm (other) that h, the first
// held record of its person, raises on its device (Options.HoldAlarm: the
// gateway's and officegate connect's), at most 256 characters as the
// contract has it. ok is false for a record that raises none: one with no
// device, or an alarm itself (it would loop).
func (h Held) AlarmDetail() (detail string, ok bool) {
	if h.Device == "" || h.Type == "device.alarm" {
		return "", false
	}
	return alarmDetail(fmt.Sprintf("sink %q holds the events of person %q: no %s user id in the person directory (officegate people import); delivered once mapped",
		h.Sink, h.Person, h.Platform)), true
}

// The held file (gateway/sinks/doc.go, "Held records").
const (
	heldMagic   = "officegate-held"
	heldVersion = 1
	heldMaxBody = 64 << 20
)

// HeldFile is the file a sink's held records are kept in, inside the held
// directory.
func HeldFile(dir, sink string) string { return filepath.Join(dir, sink+".held") }

// ReadHeld reads a sink's held records from the held directory (none when
// the file does not exist). A damaged file is an error naming it.
func ReadHeld(dir, sink string) ([]Held, error) {
	path := HeldFile(dir, sink)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sinks: %w", err)
	}
	hs, err := decodeHeld(data)
	if err != nil {
		return nil, fmt.Errorf("sinks: held records %s, left as they are: %w", path, err)
	}
	return hs, nil
}

func encodeHeld(hs []Held) []byte {
	if hs == nil {
		hs = []Held{}
	}
	body, err := json.Marshal(hs)
	if err != nil {
		panic("sinks: encoding held records: " + err.Error()) // plain types: cannot fail
	}
	body = append(body, '\n')
	sum := sha256.Sum256(body)
	out := fmt.Appendf(nil, "%s %d %d %s\n", heldMagic, heldVersion, len(body), hex.EncodeToString(sum[:]))
	return append(out, body...)
}

func decodeHeld(data []byte) ([]Held, error) {
	nl := bytes.IndexByte(data, '\n')
	if nl < 0 || nl > 200 {
		return nil, fmt.Errorf("no header line (torn or foreign: %d bytes)", len(data))
	}
	f := strings.Split(string(data[:nl]), " ")
	if len(f) != 4 || f[0] != heldMagic || f[1] != strconv.Itoa(heldVersion) {
		return nil, fmt.Errorf("header %q: want %q %d, length, sha-256", data[:nl], heldMagic, heldVersion)
	}
	n, err := strconv.Atoi(f[2])
	body := data[nl+1:]
	if err != nil || n < 0 || n > heldMaxBody || n != len(body) {
		return nil, fmt.Errorf("header length %q, %d body bytes follow", f[2], len(body))
	}
	if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != f[3] {
		return nil, fmt.Errorf("checksum mismatch")
	}
	var hs []Held
	if err := json.Unmarshal(body, &hs); err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	return hs, nil
}

// heldList is a runner's held records, mirrored in its file.
type heldList struct {
	path string // "" when the runner has no held directory
	// Guarded by Runner.mu.
	recs []Held
}

// loadHeld reads the runner's held file at New.
func (r *Runner) loadHeld() error {
	if r.opt.HeldDir == "" {
		return nil
	}
	if err := os.MkdirAll(r.opt.HeldDir, 0o750); err != nil {
		return fmt.Errorf("sinks: sink %q: %w", r.opt.Name, err)
	}
	if err := atomicfile.RemoveTemps(r.opt.HeldDir, r.opt.Name+".held"); err != nil {
		return fmt.Errorf("sinks: sink %q: %w", r.opt.Name, err)
	}
	hs, err := ReadHeld(r.opt.HeldDir, r.opt.Name)
	if err != nil {
		return fmt.Errorf("sinks: sink %q: %w", r.opt.Name, err)
	}
	r.held = heldList{path: HeldFile(r.opt.HeldDir, r.opt.Name), recs: hs}
	return nil
}

// Held returns the records the sink holds, oldest first.
func (r *Runner) Held() []Held {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.held.recs)
}

// heldCount is len(Held()) without copying the list (up to MaxHeld
// records) to count it.
func (r *Runner) heldCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.held.recs)
}

// hold keeps the records of a batch whose person is unmapped, durably,
// before their cursors move past them, in one write of the held file: a
// batch of a newly hired team's punches is one rewrite, not one per punch.
// The first record of a person raises the alarm. It returns one result per
// record: nil when it is held (or was, before a crash), else the error, and
// the record is retried like a sink that is down (no held directory, the
// list full, the write failed).
func (r *Runner) hold(ctx context.Context, its []item, ues []*UnmappedError) []error {
	errs := make([]error, len(its))
	now := time.Now().UTC()
	r.mu.Lock()
	if r.held.path == "" {
		r.mu.Unlock()
		for i, ue := range ues {
			errs[i] = fmt.Errorf("%w (no held directory: retried)", ue)
		}
		return errs
	}
	persons := map[string]bool{} // the people with a record held
	for _, o := range r.held.recs {
		persons[o.Person] = true
	}
	next := slices.Clip(r.held.recs)
	var added []int // indexes in its of the records held by this call
	for i, it := range its {
		ue := ues[i]
		if slices.ContainsFunc(next, func(o Held) bool { return o.Stream == it.rec.Stream && o.Seq == it.rec.Seq }) {
			continue // held before a crash, read again: once is enough
		}
		if len(next) >= MaxHeld {
			errs[i] = fmt.Errorf("%w; the sink already holds %d records (the most it holds): import the missing people", ue, MaxHeld)
			continue
		}
		next = append(next, Held{Sink: r.opt.Name, Stream: it.rec.Stream, Seq: it.rec.Seq, ID: it.ev.ID,
			Device: it.ev.Device, Type: it.ev.Type, Person: ue.Person, Platform: ue.Platform, Since: now, Body: it.rec.Body})
		added = append(added, i)
	}
	if len(added) == 0 {
		r.mu.Unlock()
		return errs
	}
	if err := atomicfile.WriteFile(r.held.path, encodeHeld(next), 0o640); err != nil {
		r.mu.Unlock()
		for _, i := range added {
			errs[i] = fmt.Errorf("sinks: sink %q: holding %s seq %d: %w", r.opt.Name, its[i].rec.Stream, its[i].rec.Seq, err)
		}
		return errs
	}
	r.held.recs = next
	n := len(next)
	r.heldMetric(n) // under mu, so counts are reported in the order they change
	r.mu.Unlock()
	r.setDown(nil)
	for k := range added {
		h := next[n-len(added)+k]
		r.log.Warn().Str("stream", h.Stream).Uint64("seq", h.Seq).Str("id", h.ID).Str("person", h.Person).
			Str("platform", h.Platform).Int("held", n).Msg("sinks: held: the person has no user id on the sink's platform")
		if persons[h.Person] {
			continue
		}
		persons[h.Person] = true
		if r.opt.HoldAlarm != nil {
			if err := r.opt.HoldAlarm(ctx, h); err != nil && ctx.Err() == nil {
				r.log.Warn().Err(err).Str("person", h.Person).Msg("sinks: could not raise the held alarm")
			}
		}
	}
	return errs
}

func (r *Runner) heldMetric(n int) {
	if m, ok := r.opt.Metrics.(HeldMetrics); ok {
		m.Held(r.opt.Name, n)
	}
}

// HeldMetrics is a Metrics that also reports how many records a sink holds.
type HeldMetrics interface {
	Held(sink string, n int)
}

// release drops delivered (or dead-lettered) held records from the list
// and returns how many are left.
func (r *Runner) release(done map[string]bool) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	next := slices.DeleteFunc(slices.Clone(r.held.recs), func(h Held) bool {
		return done[h.Stream+"\x00"+strconv.FormatUint(h.Seq, 10)]
	})
	if err := atomicfile.WriteFile(r.held.path, encodeHeld(next), 0o640); err != nil {
		return 0, fmt.Errorf("sinks: sink %q: releasing held records: %w", r.opt.Name, err)
	}
	r.held.recs = next
	r.heldMetric(len(next))
	return len(next), nil
}

// runHeld retries the held records at start and whenever Options.Retry
// signals (the person directory changed), until ctx ends.
func (r *Runner) runHeld(ctx context.Context) error {
	if r.held.path == "" {
		return nil
	}
	r.mu.Lock()
	r.heldMetric(len(r.held.recs))
	r.mu.Unlock()
	for attempt := 0; ; {
		ok, err := r.retryHeld(ctx)
		if err != nil {
			return err
		}
		var (
			t     *time.Timer
			again <-chan time.Time
		)
		if ok {
			attempt = 0
		} else { // the sink is down: try again later, and on a signal
			t = time.NewTimer(r.backoff(attempt))
			again = t.C
			attempt++
		}
		select {
		case <-ctx.Done():
		case <-r.opt.Retry:
		case <-again:
		}
		if t != nil {
			t.Stop()
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// retryHeld offers every held record to the sink once, oldest first. It
// reports false when the sink was down (the pass stopped there).
func (r *Runner) retryHeld(ctx context.Context) (bool, error) {
	hs := r.Held()
	if len(hs) == 0 {
		return true, nil
	}
	done := map[string]bool{}
	ok := true
	for _, h := range hs {
		rec := journal.Record{Stream: h.Stream, Seq: h.Seq, Body: h.Body}
		ev, _, err := r.render(rec)
		if err == nil {
			err = r.s.Deliver(ctx, ev)
		} else {
			err = Permanent(err)
		}
		if ctx.Err() != nil {
			break
		}
		switch {
		case err == nil:
			r.opt.Metrics.Delivered(r.opt.Name)
			r.delivered.Add(1)
		case errors.Is(err, ErrUnmapped):
			continue
		case errors.Is(err, ErrPermanent):
			if err := r.deadLetter(ctx, rec, ev, err); err != nil {
				return false, err
			}
		default:
			r.opt.Metrics.Failed(r.opt.Name)
			r.failed.Add(1)
			ok = false
		}
		if !ok {
			break
		}
		done[h.Stream+"\x00"+strconv.FormatUint(h.Seq, 10)] = true
	}
	if len(done) > 0 {
		left, err := r.release(done)
		if err != nil {
			// Delivered but still listed: offered again on the next pass
			// (at least once, by the same id, as after a crash).
			r.log.Warn().Err(err).Msg("sinks: held records delivered but not yet released")
			return false, nil
		}
		r.log.Info().Int("released", len(done)).Int("held", left).Msg("sinks: held records delivered")
	}
	return ok, nil
}

// ForgetHeld drops the held records of a forgotten person (any of keys:
// their id or card hash) and reports how many it dropped. It is the one
// way a held record leaves without being delivered: the office asked for
// the person to be erased.
func (r *Runner) ForgetHeld(keys ...string) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.held.path == "" {
		return 0, nil
	}
	next := slices.DeleteFunc(slices.Clone(r.held.recs), func(h Held) bool { return slices.Contains(keys, h.Person) })
	n := len(r.held.recs) - len(next)
	if n == 0 {
		return 0, nil
	}
	if err := atomicfile.WriteFile(r.held.path, encodeHeld(next), 0o640); err != nil {
		return 0, fmt.Errorf("sinks: sink %q: forgetting held records: %w", r.opt.Name, err)
	}
	r.held.recs = next
	r.heldMetric(len(next))
	return n, nil
}
