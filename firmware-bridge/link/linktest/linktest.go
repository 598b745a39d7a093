// Package linktest fakes what the gateway gives the link: an in-memory journal.
// It is both link.Sink and link.Store, with knobs for back-pressure and a
// lagging high-water mark.
package linktest

import (
	"context"
	"fmt"
	"sync"

	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

var (
	_ link.Sink  = (*Journal)(nil)
	_ link.Store = (*Journal)(nil)
)

// Journal keeps every committed record in memory. Its Mark is exact (the
// highest event committed) unless Lag is set. Safe for concurrent use; a
// Journal may be shared by several Gateways in turn to model restarts.
type Journal struct {
	mu sync.Mutex
	// Guarded by mu.
	recs    []link.Record
	marks   map[string]link.Mark
	changed chan struct{}

	// Busy, if set, is asked before each commit; true refuses it with
	// link.ErrBusy. Set it before use, or guard it yourself.
	Busy func(link.Record) bool
	// Lag, if set, makes Mark return a high-water mark that many events of
	// the same boot lower than the truth (never below zero): a lazily
	// persisted mark, which the link must tolerate.
	Lag uint32
}

// Commit stores rec.
func (j *Journal) Commit(ctx context.Context, rec link.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if j.Busy != nil && j.Busy(rec) {
		return fmt.Errorf("linktest: journal full: %w", link.ErrBusy)
	}
	return j.commitNoBusy(ctx, rec)
}

// CommitBatch implements link.BatchSink: all or nothing, like a journal
// commit. Busy refuses the whole batch if it refuses any record of it.
func (j *Journal) CommitBatch(ctx context.Context, recs []link.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, rec := range recs {
		if j.Busy != nil && j.Busy(rec) {
			return fmt.Errorf("linktest: journal full: %w", link.ErrBusy)
		}
	}
	for _, rec := range recs {
		if err := j.commitNoBusy(ctx, rec); err != nil {
			return err
		}
	}
	return nil
}

func (j *Journal) commitNoBusy(ctx context.Context, rec link.Record) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.init()
	j.recs = append(j.recs, rec)
	if rec.Kind == link.RecordEvent {
		m := j.marks[rec.HardwareID]
		if id := rec.Event.ID; id.Boot > m.HighWater.Boot || id.Boot == m.HighWater.Boot && id.Seq > m.HighWater.Seq {
			m.HighWater = id
		}
		m.Boot = max(m.Boot, rec.Event.ID.Boot)
		j.marks[rec.HardwareID] = m
	}
	j.notify()
	return nil
}

var _ link.BatchSink = (*Journal)(nil)

// Mark returns the high-water mark of hardwareID, minus Lag.
func (j *Journal) Mark(ctx context.Context, hardwareID string) (link.Mark, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.init()
	m := j.marks[hardwareID]
	if j.Lag > 0 {
		m.HighWater.Seq -= min(j.Lag, m.HighWater.Seq)
		if m.HighWater.Seq == 0 {
			m.HighWater = msg.EventID{}
		}
	}
	return m, nil
}

// SaveBoot records a boot id.
func (j *Journal) SaveBoot(ctx context.Context, hardwareID string, boot uint32) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.init()
	m := j.marks[hardwareID]
	m.Boot = max(m.Boot, boot)
	j.marks[hardwareID] = m
	return nil
}

func (j *Journal) init() {
	if j.marks == nil {
		j.marks = make(map[string]link.Mark)
		j.changed = make(chan struct{})
	}
}

func (j *Journal) notify() {
	close(j.changed)
	j.changed = make(chan struct{})
}

// Records returns a copy of everything committed, in commit order.
func (j *Journal) Records() []link.Record {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]link.Record(nil), j.recs...)
}

// Events returns the committed events in commit order.
func (j *Journal) Events() []msg.Event {
	var out []msg.Event
	for _, r := range j.Records() {
		if r.Kind == link.RecordEvent {
			out = append(out, *r.Event)
		}
	}
	return out
}

// Results returns the committed results in commit order.
func (j *Journal) Results() []link.Record {
	var out []link.Record
	for _, r := range j.Records() {
		if r.Kind == link.RecordResult {
			out = append(out, r)
		}
	}
	return out
}

// WaitFor blocks until cond holds for the records, or ctx is done.
func (j *Journal) WaitFor(ctx context.Context, cond func([]link.Record) bool) error {
	for {
		j.mu.Lock()
		j.init()
		recs := j.recs
		ch := j.changed
		j.mu.Unlock()
		if cond(recs) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("linktest: %w (%d records)", ctx.Err(), len(recs))
		case <-ch:
		}
	}
}

// CountEvents returns how many of recs are events.
func CountEvents(recs []link.Record) int {
	n := 0
	for _, r := range recs {
		if r.Kind == link.RecordEvent {
			n++
		}
	}
	return n
}
