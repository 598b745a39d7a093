package connect

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/gateway/intake"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/metrics"
	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/gateway/sinks/all"
	"github.com/officegate/officegate/gateway/sinks/sinkops"
	"github.com/officegate/officegate/internal/backoff"
	"github.com/officegate/officegate/provisioning/admin"
	"github.com/officegate/officegate/provisioning/people"
)

// Sink is a destination connect delivers to, as a gateway's [[sinks]].
type Sink struct {
	Name     string         // its local journal consumer, metrics label and log field
	Kind     string         // a kind of gateway/sinks/all
	Streams  []string       // the streams it delivers (the gateway's names); none: every one
	Settings sinks.Settings // its kind's own settings
}

// Source brings the backbone's messages in.
type Source interface {
	// Run takes messages from the backbone until ctx ends, hands them to
	// ingest in the order it chose (doc.go, "Order"), and acknowledges a
	// message to the backbone only after an ingest that included it
	// returned nil. It returns nil when ctx ends.
	Run(ctx context.Context, ingest Ingest) error
}

// roleReporter is a source whose replicas elect the one that takes
// messages (JetStream's lease): it reports this replica's role to the
// metrics. Any other source is active while it runs.
type roleReporter interface {
	reportRole(active func(bool), takeover func())
}

// Ingest journals a batch of messages. Connect calls each message's Ack
// once every sink reading its stream has passed it (doc.go,
// "Acknowledgement"), and its Keep while it waits for that; Ingest
// returns once they are durable in the local journal (or duplicates of
// records that are). An error is the local side failing (the journal, the
// dedup store): connect stops.
type Ingest func(ctx context.Context, msgs []Message) error

// HeldDir is where the sinks keep the records they hold for people the
// directory does not map yet, under the state directory (gateway/sinks,
// "Held records"); officegate people held --config reads it.
const HeldDir = "held"

// Options configure Run.
type Options struct {
	StateDir string // the local journal ("journal"), dedup keys ("dedup"), held records, the person directory
	// Journal are the local journal's settings; its Streams and Consumers
	// are Run's.
	Journal     journal.Options
	DedupWindow time.Duration // how long an event id is remembered; default DefaultDedupWindow
	Source      Source
	Sinks       []Sink
	HTTP        string // /metrics and /healthz; "" none
	Socket      string // the admin socket (officegate sinks and people); "" none
	SocketGID   int    // its group; < 0 the process's
	Log         zerolog.Logger
	Now         func() time.Time // nil: time.Now
	// KeepEvery is how often a message waiting for the sinks is kept with
	// the backbone (Message.Keep); the source's AckWait / 3.
	KeepEvery time.Duration
	// Ready, if set, is called once everything runs.
	Ready func(*Connector)
}

// DefaultDedupWindow covers the outage the backbone is sized for
// ($MQTT_msgs holds about 8 days, docs/SCALING.md): a gateway that was cut
// off for a week and publishes again a message the backbone already had,
// or a message connect took and that comes back unacknowledged a week
// later, is still recognised.
const DefaultDedupWindow = 8 * 24 * time.Hour

// Connector is a running connect: the local journal, the deduplication
// and the sinks' runners.
type Connector struct {
	// Immutable.
	j       *journal.Journal
	dedup   *Dedup
	log     zerolog.Logger
	m       *metrics.Metrics
	cm      metrics.ConnectCounters
	now     func() time.Time
	runners []*sinks.Runner

	sinkStreams []sinkStreams       // each sink and the streams it reads
	read        map[string][]string // each stream and the sinks reading it

	mu sync.Mutex
	// Guarded by mu.
	last      map[string][2]uint64         // gateway/device → (boot, seq) of its last journaled event
	waiting   []waiting                    // acknowledgements waiting for the sinks (settle.go)
	inJournal map[[keySize]byte]journalPos // records not yet passed by every sink, by key
}

type sinkStreams struct {
	name    string
	streams []string
}

// Journal is the local journal (tests).
func (c *Connector) Journal() *journal.Journal { return c.j }

// Dedup is the deduplication store (tests).
func (c *Connector) Dedup() *Dedup { return c.dedup }

// Metrics is the registry /metrics serves.
func (c *Connector) Metrics() *metrics.Metrics { return c.m }

// Run runs connect until ctx ends: the local journal, the sinks from it,
// /metrics, the admin socket, then the source. It returns nil on
// cancellation.
func Run(ctx context.Context, o Options) error {
	if o.Source == nil || len(o.Sinks) == 0 {
		return errors.New("connect: a source and at least one sink are needed")
	}
	if o.DedupWindow == 0 {
		o.DedupWindow = DefaultDedupWindow
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.KeepEvery <= 0 {
		o.KeepEvery = DefaultAckWait / 3
	}
	if err := os.MkdirAll(o.StateDir, 0o750); err != nil {
		return fmt.Errorf("connect: state directory: %w", err)
	}
	c := &Connector{log: o.Log, m: metrics.New(nil), now: o.Now, last: map[string][2]uint64{}, inJournal: map[[keySize]byte]journalPos{}}
	var err error
	if c.cm, err = c.m.WatchConnect(); err != nil {
		return err
	}
	jo := o.Journal
	jo.Streams = append(intake.Streams(), sinks.DeadLetterStream)
	pub := published()
	var names []string
	for _, s := range o.Sinks {
		streams := s.Streams
		if len(streams) == 0 {
			streams = pub
		}
		for _, st := range streams {
			if !slices.Contains(pub, st) {
				return fmt.Errorf("connect: sink %q: stream %q is not one of %v", s.Name, st, pub)
			}
		}
		jo.Consumers = append(jo.Consumers, journal.Consumer{Name: s.Name, Streams: streams})
		names = append(names, s.Name)
		c.sinkStreams = append(c.sinkStreams, sinkStreams{s.Name, streams})
	}
	c.read = c.readers()
	jl := o.Log.With().Str("part", "journal").Logger()
	jo.Log, jo.OnSync = &jl, c.m.OnSync
	if jo.Now == nil {
		jo.Now = o.Now
	}
	if c.j, err = journal.Open(filepath.Join(o.StateDir, "journal"), &jo); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer c.j.Close()
	if err := c.m.WatchJournal(c.j); err != nil {
		return err
	}
	if err := c.m.WatchSinks(c.j, nil, names); err != nil {
		return err
	}
	if c.dedup, err = OpenDedup(filepath.Join(o.StateDir, "dedup"), o.DedupWindow, o.Now); err != nil {
		return err
	}
	defer c.dedup.Close()
	if err := c.recover(ctx); err != nil {
		return err
	}
	dir, err := people.Open(filepath.Join(o.StateDir, "people"), people.Options{})
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel(nil) // runs first: everything started below stops, then is waited for
	goFail := func(f func(ctx context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && ctx.Err() == nil {
				cancel(err)
			}
		}()
	}
	// The primary cursors are nobody's: connect's sinks read by their own
	// consumers; the primary one is moved along at once so that it never
	// holds a segment back.
	for _, st := range pub {
		rd, err := c.j.Reader(st)
		if err != nil {
			return fmt.Errorf("connect: %w", err)
		}
		goFail(func(ctx context.Context) error { return drain(ctx, rd) })
	}
	sl := o.Log.With().Str("part", "sinks").Logger()
	for i, s := range o.Sinks {
		sk, err := all.NewWith(s.Name, s.Kind, s.Settings, all.Deps{People: dir})
		if err != nil {
			c.closeRunners()
			return fmt.Errorf("connect: %w", err)
		}
		retry, stop := dir.Watch()
		r, err := sinks.New(c.j, sk, sinks.Options{Name: s.Name, Streams: jo.Consumers[i].Streams, Decode: Decode,
			Log: &sl, Metrics: c.m, HeldDir: filepath.Join(o.StateDir, HeldDir), Retry: retry, HoldAlarm: c.heldAlarm, Alarm: c.deadLetterAlarm})
		if err != nil {
			stop()
			if cl, ok := sk.(sinks.Closer); ok {
				cl.Close()
			}
			c.closeRunners()
			return err
		}
		c.runners = append(c.runners, r)
		goFail(func(ctx context.Context) error {
			defer stop()
			return r.Run(ctx)
		})
	}
	if o.HTTP != "" {
		health := &metrics.Health{}
		health.Add("journal", metrics.JournalCheck(c.j))
		ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", o.HTTP)
		if err != nil {
			return fmt.Errorf("connect: metrics: listen on %q: %w", o.HTTP, err)
		}
		h := metrics.Handler(c.m, health)
		goFail(func(ctx context.Context) error { return metrics.ServeListener(ctx, ln, h) })
	}
	if o.Socket != "" {
		ln, err := admin.Listen(o.Socket, o.SocketGID)
		if err != nil {
			return fmt.Errorf("connect: %w", err)
		}
		ops := sinkops.Ops{J: c.j, Runners: c.runners}
		deps := admin.Deps{Sinks: ops, People: dir, Forget: c.forgetter(jo.Streams), Log: o.Log}
		goFail(func(ctx context.Context) error { return admin.ServeCentral(ctx, ln, deps) })
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.settle(ctx, o.KeepEvery)
	}()
	if r, ok := o.Source.(roleReporter); ok {
		r.reportRole(c.cm.Active, c.cm.Takeover)
	} else {
		c.cm.Active(true)
	}
	goFail(func(ctx context.Context) error { return o.Source.Run(ctx, c.ingest) })
	c.log.Info().Int("sinks", len(o.Sinks)).Int("dedup_keys", c.dedup.Len()).Msg("officegate connect running")
	if o.Ready != nil {
		o.Ready(c)
	}
	<-ctx.Done()
	cancel(nil)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// forgetter erases a forgotten person beyond the directory: the sinks'
// held records of them; the journal keeps the rest until its retention
// passes (officegate people forget, as on a gateway).
func (c *Connector) forgetter(streams []journal.Stream) admin.Forgetter {
	return func(_ context.Context, keys []string) ([]admin.Erased, []string, error) {
		var (
			erased []admin.Erased
			errs   []error
		)
		for _, r := range c.runners {
			n, err := r.ForgetHeld(keys...)
			erased = append(erased, admin.Erased{Where: "sink " + r.Name() + " held records", Count: n})
			if err != nil {
				errs = append(errs, err)
			}
		}
		return erased, sinks.Remains(streams, intake.StreamControl, intake.StreamRecords, intake.StreamVisitors), errors.Join(errs...)
	}
}

func (c *Connector) closeRunners() {
	for _, r := range c.runners {
		r.Close()
	}
}

// published are the local journal's streams the sinks may read: the
// gateway's.
func published() []string {
	var out []string
	for _, s := range intake.Streams() {
		out = append(out, s.Name)
	}
	return out
}

// drain moves a primary cursor along as records come.
func drain(ctx context.Context, rd *journal.Reader) error {
	defer rd.Close()
	for {
		rec, err := rd.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("connect: %w", err)
		}
		if err := rd.Ack(rec.Seq); err != nil {
			return fmt.Errorf("connect: %w", err)
		}
	}
}

// recover records in the dedup store the keys of every record still in
// the local journal: a kill between a record's append and its key's write
// leaves a record whose key only the journal knows (doc.go,
// "Deduplication").
func (c *Connector) recover(ctx context.Context) error {
	var keys [][keySize]byte
	cur := c.cursors()
	for _, st := range published() {
		err := c.j.Replay(ctx, st, func(rec journal.Record) error {
			var r Record
			if recDec.Unmarshal(rec.Body, &r) != nil {
				return nil // dead-lettered by the sinks
			}
			k := r.key()
			if !c.dedup.Seen(k) {
				keys = append(keys, k)
			}
			if rec.Seq > cur[st] && len(c.read[st]) > 0 {
				c.inJournal[k] = journalPos{st, rec.Seq}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("connect: recover dedup keys from the journal: %w", err)
		}
	}
	if len(keys) > 0 {
		c.log.Info().Int("keys", len(keys)).Msg("connect: journaled records whose dedup keys were not yet recorded, recorded")
	}
	return c.dedup.Add(keys)
}

// key is the dedup key of a journaled record.
func (r *Record) key() [keySize]byte {
	if r.Bad != "" {
		return badKey(r.Topic, r.Payload)
	}
	return Key(r.Type, r.Gateway, r.ID)
}

// maxCommit bounds one local append: well under the journal's largest
// commit (1 MiB by default).
const maxCommit = 512 << 10

// ingest journals the messages of a batch not seen before, in the order
// given, records their keys, and hands their acknowledgements to settle,
// which makes them once the sinks have passed them (doc.go,
// "Acknowledgement"). A duplicate of a record still in the journal waits
// for that record; any other duplicate, and a message no sink reads, is
// acknowledged at once.
func (c *Connector) ingest(ctx context.Context, msgs []Message) error {
	var (
		entries []journal.Entry
		owners  []int // per entry: its message
		keys    [][keySize]byte
		first   = map[[keySize]byte]int{} // key → the message of the batch journaling it
		ws      []waiting
		now     []func()
		seqs    = make([]uint64, len(msgs))
		size    int
		late    int      // events after a later one of their device
		lateEx  *Message // the first of them
	)
	keepAll := func() {
		for _, m := range msgs {
			if m.Keep != nil {
				m.Keep()
			}
		}
	}
	flush := func() error {
		if len(entries) == 0 {
			return nil
		}
		for attempt := 0; ; attempt++ {
			got, err := c.j.AppendEntries(ctx, entries)
			if err == nil {
				for i, seq := range got {
					seqs[owners[i]] = seq
				}
				break
			}
			if !errors.Is(err, journal.ErrFull) {
				return fmt.Errorf("connect: journal: %w", err)
			}
			// The sinks have fallen behind by the journal's cap: wait for
			// them, holding the batch (the backbone keeps the rest).
			if attempt == 0 {
				c.log.Error().Err(err).Msg("connect: the local journal is full: intake waits for the sinks")
			}
			keepAll()
			d := backoff.Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second}.Delay(attempt, rand.Float64())
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
			}
		}
		entries, owners, size = entries[:0], owners[:0], 0
		return nil
	}
	type dup struct{ msg, of int }
	var dups []dup
	for i := range msgs {
		m := &msgs[i]
		c.cm.Received()
		if m.Bad != "" {
			m.Key = badKey(m.Topic, m.Payload)
		}
		if len(c.read[m.Stream]) == 0 {
			now = append(now, m.Ack) // no sink takes this stream
			continue
		}
		if o, ok := first[m.Key]; ok {
			c.cm.Duplicate()
			dups = append(dups, dup{i, o})
			continue
		}
		if c.dedup.Seen(m.Key) {
			c.cm.Duplicate()
			c.mu.Lock()
			pos, pending := c.inJournal[m.Key]
			c.mu.Unlock()
			if pending {
				ws = append(ws, waiting{stream: pos.stream, seq: pos.seq, key: m.Key, ack: m.Ack, keep: m.Keep})
			} else {
				now = append(now, m.Ack)
			}
			continue
		}
		first[m.Key] = i
		body, err := EncodeRecord(&m.Record)
		if err != nil {
			return fmt.Errorf("connect: encode %s: %w", m.Topic, err)
		}
		if size+len(body) > maxCommit {
			if err := flush(); err != nil {
				return err
			}
		}
		if c.order(m) {
			c.cm.Reordered()
			if late++; late == 1 {
				lateEx = m
			}
		}
		entries, owners, size = append(entries, journal.Entry{Stream: m.Stream, Body: body}), append(owners, i), size+len(body)
		keys = append(keys, m.Key)
	}
	if err := flush(); err != nil {
		return err
	}
	if late > 0 {
		c.log.Warn().Int("events", late).Str("gateway", lateEx.Gateway).Str("device", lateEx.Device).Uint32("boot", lateEx.Boot).
			Uint64("seq", lateEx.Seq).Str("id", lateEx.ID).
			Msg("connect: events came after later ones of their devices (a backbone redelivery, or another replica's): journaled, out of device order; the first is named")
	}
	if err := c.dedup.Add(keys); err != nil {
		return err
	}
	for _, i := range first {
		m := &msgs[i]
		ws = append(ws, waiting{stream: m.Stream, seq: seqs[i], key: m.Key, ack: m.Ack, keep: m.Keep})
	}
	for _, d := range dups {
		o, m := &msgs[d.of], &msgs[d.msg]
		ws = append(ws, waiting{stream: o.Stream, seq: seqs[d.of], key: o.Key, ack: m.Ack, keep: m.Keep})
	}
	c.wait(ws)
	for _, f := range now {
		if f != nil {
			f()
		}
	}
	return nil
}

// badKey dedups an unreadable message by its bytes: the same one sent
// again is dead-lettered once.
func badKey(topic string, payload []byte) [keySize]byte {
	return Key("bad", topic, string(payload))
}

// order tells whether an event comes after a later one of its device
// (doc.go, "Order"): counted and logged by ingest, once per batch.
func (c *Connector) order(m *Message) (late bool) {
	if m.Device == "" || m.Type == "result" || m.Bad != "" {
		return false
	}
	dev := m.Gateway + "/" + m.Device
	cur := [2]uint64{uint64(m.Boot), m.Seq}
	c.mu.Lock()
	defer c.mu.Unlock()
	last, ok := c.last[dev]
	if !ok || cur[0] > last[0] || cur[0] == last[0] && cur[1] > last[1] {
		c.last[dev] = cur
		return false
	}
	return true
}
