package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/officegate/officegate/gateway/journal"
)

const journalStream = "bench"

// journalQueue is our journal with its default options: group commits of at
// most one fdatasync per 10 ms window, per-record acknowledgement, and
// deletion of whole segments once every record in them is acknowledged.
type journalQueue struct {
	j *journal.Journal
	r *journal.Reader
	// Owned by the reader goroutine.
	delivered []uint64
}

var _ queue = (*journalQueue)(nil)

func openJournal(dir string) (*journalQueue, error) {
	j, err := journal.Open(dir, &journal.Options{
		// Protected, so a full disk would refuse appends rather than shed them.
		Streams: []journal.Stream{{Name: journalStream, Priority: journal.PriorityRecord}},
	})
	if err != nil {
		return nil, err
	}
	r, err := j.Reader(journalStream)
	if err != nil {
		j.Close()
		return nil, err
	}
	return &journalQueue{j: j, r: r}, nil
}

func (q *journalQueue) Append(bodies [][]byte) error {
	// Never cancelled: an append whose context ends is of unknown outcome.
	_, err := q.j.AppendBatch(context.Background(), journalStream, bodies)
	return err
}

// ended is an ended context: Reader.Next with it returns a record only if one
// is already durable.
var ended = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

func (q *journalQueue) Next(ctx context.Context, max int, fn func([]byte) error) (int, error) {
	n := 0
	for n < max {
		rctx := ctx
		if n > 0 {
			rctx = ended
		}
		rec, err := q.r.Next(rctx)
		if err != nil {
			if rctx == ended && errors.Is(err, context.Canceled) {
				return n, nil // nothing more durable yet
			}
			return n, err
		}
		q.delivered = append(q.delivered, rec.Seq)
		n++
		if err := fn(rec.Body); err != nil {
			return n, fmt.Errorf("journal record %d: %w", rec.Seq, err)
		}
	}
	return n, nil
}

func (q *journalQueue) Ack() error {
	for _, seq := range q.delivered {
		if err := q.r.Ack(seq); err != nil {
			return err
		}
	}
	q.delivered = q.delivered[:0]
	return nil
}

// Counters come from the journal's own count of fdatasync and fsync calls,
// segment creation and cursor files included.
func (q *journalQueue) Counters() counters {
	st := q.j.Stats()
	return counters{Commits: st.Commits, Fsyncs: st.Fsyncs}
}

func (q *journalQueue) Close() error {
	q.r.Close()
	return q.j.Close()
}
