package connect_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/officegate/officegate/gateway/connect"
	"github.com/officegate/officegate/gateway/metrics"
	"github.com/officegate/officegate/gateway/sinks/webhook/webhooktest"
	"github.com/officegate/officegate/internal/natstest"
)

// leaseHolder is the replica holding the lease of the tests' consumer, ""
// when none does.
func leaseHolder(t *testing.T, c *natstest.Cluster) string {
	t.Helper()
	nc, err := nats.Connect(strings.Join(c.NATSURLs(), ","))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := js.KeyValue(ctx, connect.LeaseBucket)
	if err != nil {
		return ""
	}
	e, err := kv.Get(ctx, "_MQTT_msgs.connect") // the key of $MQTT_msgs and connect
	if err != nil {
		return ""
	}
	var v struct{ Replica string }
	if err := json.Unmarshal(e.Value(), &v); err != nil {
		t.Fatalf("lease value %q: %v", e.Value(), err)
	}
	return v.Replica
}

// hookSeqs are each device's seqs in the order the receiver first accepted
// them (it keeps an event id's first delivery only).
func hookSeqs(t *testing.T, hook *webhooktest.Server) map[string][]uint64 {
	t.Helper()
	out := map[string][]uint64{}
	for _, m := range hook.Messages() {
		var e struct{ Seq uint64 }
		if err := json.Unmarshal(m.Message, &e); err != nil {
			t.Fatalf("webhook event %s: %v", m.Message, err)
		}
		out[m.Device] = append(out[m.Device], e.Seq)
	}
	return out
}

// TestStandbyKeepsDeviceOrder: two replicas, processes of their own, on one
// consumer and one destination (a webhook receiver deduplicating by event
// id). Only the lease's holder fetches; it is SIGKILLed mid-stream; the
// other takes the lease over when it expires and the dead one's messages
// when they come back: the receiver gets every event, and each device's
// events first in the device's order.
func TestStandbyKeepsDeviceOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	standbyTakesOver(t, func(t *testing.T, c *natstest.Cluster, holder *exec.Cmd) { kill(holder) })
}

// TestPausedHolderKeepsDeviceOrder: the holder is frozen (SIGSTOP: a VM
// paused, a process stalled) past its lease; the standby takes over; the
// old holder, resumed, finds its lease gone and fetches, acknowledges and
// keeps nothing more: each device's events still reach the receiver first
// in the device's order.
func TestPausedHolderKeepsDeviceOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	standbyTakesOver(t, func(t *testing.T, c *natstest.Cluster, holder *exec.Cmd) {
		holder.Process.Signal(syscall.SIGSTOP)
		waitUntil(t, time.Minute, "replica b holds the lease", func() bool { return leaseHolder(t, c) == "b" })
		holder.Process.Signal(syscall.SIGCONT)
	})
}

// standbyTakesOver runs two replicas, stops the holder with stop, and
// checks that the other takes over and every device's order holds.
func standbyTakesOver(t *testing.T, stop func(t *testing.T, c *natstest.Cluster, holder *exec.Cmd)) {
	c := backbone(t)
	hook := webhooktest.New(nil, false)
	defer hook.Close()
	dir := t.TempDir()
	a := spec{State: filepath.Join(dir, "a"), NATS: c.NATSURLs(), Consumer: "connect", AckWait: 3 * time.Second,
		LeaseTTL: 2 * time.Second, Webhook: hook.URL, Replica: "a"}
	b := a
	b.State, b.Replica = filepath.Join(dir, "b"), "b"
	devs := []string{"t1", "t2", "t3", "t4"}
	pub := newPublisher(t, c.Nodes[2].MQTTURL, "gw-1")
	stopPub := pub.publishing("gw-1", devs, 1)
	ca := startChild(t, a)
	waitUntil(t, time.Minute, "replica a holds the lease", func() bool { return leaseHolder(t, c) == "a" })
	startChild(t, b)
	waitUntil(t, time.Minute, "replica b runs", func() bool { return dedupDirExists(b.State) })
	n := len(hook.Messages())
	waitUntil(t, time.Minute, "400 more events delivered with both replicas running", func() bool {
		return len(hook.Messages()) >= n+400
	})
	if got := dedupBytes(b.State); got != 0 {
		t.Errorf("replica b, standing by, took messages (%d bytes of dedup keys)", got)
	}
	stopped := time.Now()
	stop(t, c, ca)
	waitUntil(t, time.Minute, "replica b holds the lease", func() bool { return leaseHolder(t, c) == "b" })
	took := time.Since(stopped)
	n = len(hook.Messages())
	waitUntil(t, time.Minute, "400 more events delivered by replica b", func() bool {
		return len(hook.Messages()) >= n+400
	})
	// Figures for the reader (lease TTL 2 s, AckWait 3 s), not checked:
	// this machine's load decides them.
	t.Logf("replica b held the lease %v after the holder stopped, and had delivered 400 more events %v after",
		took.Round(100*time.Millisecond), time.Since(stopped).Round(100*time.Millisecond))
	last := stopPub()
	want := int(last) * len(devs)
	waitUntil(t, 2*time.Minute, "the receiver has every event", func() bool { return len(hook.Messages()) >= want })
	if got := len(hook.Messages()); got != want {
		t.Errorf("the receiver holds %d events, want %d", got, want)
	}
	checkComplete(t, "webhook receiver, first deliveries", hookSeqs(t, hook), devs, last)
	t.Logf("%d events per device; %d deliveries again of an event the receiver had", last, hook.Redelivered())
}

// dedupDirExists tells whether a replica has opened its dedup store: it
// runs.
func dedupDirExists(state string) bool {
	_, err := os.Stat(filepath.Join(state, "dedup"))
	return err == nil
}

// ackPending is the tests' consumer's count of messages handed out and not
// acknowledged.
func ackPending(t *testing.T, c *natstest.Cluster) int {
	t.Helper()
	nc, err := nats.Connect(strings.Join(c.NATSURLs(), ","))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cons, err := js.Consumer(ctx, connect.MQTTStream, "connect")
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.NumAckPending
}

// TestStandbyCleanHandover: a holder that stops cleanly releases the lease:
// the standby takes over, and the metrics say who is active and count the
// takeovers.
func TestStandbyCleanHandover(t *testing.T) {
	c := backbone(t)
	dir := t.TempDir()
	// A long TTL: the handover cannot wait for an expiry.
	a := spec{State: filepath.Join(dir, "a"), NATS: c.NATSURLs(), Consumer: "connect", AckWait: 3 * time.Second,
		LeaseTTL: 5 * time.Minute, File: filepath.Join(dir, "a.jsonl"), Replica: "a"}
	b := a
	b.State, b.Replica, b.File = filepath.Join(dir, "b"), "b", filepath.Join(dir, "b.jsonl")
	devs := []string{"t1", "t2"}
	pub := newPublisher(t, c.Nodes[0].MQTTURL, "gw-1")

	stopA, ma := runWithMetrics(t, a)
	waitUntil(t, time.Minute, "replica a holds the lease", func() bool { return leaseHolder(t, c) == "a" })
	_, mb := runWithMetrics(t, b)
	pub.publish("gw-1", devs, 1, 1, 50)
	waitUntil(t, time.Minute, "replica a delivered the first 100 events", func() bool {
		_, ids := fileLines(t, a.File)
		return len(ids) >= 100
	})
	waitUntil(t, time.Minute, "a reports itself active and b standing by", func() bool {
		return scrape(t, ma, "officegate_connect_active") == "1" && scrape(t, mb, "officegate_connect_active") == "0"
	})
	if got := scrape(t, ma, "officegate_connect_takeovers_total"); got != "1" {
		t.Errorf("a: takeovers %s, want 1", got)
	}
	if _, ids := fileLines(t, b.File); len(ids) != 0 {
		t.Errorf("replica b, standing by, delivered %d events", len(ids))
	}

	waitUntil(t, time.Minute, "replica a acknowledged what it delivered", func() bool { return ackPending(t, c) == 0 })
	stopA()
	waitUntil(t, time.Minute, "replica b holds the lease", func() bool { return leaseHolder(t, c) == "b" })
	pub.publish("gw-1", devs, 1, 51, 80)
	waitUntil(t, time.Minute, "replica b delivered the events published after the handover", func() bool {
		_, ids := fileLines(t, b.File)
		return len(ids) >= 60
	})
	if got := scrape(t, mb, "officegate_connect_active"); got != "1" {
		t.Errorf("b: active %s, want 1", got)
	}
	if got := scrape(t, mb, "officegate_connect_takeovers_total"); got != "1" {
		t.Errorf("b: takeovers %s, want 1", got)
	}
	seqs, _ := fileLines(t, b.File)
	for _, d := range devs {
		if s := seqs[d]; len(s) != 30 || s[0] != 51 || s[29] != 80 {
			t.Errorf("replica b, device %s: seqs %v, want 51..80", d, s)
		}
	}
}

// runWithMetrics runs connect in this process until the test ends or stop
// is called, and returns its metrics once it runs.
func runWithMetrics(t *testing.T, sp spec) (stop func(), m *metrics.Metrics) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan *connect.Connector, 1)
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	o := sp.options(log)
	o.Ready = func(c *connect.Connector) { ready <- c }
	go func() { done <- connect.Run(ctx, o) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("connect: %v", err)
		}
	}
	t.Cleanup(stop)
	select {
	case c := <-ready:
		return stop, c.Metrics()
	case err := <-done:
		t.Fatalf("connect: %v", err)
		return nil, nil
	}
}

// scrape is a metric's value as /metrics shows it.
func scrape(t *testing.T, m *metrics.Metrics, name string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	metrics.Handler(m, &metrics.Health{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return ""
}
