package uplink

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/mqtttest"
)

// BenchmarkDrain measures the uplink alone: a backlog of punches in the
// journal published to a real mosquitto, each acknowledged on its PUBACK,
// until the journal is drained. It reports events/s and the process's CPU
// per event (user + system, so the broker's is not in it).
func BenchmarkDrain(b *testing.B) {
	const backlog = 20000
	br := mqtttest.Start(b, nil)
	for range b.N {
		b.StopTimer()
		j := benchJournal(b)
		body := benchPunch(b)
		bodies := make([][]byte, 0, 500)
		for range 500 {
			bodies = append(bodies, body)
		}
		for n := 0; n < backlog; n += len(bodies) {
			if _, err := j.AppendBatch(context.Background(), "attendance", bodies); err != nil {
				b.Fatal(err)
			}
		}
		cpu0 := cpuTime()
		b.StartTimer()
		start := time.Now()
		u, err := New(j, Options{Broker: br.URL, ClientID: "officegate-bench", Topics: topics, Boot: "boot-1",
			Streams: []string{"control", "attendance", "rooms"}, BackoffMin: 50 * time.Millisecond, BackoffMax: time.Second})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- u.Run(ctx) }()
		for drained := false; !drained; {
			drained = true
			for _, s := range j.Stats().Streams {
				if s.Depth != 0 {
					drained = false
				}
			}
			if !drained {
				time.Sleep(2 * time.Millisecond) // polling the journal's depth: the condition, checked often
			}
		}
		elapsed := time.Since(start)
		b.StopTimer()
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(backlog/elapsed.Seconds(), "events/s")
		b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/backlog, "cpu-µs/event")
	}
}

func benchJournal(b *testing.B) *journal.Journal {
	j, err := journal.Open(b.TempDir(), &journal.Options{
		Streams: []journal.Stream{
			{Name: "control", Priority: journal.PriorityControl},
			{Name: "attendance", Priority: journal.PriorityRecord},
			{Name: "rooms", Priority: journal.PriorityTelemetry},
		},
		SyncWindow: 2 * time.Millisecond,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { j.Close() })
	return j
}

// benchPunch is a punch's journal body as the intake writes it.
func benchPunch(b *testing.B) []byte {
	data, err := envelope.EncodeData(map[string]any{"person": "E-1001", "credential": "card", "state": "in"})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	o := envelope.Outbound{Event: &envelope.Event{
		V: envelope.Version, ID: envelope.EventID("hw-t-1", 1, 1), Type: "attendance.punch",
		Gateway: topics.Gateway, Device: "t-1", Boot: 1, Seq: 1,
		Time: envelope.StampOf(now), TimeRaw: now.Format("2006-01-02T15:04:05"), Clock: envelope.ClockSynced,
		Received: envelope.StampOf(now.UTC()), Data: data,
	}}
	body, err := o.Encode()
	if err != nil {
		b.Fatal(err)
	}
	return body
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
