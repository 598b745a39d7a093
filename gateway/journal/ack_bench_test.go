package journal

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// BenchmarkAckInOrder acknowledges, one by one and in order, a batch of
// records a sink had read: what every sink does after its destination
// accepted a batch. Its cost per record must not grow with the batch.
//
//	go test -run '^$' -bench AckInOrder ./gateway/journal
func BenchmarkAckInOrder(b *testing.B) {
	for _, batch := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprintf("batch-%d", batch), func(b *testing.B) {
			j := mustOpen(b, b.TempDir(), &Options{Streams: testStreams, SegmentSize: 64 << 20, MaxBytes: 1 << 30, SyncWindow: time.Millisecond})
			r, err := j.Reader("attendance")
			if err != nil {
				b.Fatal(err)
			}
			body := []byte(strings.Repeat("b", 64))
			entries := make([]Entry, batch)
			for i := range entries {
				entries[i] = Entry{Stream: "attendance", Body: body}
			}
			ctx := context.Background()
			seqs := make([]uint64, batch)
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				if _, err := j.AppendEntries(ctx, entries); err != nil {
					b.Fatal(err)
				}
				for i := range seqs {
					rec, err := r.Next(ctx)
					if err != nil {
						b.Fatal(err)
					}
					seqs[i] = rec.Seq
				}
				b.StartTimer()
				for _, s := range seqs {
					if err := r.Ack(s); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/ack")
		})
	}
}
