package intake

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/gateway/journal"
)

// BenchmarkCommitBatch commits a terminal's punches in batches of the sizes a
// link hands over (1 at a trickle, up to a window of 16 under load) and
// reports the journal bytes per punch, and how many of them are the mark
// record each commit carries (marks.go): the price of exact marks.
//
//	go test ./gateway/intake -run '^$' -bench CommitBatch -benchtime 2000x
func BenchmarkCommitBatch(b *testing.B) {
	for _, batch := range []int{1, 7, 16} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			dir := b.TempDir()
			j, err := journal.Open(filepath.Join(dir, "journal"), &journal.Options{Streams: JournalStreams(), SyncWindow: time.Millisecond})
			if err != nil {
				b.Fatal(err)
			}
			defer j.Close()
			in, err := New(j, dir, Options{Gateway: "gw-1"})
			if err != nil {
				b.Fatal(err)
			}
			recs := make([]link.Record, batch)
			seq := uint32(0)
			b.ResetTimer()
			for range b.N {
				for i := range recs {
					seq++
					recs[i] = link.Record{Kind: link.RecordEvent, HardwareID: "EMU-term-00", DeviceKind: msg.KindAttendance, DeviceID: "term-00", Received: time.Now(),
						Event: &msg.Event{ID: msg.EventID{Boot: 1, Seq: seq}, Kind: "punch", Time: uint64(time.Now().UnixMilli()),
							Clock: msg.ClockSet, Data: map[string]any{"user": "10042", "verify": "card", "state": uint64(seq % 2)}}}
				}
				if err := in.CommitBatch(context.Background(), recs); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			st := j.Stats()
			var marks uint64
			for _, s := range st.Streams {
				if s.Name == StreamMarks {
					marks = s.Appended
				}
			}
			punches := float64(seq)
			// A mark record on disk: a 24-byte header and its body padded to
			// 8 bytes (journal/FORMAT.md §3).
			me, err := markEntries(recs[len(recs)-1:])
			if err != nil {
				b.Fatal(err)
			}
			markSize := 24 + (len(me[0].Body)+7)&^7
			b.ReportMetric(float64(st.Bytes)/punches, "journal_B/punch")
			b.ReportMetric(float64(marks)*float64(markSize)/punches, "marks_B/punch")
		})
	}
}

// BenchmarkBuildPunch builds the journal entries of one terminal punch as the
// link hands it over (the e2e bench's body: user, verify, state and its emit
// time), without appending them: the envelope builder alone, with its
// allocations.
//
//	go test ./gateway/intake -run '^$' -bench BuildPunch -benchmem
func BenchmarkBuildPunch(b *testing.B) {
	for _, c := range []struct {
		name string
		key  []byte
	}{{"clear", nil}, {"card_key", []byte("0123456789abcdef")}} {
		b.Run(c.name, func(b *testing.B) {
			dir := b.TempDir()
			j, err := journal.Open(filepath.Join(dir, "journal"), &journal.Options{Streams: JournalStreams(), SyncWindow: time.Millisecond})
			if err != nil {
				b.Fatal(err)
			}
			defer j.Close()
			in, err := New(j, dir, Options{Gateway: "gw-1", CardKey: c.key})
			if err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			rec := link.Record{Kind: link.RecordEvent, HardwareID: "EMU-term-00", DeviceKind: msg.KindAttendance, DeviceID: "term-00", Received: now,
				Event: &msg.Event{ID: msg.EventID{Boot: 1, Seq: 1}, Kind: "punch", Time: uint64(now.UnixMilli()), Clock: msg.ClockSet,
					Data: map[string]any{"user": "10042", "verify": "card", "state": uint64(0), "card": "12:4660", "t_us": uint64(now.UnixMicro())}}}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := in.event(rec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLinkToJournal is the gateway's per-event work from a received
// EVENT frame's body to the journal entries handed to the append: the body
// decoded (msg.Unmarshal, as link.Gateway.deliver does), the link record,
// linkdev's events and the envelope builder with the terminal's punch
// mapping. The body is the e2e bench's (gateway/cmd/bench e2e_devices.go):
// user, verify, state and the emit time.
//
//	go test ./gateway/intake -run '^$' -bench LinkToJournal -benchmem -count 6
func BenchmarkLinkToJournal(b *testing.B) {
	dir := b.TempDir()
	j, err := journal.Open(filepath.Join(dir, "journal"), &journal.Options{Streams: JournalStreams(), SyncWindow: time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	in, err := New(j, dir, Options{Gateway: "gw-1"})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	body, err := msg.Marshal(&msg.Event{ID: msg.EventID{Boot: 1, Seq: 1}, Kind: "punch", Time: uint64(now.UnixMilli()), Clock: msg.ClockSet,
		Data: map[string]any{"user": "10042", "verify": "card", "state": uint64(0), "t_us": uint64(now.UnixMicro())}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		m, err := msg.Unmarshal(frame.TypeEvent, body)
		if err != nil {
			b.Fatal(err)
		}
		rec := link.Record{Kind: link.RecordEvent, HardwareID: "EMU-term-00", DeviceKind: msg.KindAttendance, DeviceID: "term-00",
			Received: now, Event: m.(*msg.Event), Clock: link.ClockInfo{State: link.ClockSynced}}
		if _, err := in.event(rec); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu0)
}

// cpuTime is the process's CPU time (user + system). On a machine other
// work keeps busy, wall time per operation measures the machine; the CPU
// time the benchmark's process spent per operation (reportCPU's cpu-ns/op)
// moves much less.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time per operation since cpu0.
func reportCPU(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}
