// Package intake owns the step from a device link to the journal. It turns what
// a device reports into envelopes, makes them durable before the link
// acknowledges them to the device, and keeps the per-device event high-water
// marks the link resumes from, durable in the same commit as the events
// (firmware-bridge/PROTOCOL.md §6.4; marks.go).
package intake

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/linkdev"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/journal"
)

// The journal streams the gateway uses, most important first.
const (
	StreamControl    = "control"    // device lifecycle and alarms
	StreamResults    = "results"    // command results (gateway/commands)
	StreamRecords    = "attendance" // attendance punches, credential reads
	StreamVisitors   = "visitors"   // visitor check-ins, badges, doors: own stream for privacy retention
	StreamTelemetry  = "rooms"      // room occupancy, buttons, other telemetry
	StreamDiagnostic = "diag"       // diagnostics
)

// StreamMarks is the journal stream of device high-water marks (marks.go):
// the intake's own, never published, never given a retention age.
const StreamMarks = "marks"

// JournalStreams is the stream table of a journal the intake writes to:
// Streams and StreamMarks.
func JournalStreams() []journal.Stream {
	return append(Streams(), journal.Stream{Name: StreamMarks, Priority: journal.PriorityControl})
}

// Streams is the gateway's table of published streams, most important first;
// retention (MaxAge) is filled in from the configuration.
func Streams() []journal.Stream {
	return []journal.Stream{
		{Name: StreamControl, Priority: journal.PriorityControl},
		{Name: StreamResults, Priority: journal.PriorityControl}, // Keep: set by the daemon from commands.Keep
		{Name: StreamRecords, Priority: journal.PriorityRecord},
		{Name: StreamVisitors, Priority: journal.PriorityRecord},
		{Name: StreamTelemetry, Priority: journal.PriorityTelemetry},
		{Name: StreamDiagnostic, Priority: journal.PriorityDiagnostics},
	}
}

// StreamFor picks the journal stream for an event type: what payroll and the
// front desk depend on is never shed, telemetry may be when the disk is full.
func StreamFor(eventType string) string {
	switch {
	case strings.HasPrefix(eventType, "device."), strings.HasPrefix(eventType, "console."):
		return StreamControl
	case strings.HasPrefix(eventType, "attendance."), strings.HasPrefix(eventType, "credential."):
		return StreamRecords
	case strings.HasPrefix(eventType, "visitor."), strings.HasPrefix(eventType, "badge."), strings.HasPrefix(eventType, "door."),
		strings.HasPrefix(eventType, "kiosk."):
		return StreamVisitors
	case strings.HasPrefix(eventType, "diag."):
		return StreamDiagnostic
	}
	return StreamTelemetry
}

// EventType names a device's event on the wire (linkdev.EventType).
func EventType(kind msg.Kind, event string) string { return linkdev.EventType(kind, event) }

// Options configure an Intake.
type Options struct {
	Gateway  string
	Location *time.Location // the office's zone, for device times; default UTC
	Now      func() time.Time
	Log      *zerolog.Logger
	// MarksEvery is how often the high-water marks are checkpointed to the
	// marks file, which lets the journal drop the mark records it covers;
	// default 1 s. The marks themselves are durable with every commit.
	MarksEvery time.Duration
	// OnEvent, if set, is told of each event made durable (metrics, status).
	OnEvent func(device string, at time.Time)
	// Observe, if set, is given each event from a device link once it is
	// durable (a room driver acting on its panel's buttons). It runs on the
	// link's commit path: while it blocks, the device's next events wait
	// (unacknowledged, in the device's memory).
	Observe func(device, typ string, data map[string]any, at time.Time)
	// Tap, if set, is given the bodies of each append once durable (the
	// web console's live view). It runs on the commit path: it must not
	// block.
	Tap func(bodies [][]byte)
	// CardKey is the site's card key: card numbers in terminal punches are
	// published as card_hash under it. nil: in clear.
	CardKey []byte
	// ClockThreshold: an event whose device time is further than this
	// after its arrival is flagged drifted, whatever the last sync said;
	// default 1 s (the link's step threshold).
	ClockThreshold time.Duration
}

// Intake implements link.Sink and link.Store on the journal.
type Intake struct {
	// Immutable.
	j    *journal.Journal
	opt  Options
	log  zerolog.Logger
	path string

	mu sync.Mutex
	// Guarded by mu.
	marks map[string]link.Mark
	dirty bool
}

var (
	_ link.BatchSink = (*Intake)(nil)
	_ link.Store     = (*Intake)(nil)
	_ linkdev.Sink   = (*Intake)(nil) // link devices run with the intake as their sink, as drivers do
)

// New loads the high-water marks: the checkpoint in dir (beside the journal),
// raised by the mark records the journal holds after it. The journal must
// have been opened with JournalStreams.
func New(j *journal.Journal, dir string, o Options) (*Intake, error) {
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MarksEvery == 0 {
		o.MarksEvery = time.Second
	}
	if o.ClockThreshold == 0 {
		o.ClockThreshold = time.Second
	}
	in := &Intake{j: j, opt: o, path: filepath.Join(dir, "marks"), marks: map[string]link.Mark{}}
	in.log = zerolog.Nop()
	if o.Log != nil {
		in.log = *o.Log
	}
	m, err := loadMarks(in.path)
	if err != nil {
		// Devices resend what the journal has (duplicates consumers drop);
		// one whose store overflowed meanwhile is not noticed until its next
		// gap. Log, go on.
		in.log.Warn().Err(err).Msg("intake: high-water marks file unusable; devices will resend what they hold")
	}
	if m != nil {
		in.marks = m
	}
	r, err := j.Reader(StreamMarks)
	if err != nil {
		return nil, fmt.Errorf("intake: the journal's marks stream: %w", err)
	}
	defer r.Close()
	if _, err := in.catchUp(r); err != nil {
		return nil, err
	}
	return in, nil
}

// catchUp raises the marks by every mark record r has durable now, and
// returns their sequence numbers.
func (in *Intake) catchUp(r *journal.Reader) ([]uint64, error) {
	now, cancel := context.WithCancel(context.Background())
	cancel() // Next then returns what is durable, and no more
	var seqs []uint64
	for {
		rec, err := r.Next(now)
		if errors.Is(err, context.Canceled) {
			return seqs, nil
		}
		if err != nil {
			return seqs, fmt.Errorf("intake: read the marks stream: %w", err)
		}
		seqs = append(seqs, rec.Seq)
		mr, err := decodeMarkRecord(rec.Body)
		if err != nil {
			in.log.Warn().Err(err).Uint64("record", rec.Seq).Msg("intake: unreadable mark record skipped")
			continue
		}
		in.raise(mr.HW, msg.EventID{Boot: mr.Boot, Seq: mr.Seq})
	}
}

// raise moves hw's high-water mark up to id (never down).
func (in *Intake) raise(hw string, id msg.EventID) {
	in.mu.Lock()
	defer in.mu.Unlock()
	m := in.marks[hw]
	if eventAfter(id, m.HighWater) {
		m.HighWater = id
		m.Boot = max(m.Boot, id.Boot)
		in.marks[hw] = m
		in.dirty = true
	}
}

// Mark implements link.Store.
func (in *Intake) Mark(_ context.Context, hw string) (link.Mark, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.marks[hw], nil
}

// SaveBoot implements link.Store.
func (in *Intake) SaveBoot(_ context.Context, hw string, boot uint32) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	m := in.marks[hw]
	if boot > m.Boot {
		m.Boot = boot
		in.marks[hw] = m
		in.dirty = true
	}
	return nil
}

// Commit implements link.Sink: it returns nil only once rec is durable.
func (in *Intake) Commit(ctx context.Context, rec link.Record) error {
	var (
		entries []journal.Entry
		err     error
	)
	switch rec.Kind {
	case link.RecordEvent:
		entries, err = in.event(rec)
	case link.RecordResult:
		// The device's answer to a command: durable now so the device may
		// forget it; published by the command processor, which also journals
		// it as the command's one result.
		entries, err = in.deviceResult(rec)
	case link.RecordMalformed:
		in.log.Warn().Str("device", rec.DeviceID).Str("type", rec.Type.String()).Str("error", rec.Err).
			Int("bytes", len(rec.Body)).Msg("intake: device sent a malformed body; acknowledged and dropped")
		return nil
	default:
		return fmt.Errorf("intake: unknown record kind %d from %q", rec.Kind, rec.DeviceID)
	}
	if err != nil {
		return err
	}
	if rec.Kind == link.RecordEvent {
		marks, err := markEntries([]link.Record{rec})
		if err != nil {
			return err
		}
		entries = append(entries, marks...)
	}
	if _, err := in.j.AppendEntries(ctx, entries); err != nil {
		if errors.Is(err, journal.ErrFull) {
			return fmt.Errorf("%w: %w", link.ErrBusy, err)
		}
		return err
	}
	in.tap(entries)
	if rec.Kind == link.RecordEvent {
		in.advance(rec)
	}
	return nil
}

// CommitBatch implements link.BatchSink: a device's waiting events, durable
// together in one journal commit (across streams), or not at all.
func (in *Intake) CommitBatch(ctx context.Context, recs []link.Record) error {
	entries := make([]journal.Entry, 0, len(recs)+1) // each event's, and the device's mark
	for _, rec := range recs {
		if rec.Kind != link.RecordEvent {
			return fmt.Errorf("intake: a batch holds a record of kind %d from %q; only events are batched", rec.Kind, rec.DeviceID)
		}
		var err error
		if entries, err = in.appendEvent(entries, rec); err != nil {
			return err
		}
	}
	entries, err := appendMarkEntries(entries, recs)
	if err != nil {
		return err
	}
	if _, err := in.j.AppendEntries(ctx, entries); err != nil {
		if errors.Is(err, journal.ErrFull) {
			return fmt.Errorf("%w: %w", link.ErrBusy, err)
		}
		return err
	}
	in.tap(entries)
	for _, rec := range recs {
		in.advance(rec)
	}
	return nil
}

// tap hands durable entries to Options.Tap.
func (in *Intake) tap(entries []journal.Entry) {
	if in.opt.Tap == nil {
		return
	}
	bodies := make([][]byte, 0, len(entries))
	for _, e := range entries {
		if e.Stream != StreamMarks {
			bodies = append(bodies, e.Body)
		}
	}
	in.opt.Tap(bodies)
}

// advance moves a device's high-water mark past a durable event.
func (in *Intake) advance(rec link.Record) {
	in.raise(rec.HardwareID, rec.Event.ID)
	if in.opt.OnEvent != nil {
		in.opt.OnEvent(rec.DeviceID, rec.Received)
	}
	if in.opt.Observe != nil {
		in.opt.Observe(rec.DeviceID, EventType(rec.DeviceKind, rec.Event.Kind), rec.Event.Data, rec.Received)
	}
}

// event builds the journal entries of a link record's event: the record
// made devices.Events by linkdev, through the one envelope builder.
func (in *Intake) event(rec link.Record) ([]journal.Entry, error) {
	return in.appendEvent(nil, rec)
}

// appendEvent appends the journal entries of rec's event (event) to dst.
func (in *Intake) appendEvent(dst []journal.Entry, rec link.Record) ([]journal.Entry, error) {
	var buf [2]linkdev.Event // a note and the event at most
	for _, ev := range linkdev.AppendEvents(buf[:0], rec) {
		var err error
		if dst, err = in.appendBuilt(dst, arrival{Event: ev, link: true}); err != nil {
			return nil, fmt.Errorf("intake: event %v from %q: %w", rec.Event.ID, rec.DeviceID, err)
		}
	}
	return dst, nil
}

func (in *Intake) deviceResult(rec link.Record) ([]journal.Entry, error) {
	r := rec.Result
	clean, _ := devices.Redact(r.Data)
	data, err := envelope.EncodeData(clean)
	if err != nil {
		return nil, fmt.Errorf("intake: result %q from %q: %w", r.ID, rec.DeviceID, err)
	}
	m := &envelope.Marker{Command: r.ID, Device: rec.DeviceID, Result: &envelope.Result{
		V: envelope.Version, ID: r.ID, Gateway: in.opt.Gateway, Device: rec.DeviceID,
		Status: r.Status.String(), Error: r.Error, Time: envelope.StampOf(rec.Received.UTC()), Data: data,
	}}
	b, err := (&envelope.Outbound{Marker: m}).Encode()
	return []journal.Entry{{Stream: StreamResults, Body: b}}, err
}

// Run checkpoints the high-water marks every MarksEvery until ctx ends, and
// once more then: it reads the mark records committed since the last round,
// saves the marks file, and only then acknowledges those records to the
// journal, which may then drop them. Run must end before the journal closes.
func (in *Intake) Run(ctx context.Context) error {
	r, err := in.j.Reader(StreamMarks)
	if err != nil {
		return fmt.Errorf("intake: the journal's marks stream: %w", err)
	}
	defer r.Close()
	t := time.NewTicker(in.opt.MarksEvery)
	defer t.Stop()
	var (
		read    []uint64 // mark records read, not yet acknowledged
		failing bool     // logged once per spell (a full disk fails every round)
	)
	for {
		select {
		case <-ctx.Done():
			_, err := in.checkpoint(r, read)
			return err
		case <-t.C:
			read, err = in.checkpoint(r, read)
			switch {
			case err != nil && !failing:
				in.log.Warn().Err(err).Int("records_held", len(read)).
					Msg("intake: could not checkpoint high-water marks; the journal keeps their records meanwhile (will retry)")
			case err == nil && failing:
				in.log.Info().Msg("intake: high-water marks checkpointed again")
			}
			failing = err != nil
		}
	}
}

// checkpoint reads the new mark records, saves the marks file, and then
// acknowledges every record the file now covers; it returns those it could
// not acknowledge yet.
func (in *Intake) checkpoint(r *journal.Reader, read []uint64) ([]uint64, error) {
	seqs, err := in.catchUp(r)
	read = append(read, seqs...)
	if err != nil {
		return read, err
	}
	if err := in.save(); err != nil {
		return read, err
	}
	for i, seq := range read {
		if err := r.Ack(seq); err != nil {
			return read[i:], fmt.Errorf("intake: acknowledge mark record %d: %w", seq, err)
		}
	}
	return nil, nil
}

func (in *Intake) save() error {
	in.mu.Lock()
	if !in.dirty {
		in.mu.Unlock()
		return nil
	}
	snap := make(map[string]link.Mark, len(in.marks))
	for k, v := range in.marks {
		snap[k] = v
	}
	in.dirty = false
	in.mu.Unlock()
	if err := saveMarks(in.path, snap); err != nil {
		in.mu.Lock()
		in.dirty = true
		in.mu.Unlock()
		return err
	}
	return nil
}
