package link

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

// workerDepth bounds the jobs between the session loop and the worker: a
// window of at most 16 frames, a HELLO lookup, and synthesized results. The
// loop counts what it handed over and never sends into a full queue (the
// queue holds batches of at least one job, so never more than workerDepth).
const workerDepth = 64

type jobKind int

const (
	jobHello  jobKind = iota + 1 // look the device up: Directory, Store
	jobRecord                    // commit rec
	jobNote                      // nothing to store: keeps the frame's place in the device's order
)

// job is one unit of work for the worker. Jobs from the device's stream
// carry the sequence number and generation they were accepted in.
type job struct {
	kind jobKind
	gen  uint64
	seq  uint32 // 0 for records the gateway made itself

	hello *msg.Hello
	raw   frame.Frame // the HELLO frame, for its tag

	rec  Record
	note msg.Message // CONFIG_STATUS, FW_STATUS: acted on once delivered in order
}

type report struct {
	job     *job
	err     error // from the Sink, Directory or Store
	dup     bool  // at or below the high-water mark, or a result already committed
	skipped bool  // not attempted: an earlier job of its generation was refused
	ident   Identity
	mark    Mark
}

// worker runs the only calls that may block on the disk: Directory, Store
// and Sink. It processes jobs in order, so it alone decides what is a
// duplicate, exactly. Its goroutine runs only while there are jobs: flushJobs
// starts it and it ends when the queue is empty, so an idle link costs no
// goroutine for it (docs/PERFORMANCE.md, Memory). At most one runs at a time.
type worker struct {
	g    *Gateway
	ctx  context.Context // the Run's
	wg   *sync.WaitGroup // the Run waits on it for the running goroutine
	jobs chan []*job     // the jobs of one turn of the session, in order

	running bool // guarded by g.mu: a goroutine runs run; only it clears this
	stopped bool // guarded by g.mu: the Run is ending; no goroutine starts

	// Owned by the running goroutine; handed from one to the next through
	// g.mu (running).
	q         []*job // received and not yet run, in order
	failed    bool   // a job of generation failedGen was refused
	failedGen uint64
}

// start runs the worker's goroutine unless it runs; called with g.mu held,
// after jobs were queued.
func (w *worker) start() {
	if w.running || w.stopped {
		return
	}
	w.running = true
	w.wg.Add(1)
	go func() { defer w.wg.Done(); w.run(w.ctx) }()
}

// take returns the next job; nil when there is none (the goroutine ends,
// and start runs it again for the next batch) or ctx is done.
func (w *worker) take(ctx context.Context) *job {
	if ctx.Err() != nil {
		return nil
	}
	if len(w.q) == 0 {
		select {
		case w.q = <-w.jobs:
		default:
			// Checked again under g.mu, which flushJobs holds to queue and
			// to start: a batch is either taken here or starts a goroutine.
			w.g.mu.Lock()
			select {
			case w.q = <-w.jobs:
			default:
				// Nothing of the worker's may be touched after this: the
				// next goroutine may be running.
				w.running = false
				w.g.mu.Unlock()
				return nil
			}
			w.g.mu.Unlock()
		}
	}
	j := w.q[0]
	w.q = w.q[1:]
	return j
}

// peek returns the next job if one is there, without taking it.
func (w *worker) peek() *job {
	if len(w.q) == 0 {
		select {
		case w.q = <-w.jobs:
		default:
			return nil
		}
	}
	return w.q[0]
}

// maxBatch bounds one CommitBatch: a device window is at most 16 frames.
const maxBatch = 16

func (w *worker) run(ctx context.Context) {
	bs, batching := w.g.sink.(BatchSink)
	for {
		j := w.take(ctx)
		if j == nil {
			return
		}
		if batching && isEvent(j) && !(j.seq != 0 && w.failed && j.gen == w.failedGen) {
			batch := w.gather(j)
			rs := w.commitBatch(ctx, bs, batch)
			for _, r := range rs {
				if r.err != nil && r.job.seq != 0 {
					w.failed, w.failedGen = true, r.job.gen
				}
			}
			w.g.onReports(w, rs)
			continue
		}
		r := report{job: j}
		switch {
		case j.seq != 0 && w.failed && j.gen == w.failedGen:
			// An earlier frame of this generation was refused: delivery is in
			// order, so this one must wait for the retransmission too.
			r.skipped = true
		case j.kind == jobHello:
			r.ident, r.mark, r.err = w.lookup(ctx, j.hello)
		case j.kind == jobRecord:
			r.dup, r.err = w.commit(ctx, j)
			if r.err != nil && j.seq != 0 {
				w.failed, w.failedGen = true, j.gen
			}
		}
		w.g.onReports(w, []report{r})
	}
}

func (w *worker) lookup(ctx context.Context, h *msg.Hello) (Identity, Mark, error) {
	g := w.g
	id := Identity{Enrollment: Enrolled, DeviceID: h.HardwareID}
	if g.dir != nil {
		var err error
		if id, err = g.dir.Lookup(ctx, h); err != nil {
			return id, Mark{}, err
		}
		if id.DeviceID == "" {
			id.DeviceID = h.HardwareID
		}
	}
	if id.Enrollment == Keying && len(h.EnrollPub) == msg.EnrollKeyLen {
		ks, ok := g.dir.(KeyStore)
		if !ok {
			return id, Mark{}, errNoKeyStore
		}
		offer, err := offerKey(ctx, ks, h, id.Key)
		if err != nil {
			return id, Mark{}, err
		}
		id.offer = offer
	}
	if id.Enrollment != Enrolled {
		return id, Mark{}, nil
	}
	m := g.marks[h.HardwareID]
	if m == nil {
		m = new(Mark)
		if g.store != nil {
			stored, err := g.store.Mark(ctx, h.HardwareID)
			if err != nil {
				return id, Mark{}, err
			}
			*m = stored
		}
		g.marks[h.HardwareID] = m
	}
	if h.Boot > m.Boot {
		if g.store != nil {
			if err := g.store.SaveBoot(ctx, h.HardwareID, h.Boot); err != nil {
				return id, Mark{}, err
			}
		}
		// The regression check compares with the boot before this HELLO.
		prev := *m
		m.Boot = h.Boot
		return id, prev, nil
	}
	return id, *m, nil
}

// commit stores one record unless it is a duplicate. The high-water mark
// moves only after the Sink said the event is durable.
func (w *worker) commit(ctx context.Context, j *job) (dup bool, err error) {
	g := w.g
	rec := j.rec
	m := g.marks[rec.HardwareID]
	if m == nil {
		m = new(Mark)
		g.marks[rec.HardwareID] = m
	}
	switch rec.Kind {
	case RecordEvent:
		id := rec.Event.ID
		if !eventAfter(id, m.HighWater) {
			return true, nil
		}
		if id.Boot == m.HighWater.Boot && id.Seq > m.HighWater.Seq+1 {
			rec.Missing = id.Seq - m.HighWater.Seq - 1
		}
	case RecordResult:
		if g.committed.has(rec.Result.ID) {
			return true, nil
		}
	}
	if err := g.sink.Commit(ctx, rec); err != nil {
		return false, err
	}
	switch rec.Kind {
	case RecordEvent:
		m.HighWater = rec.Event.ID
	case RecordResult:
		g.committed.add(rec.Result.ID)
	}
	return false, nil
}

func isEvent(j *job) bool { return j.kind == jobRecord && j.rec.Kind == RecordEvent }

// gather takes the event jobs of j's generation that are already queued, in
// order, up to the first job of another kind.
func (w *worker) gather(j *job) []*job {
	batch := []*job{j}
	for len(batch) < maxBatch {
		nj := w.peek()
		if nj == nil || !isEvent(nj) || nj.gen != j.gen {
			break
		}
		w.q = w.q[1:]
		batch = append(batch, nj)
	}
	return batch
}

// commitBatch is commit for several events: duplicates and gaps are judged
// in order against a running mark, the rest is committed at once, and the
// mark moves only when the Sink said all of it is durable. On failure the
// first committed job carries the error and the others are skipped, exactly
// as one-by-one commits would have left them.
func (w *worker) commitBatch(ctx context.Context, bs BatchSink, jobs []*job) []report {
	g := w.g
	reports := make([]report, len(jobs))
	// Sized for the batch: a Record is large, and appending one by one
	// copied the batch over as it grew.
	recs := make([]Record, 0, len(jobs))
	included := make([]int, 0, len(jobs))
	// The running mark of each hardware id in the batch: one, but for a
	// batch that spans a new session's HELLO; a list, not a map.
	type mark struct {
		hw string
		id msg.EventID
	}
	var runBuf [2]mark
	running := runBuf[:0]
	for i, j := range jobs {
		reports[i].job = j
		rec := j.rec
		m := g.marks[rec.HardwareID]
		if m == nil {
			m = new(Mark)
			g.marks[rec.HardwareID] = m
		}
		r := -1
		for k := range running {
			if running[k].hw == rec.HardwareID {
				r = k
			}
		}
		hw := m.HighWater
		if r >= 0 {
			hw = running[r].id
		}
		id := rec.Event.ID
		if !eventAfter(id, hw) {
			reports[i].dup = true
			continue
		}
		if id.Boot == hw.Boot && id.Seq > hw.Seq+1 {
			rec.Missing = id.Seq - hw.Seq - 1
		}
		if r >= 0 {
			running[r].id = id
		} else {
			running = append(running, mark{rec.HardwareID, id})
		}
		recs = append(recs, rec)
		included = append(included, i)
	}
	if len(recs) == 0 {
		return reports
	}
	if err := bs.CommitBatch(ctx, recs); err != nil {
		first := included[0]
		reports[first].err = err
		for i := first + 1; i < len(reports); i++ {
			reports[i].dup, reports[i].skipped = false, true
		}
		return reports
	}
	for _, r := range running {
		g.marks[r.hw].HighWater = r.id
	}
	return reports
}

// eventAfter reports whether a comes after b, lexicographically on
// [boot, n] (PROTOCOL.md §6.4).
func eventAfter(a, b msg.EventID) bool {
	return a.Boot > b.Boot || a.Boot == b.Boot && a.Seq > b.Seq
}

// idSet remembers the last n strings added; a bounded set of command ids.
type idSet struct {
	n     int
	order []string
	set   map[string]struct{}
}

// The map grows with use: most devices see a handful of commands, and a
// preallocated set cost ~53 KB per device (measured by the e2e bench).
func newIDSet(n int) *idSet { return &idSet{n: n, set: map[string]struct{}{}} }

func (s *idSet) has(id string) bool { _, ok := s.set[id]; return ok }

func (s *idSet) add(id string) {
	if s.has(id) {
		return
	}
	if len(s.order) >= s.n {
		delete(s.set, s.order[0])
		s.order = s.order[1:]
	}
	s.order = append(s.order, id)
	s.set[id] = struct{}{}
}

// isBusy reports whether err is back-pressure rather than a fault.
func isBusy(err error) bool { return errors.Is(err, ErrBusy) }

// retryAfter is the BUSY retry a refusal asks for.
func (g *Gateway) retryAfter() time.Duration { return g.timing.BusyRetry }
