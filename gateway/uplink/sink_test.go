package uplink

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/internal/cbormode"
)

// TestUndecodableRecordDeadLettered: the uplink is a sink like the others:
// a journaled record it can never publish (the disk changed it) goes to the
// dead-letter stream with an alarm, counted, and the records after it are
// published — it is never silently dropped.
func TestUndecodableRecordDeadLettered(t *testing.T) {
	b := mqtttest.Start(t, nil)
	j, err := journal.Open(t.TempDir(), &journal.Options{
		Streams: []journal.Stream{
			{Name: "control", Priority: journal.PriorityControl},
			{Name: "attendance", Priority: journal.PriorityRecord},
			{Name: "rooms", Priority: journal.PriorityTelemetry},
			sinks.DeadLetterStream,
		},
		SyncWindow: 2 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	sub := subscribe(t, b.URL, "officegate/gw-test/devices/+/events/#")
	appendEvent(t, j, "attendance", "t-1", 1)
	bad, err := j.Append(context.Background(), "attendance", []byte("not an envelope"))
	if err != nil {
		t.Fatal(err)
	}
	appendEvent(t, j, "attendance", "t-1", 2)

	var (
		mu     sync.Mutex
		alarms []sinks.DeadLetter
	)
	m := &countMetrics{}
	startUplink(t, j, b.URL, func(o *Options) {
		o.Metrics = m
		o.DeadLetterAlarm = func(_ context.Context, dl sinks.DeadLetter) error {
			mu.Lock()
			defer mu.Unlock()
			alarms = append(alarms, dl)
			return nil
		}
	})
	waitFor(t, "both good records published", 20*time.Second, func() bool { return len(sub.snapshot()) == 2 })
	checkDelivery(t, sub.snapshot(), map[string]uint64{"t-1": 2})
	waitFor(t, "the alarm", 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(alarms) == 1
	})
	if dl := alarms[0]; dl.Sink != SinkName || dl.Stream != "attendance" || dl.Seq != bad {
		t.Errorf("alarm for %+v, want sink mqtt, attendance seq %d", dl, bad)
	}
	if n := m.undeliverable.Load(); n != 1 {
		t.Errorf("%d undeliverable counted, want 1", n)
	}
	r, err := j.Reader(sinks.DeadLetterStream.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rec, err := r.Next(ctx)
	if err != nil {
		t.Fatalf("dead-letter stream: %v", err)
	}
	var dl sinks.DeadLetter
	if err := cbormode.Trusted.Unmarshal(rec.Body, &dl); err != nil {
		t.Fatal(err)
	}
	if dl.Sink != SinkName || dl.Seq != bad || string(dl.Body) != "not an envelope" || !strings.Contains(dl.Error, "permanent") {
		t.Errorf("dead letter %+v", dl)
	}
	waitFor(t, "the journal's attendance stream drained", 10*time.Second, func() bool {
		for _, s := range j.Stats().Streams {
			if s.Name == "attendance" && s.Depth != 0 {
				return false
			}
		}
		return true
	})
}

// countMetrics counts what the test checks.
type countMetrics struct {
	nopMetrics
	undeliverable atomic.Int64
}

func (m *countMetrics) Undeliverable(string) { m.undeliverable.Add(1) }
