package connect

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/officegate/officegate/internal/natstest"
)

// leaseCluster starts a cluster with a stream of 3 replicas to hold
// leases for.
func leaseCluster(t *testing.T) jetstream.JetStream {
	t.Helper()
	c := natstest.Start(t)
	nc, err := nats.Connect(strings.Join(c.NATSURLs(), ","))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}, Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	return js
}

// TestLeaseLostStopsAtOnce: the holder whose key another replica rewrote
// finds it at its next write and is no longer sure of the lease; the other
// replica cannot create the key while it exists and takes it once it has
// expired.
func TestLeaseLostStopsAtOnce(t *testing.T) {
	js := leaseCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	a, err := openLease(ctx, js, "S", "c", "a", 2*time.Second, log)
	if err != nil {
		t.Fatal(err)
	}
	b, err := openLease(ctx, js, "S", "c", "b", 2*time.Second, log)
	if err != nil {
		t.Fatal(err)
	}
	if other := a.try(ctx); other != "" {
		t.Fatalf("a could not take a free lease: %s holds it", other)
	}
	ga := a.wait(ctx)
	if !ga.ok() {
		t.Fatal("a took the lease and is not sure of it")
	}
	if other := b.try(ctx); other != "a" {
		t.Fatalf("b trying a held lease: holder %q, want a", other)
	}
	if b.held {
		t.Fatal("b took a lease a holds")
	}

	// a's own write applied while its answer was lost: a's next write, at
	// the revision it knows, fails; a finds its own value there and takes
	// the lease back (a new grant: the old one is over).
	a.mu.Lock()
	rev := a.rev
	a.mu.Unlock()
	if _, err := a.kv.Update(ctx, a.key, a.value, rev); err != nil {
		t.Fatal(err)
	}
	if err := a.refresh(ctx, rev); err != nil {
		t.Fatal(err)
	}
	if ga.ok() || a.held {
		t.Fatal("a still sure of the lease after a write at a stale revision failed")
	}
	if other := a.try(ctx); other != "" || !a.held {
		t.Fatalf("a did not take back a key holding its own value (holder %q)", other)
	}
	if ga = a.wait(ctx); !ga.ok() || ga.epoch != 2 {
		t.Fatalf("a's grant after taking the lease back: ok %v, epoch %d, want 2", ga.ok(), ga.epoch)
	}

	// A holder that could not write for 5/8 of the TTL (frozen, or cut off
	// from the cluster) is no longer sure of the lease, though no write has
	// told it so; a write at its revision makes it sure again, same grant.
	a.mu.Lock()
	a.now = func() time.Time { return time.Now().Add(a.ttl * 5 / 8) }
	a.mu.Unlock()
	if ga.ok() || !a.held {
		t.Fatalf("a sure of the lease 5/8 of the TTL after its last write (held %v)", a.held)
	}
	a.mu.Lock()
	a.now, rev = time.Now, a.rev
	a.mu.Unlock()
	if err := a.refresh(ctx, rev); err != nil {
		t.Fatal(err)
	}
	if !ga.ok() {
		t.Fatal("a not sure of the lease after a successful write")
	}

	// Someone else's write (as after an expiry and another's Create).
	if _, err := a.kv.Put(ctx, a.key, []byte(`{"replica":"x"}`)); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	rev = a.rev
	a.mu.Unlock()
	if err := a.refresh(ctx, rev); err != nil {
		t.Fatal(err)
	}
	if ga.ok() {
		t.Fatal("a still sure of a lease whose key another replica wrote")
	}

	// The key, no longer written, expires; b takes it.
	deadline := time.Now().Add(time.Minute)
	for b.try(ctx) != "" || !b.held {
		if time.Now().After(deadline) {
			t.Fatal("b did not take the lease once it expired")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if gb := b.wait(ctx); !gb.ok() || gb.epoch != 1 {
		t.Fatalf("b's grant: ok %v epoch %d", gb.ok(), gb.epoch)
	}
}

// TestLeaseBucketTTL: the bucket's max age is the lease's TTL, whatever a
// later replica asks; a bucket without one is refused.
func TestLeaseBucketTTL(t *testing.T) {
	js := leaseCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel)
	a, err := openLease(ctx, js, "S", "c", "a", 3*time.Second, log)
	if err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, "KV_"+LeaseBucket)
	if err != nil {
		t.Fatal(err)
	}
	if r := st.CachedInfo().Config.Replicas; r != 3 {
		t.Errorf("bucket replicas %d, want the stream's 3", r)
	}
	b, err := openLease(ctx, js, "S", "c", "b", time.Minute, log)
	if err != nil {
		t.Fatal(err)
	}
	if a.ttl != 3*time.Second || b.ttl != 3*time.Second {
		t.Errorf("TTLs %v and %v, want the bucket's 3s", a.ttl, b.ttl)
	}
	if err := js.DeleteKeyValue(ctx, LeaseBucket); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: LeaseBucket}); err != nil {
		t.Fatal(err)
	}
	if _, err := openLease(ctx, js, "S", "c", "a", 3*time.Second, log); err == nil || !strings.Contains(err.Error(), "no max age") {
		t.Errorf("a bucket without max age: %v", err)
	}
	if k := leaseKey("$MQTT_msgs", "connect"); k != "_MQTT_msgs.connect" {
		t.Errorf("leaseKey: %q", k)
	}
}
