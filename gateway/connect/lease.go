package connect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// The replicas of a JetStream consumer elect the one that fetches through a
// lease in a key-value bucket (doc.go, "Order"): the key is its holder's
// while the holder rewrites it, revision-checked, every ttl/4; the bucket's
// max age removes it ttl after the last write of a holder that stopped;
// another replica creates it then (Create fails while it exists).

// LeaseBucket is the key-value bucket holding the replicas' leases, one key
// per stream and consumer (docs/nats/README.md). Connect creates it when
// missing, with the stream's replicas and max age = the lease's TTL.
const LeaseBucket = "officegate_connect"

// DefaultLeaseTTL is how long a dead holder's lease outlives it: the pause
// before another replica takes over (its messages then come back after
// AckWait). Ten seconds rides out a cluster's leader election (a few
// seconds) without a change of holder; the holder writes every 2.5 s.
const DefaultLeaseTTL = 10 * time.Second

// lease is this replica's view of the lease: whether it holds it, and until
// when it surely does.
type lease struct {
	// Immutable.
	kv    jetstream.KeyValue
	key   string
	value []byte // who holds it: leaseValue as JSON
	ttl   time.Duration
	log   zerolog.Logger
	now   func() time.Time // monotonic

	mu sync.Mutex
	// Guarded by mu.
	epoch   uint64    // counts the acquisitions; the current one's grant
	held    bool      // this replica created the key and has not seen it taken
	rev     uint64    // the key's revision this replica last wrote
	until   time.Time // held surely until then (this replica's clock)
	changed chan struct{}
}

// leaseValue is what the key holds: who, for the operator reading the
// bucket (nats kv get officegate_connect KEY).
type leaseValue struct {
	Replica string `json:"replica"`
	Since   string `json:"since"`
}

// validity is how long after the start of a successful write the holder
// counts on the lease: 5/8 of the TTL, so that a fetch started within it
// (it waits at most ttl/8, fetchWait) has ended at the cluster a quarter of
// the TTL before the key can expire there. The quarter covers the
// request's transit and the clocks' rates.
func (l *lease) validity() time.Duration { return l.ttl * 5 / 8 }

// fetchWait bounds a fetch of the holder (see validity).
func (l *lease) fetchWait() time.Duration { return l.ttl / 8 }

var leaseKeyBad = regexp.MustCompile(`[^-_=a-zA-Z0-9]`)

// leaseKey is the key of a stream's consumer: both names with what a key
// cannot hold ('$' of $MQTT_msgs) made '_'.
func leaseKey(stream, consumer string) string {
	return leaseKeyBad.ReplaceAllString(stream, "_") + "." + leaseKeyBad.ReplaceAllString(consumer, "_")
}

// defaultReplica names this process in the lease: host and process id.
func defaultReplica() string {
	h, err := os.Hostname()
	if err != nil {
		h = "unknown-host"
	}
	return fmt.Sprintf("%s/%d", h, os.Getpid())
}

// openLease binds to the bucket, creating it (replicas as the stream's)
// when missing. A bucket that exists with another max age keeps it: its
// TTL is the lease's.
func openLease(ctx context.Context, js jetstream.JetStream, stream, consumer, replica string, ttl time.Duration, log zerolog.Logger) (*lease, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	kv, err := js.KeyValue(cctx, LeaseBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		st, serr := js.Stream(cctx, stream)
		if serr != nil {
			return nil, fmt.Errorf("connect: jetstream: stream %q: %w", stream, serr)
		}
		kv, err = js.CreateKeyValue(cctx, jetstream.KeyValueConfig{Bucket: LeaseBucket,
			Description: "officegate connect: which replica of a consumer fetches", History: 1, TTL: ttl,
			Storage: jetstream.FileStorage, Replicas: st.CachedInfo().Config.Replicas})
		if errors.Is(err, jetstream.ErrBucketExists) { // another replica created it meanwhile
			kv, err = js.KeyValue(cctx, LeaseBucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("connect: jetstream: lease bucket %s: %w", LeaseBucket, err)
	}
	status, err := kv.Status(cctx)
	if err != nil {
		return nil, fmt.Errorf("connect: jetstream: lease bucket %s: %w", LeaseBucket, err)
	}
	switch got := status.TTL(); {
	case got <= 0:
		return nil, fmt.Errorf("connect: jetstream: lease bucket %s has no max age: a dead replica's lease would never expire; delete the bucket (connect creates it again) or give it a max age", LeaseBucket)
	case got != ttl:
		log.Warn().Dur("lease_ttl", ttl).Dur("bucket_ttl", got).Str("bucket", LeaseBucket).
			Msg("connect: jetstream: the lease bucket's max age differs from lease_ttl: the bucket's holds")
		ttl = got
	}
	// Since, to the nanosecond, makes the value this process's own (try).
	v, _ := json.Marshal(leaseValue{Replica: replica, Since: time.Now().UTC().Format(time.RFC3339Nano)})
	return &lease{kv: kv, key: leaseKey(stream, consumer), value: v, ttl: ttl, log: log, now: time.Now,
		changed: make(chan struct{})}, nil
}

// grant is one acquisition of the lease.
type grant struct {
	l     *lease
	epoch uint64
}

// ok tells whether the lease is still this grant's and surely held now. A
// nil grant (replicas = "shared") always is.
func (g *grant) ok() bool { return g.room(0) }

// room tells whether the lease is surely this grant's for d more.
func (g *grant) room(d time.Duration) bool {
	if g == nil {
		return true
	}
	l := g.l
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.held && l.epoch == g.epoch && l.now().Add(d).Before(l.until)
}

// wait blocks until the lease is held and sure for a fetch, and returns
// its grant; nil when ctx ends.
func (l *lease) wait(ctx context.Context) *grant {
	for {
		l.mu.Lock()
		g := &grant{l, l.epoch}
		sure := l.held && l.now().Add(l.fetchWait()).Before(l.until)
		ch := l.changed
		l.mu.Unlock()
		if sure {
			return g
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ch:
		}
	}
}

// notify wakes wait; l.mu held.
func (l *lease) notify() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// run takes the lease when free and keeps it until ctx ends: a standby
// tries every ttl/4 (and at once when the holder releases it), the holder
// rewrites it every ttl/4. The caller releases it (release) once it has
// stopped fetching.
func (l *lease) run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	released := l.watch(ctx, &wg)
	t := time.NewTimer(0)
	defer t.Stop()
	var holder string // the other holder last logged
	failing := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-released:
		}
		l.mu.Lock()
		held, rev := l.held, l.rev
		l.mu.Unlock()
		next := l.ttl / 4
		if held {
			holder = ""
			if err := l.refresh(ctx, rev); err != nil {
				if ctx.Err() != nil {
					return
				}
				// Transient (a leader election): the lease may be ours
				// still; retry sooner. Fetching stops meanwhile, once the
				// validity runs out (grant.room).
				if failing++; failing == 1 || failing%20 == 0 {
					l.log.Warn().Err(err).Str("key", l.key).Int("attempts", failing).Msg("connect: jetstream: cannot renew the lease; retrying")
				}
				next = l.ttl / 16
			} else {
				failing = 0
			}
		} else if other := l.try(ctx); other != "" && other != holder {
			holder = other
			l.log.Info().Str("holder", other).Str("key", l.key).Msg("connect: jetstream: standing by: another replica holds the lease")
		}
		t.Reset(next)
	}
}

// watch signals when the key is deleted (a holder's clean release), for a
// standby to take over at once rather than at its next attempt. The key's
// expiry is silent (no marker): the periodic attempts cover it. A watch
// that cannot start leaves those alone.
func (l *lease) watch(ctx context.Context, wg *sync.WaitGroup) <-chan struct{} {
	w, err := l.kv.Watch(ctx, l.key, jetstream.UpdatesOnly())
	if err != nil {
		l.log.Warn().Err(err).Str("key", l.key).Msg("connect: jetstream: cannot watch the lease; a released lease is taken at the next attempt")
		return nil
	}
	out := make(chan struct{}, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer w.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e != nil && e.Operation() != jetstream.KeyValuePut {
					select {
					case out <- struct{}{}:
					default:
					}
				}
			}
		}
	}()
	return out
}

// try creates the key; it returns the other holder when the key exists.
func (l *lease) try(ctx context.Context) (other string) {
	cctx, cancel := context.WithTimeout(ctx, l.ttl/4)
	defer cancel()
	start := l.now()
	rev, err := l.kv.Create(cctx, l.key, l.value)
	if err == nil {
		l.took(start, rev)
		return ""
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		if ctx.Err() == nil {
			l.log.Warn().Err(err).Str("key", l.key).Msg("connect: jetstream: cannot take the lease; retrying")
		}
		return ""
	}
	e, err := l.kv.Get(cctx, l.key)
	if err != nil {
		return ""
	}
	if bytes.Equal(e.Value(), l.value) {
		// This process's own value (its name and start): an Update whose
		// answer was lost. Nobody else holds the key: take it back.
		start = l.now()
		if rev, err := l.kv.Update(cctx, l.key, l.value, e.Revision()); err == nil {
			l.took(start, rev)
		}
		return ""
	}
	var v leaseValue
	if json.Unmarshal(e.Value(), &v) != nil || v.Replica == "" {
		return "unknown"
	}
	return v.Replica
}

// took records the lease taken with a write started at start.
func (l *lease) took(start time.Time, rev uint64) {
	l.mu.Lock()
	l.held, l.rev, l.until = true, rev, start.Add(l.validity())
	l.epoch++
	l.notify()
	l.mu.Unlock()
	l.log.Info().Str("key", l.key).Uint64("revision", rev).Msg("connect: jetstream: took the lease: this replica fetches")
}

// refresh rewrites the key at the revision this replica wrote last. Another
// revision there (the key expired, or someone else's) means the lease is
// lost: fetching stops at once. Any other error is returned: the lease may
// still be ours.
func (l *lease) refresh(ctx context.Context, rev uint64) error {
	cctx, cancel := context.WithTimeout(ctx, l.ttl/4)
	defer cancel()
	start := l.now()
	next, err := l.kv.Update(cctx, l.key, l.value, rev)
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err == nil:
		l.rev, l.until = next, start.Add(l.validity())
		l.notify()
		return nil
	case errors.Is(err, jetstream.ErrKeyExists):
		l.held = false
		l.notify()
		l.log.Warn().Str("key", l.key).Uint64("revision", rev).
			Msg("connect: jetstream: lost the lease (it expired or another replica holds it): fetching stopped")
		return nil
	default:
		return err
	}
}

// release deletes the key if it is still this replica's, so that a standby
// takes over without waiting for it to expire; for a stop, once fetching
// has ended.
func (l *lease) release() {
	l.mu.Lock()
	held, rev := l.held, l.rev
	l.held = false
	l.notify()
	l.mu.Unlock()
	if !held {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := l.kv.Delete(ctx, l.key, jetstream.LastRevision(rev)); err != nil {
		l.log.Warn().Err(err).Str("key", l.key).Msg("connect: jetstream: could not release the lease: a standby takes over when it expires")
		return
	}
	l.log.Info().Str("key", l.key).Msg("connect: jetstream: released the lease")
}

// errLeaseLost ends fetching: the lease is no longer surely this
// replica's.
var errLeaseLost = errors.New("connect: jetstream: lease lost")

// standby runs the consumer while this replica holds the lease: settle at
// each acquisition, then fetch while it is sure (doc.go, "Order").
func (s *JetStream) standby(ctx context.Context, js jetstream.JetStream, cons jetstream.Consumer, ingest Ingest) error {
	var l *lease
	for attempt := 0; ; attempt++ {
		var err error
		if l, err = openLease(ctx, js, s.stream(), s.Consumer, s.Replica, s.LeaseTTL, s.Log); err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		s.Log.Warn().Err(err).Msg("connect: jetstream: no lease bucket yet; retrying")
		if !s.sleep(ctx, attempt) {
			return nil
		}
	}
	lctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		l.run(lctx)
	}()
	defer func() {
		stop()
		wg.Wait()
		l.release()
	}()
	var settled uint64 // the acquisition settle ran for
	for {
		g := l.wait(ctx)
		if g == nil {
			return nil
		}
		s.role(true, g.epoch != settled)
		var err error
		if g.epoch != settled {
			// A new holder: messages handed to the previous one and not
			// acknowledged come back after AckWait, after later ones.
			if err = s.settle(ctx, cons, ingest, g); err == nil {
				settled = g.epoch
			}
		}
		if err == nil {
			err = s.loop(ctx, cons, ingest, g)
		}
		s.role(false, false)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, errLeaseLost):
		default:
			return err
		}
	}
}

// role reports this replica's role to connect's metrics.
func (s *JetStream) role(active, takeover bool) {
	if s.active != nil {
		s.active(active)
	}
	if takeover && s.takeover != nil {
		s.takeover()
	}
}

// reportRole implements roleReporter.
func (s *JetStream) reportRole(active func(bool), takeover func()) {
	s.active, s.takeover = active, takeover
}
