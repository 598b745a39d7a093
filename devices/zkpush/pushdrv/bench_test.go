package pushdrv

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/officegate/officegate/devices/zkpush"
	"github.com/officegate/officegate/devices/zkpush/zkpushsim"
)

// BenchmarkUpload measures the listener's path for punches (HTTP, parse,
// events, one batch to the sink per upload) from 1 and 32 emulated
// terminals, each uploading 100 punches a request. The sink keeps events in
// memory: the journal's own cost is measured by its benchmarks.
//
//	go test -run '^$' -bench Upload ./devices/zkpush/pushdrv
func BenchmarkUpload(b *testing.B) {
	for _, n := range []int{1, 32} {
		b.Run(fmt.Sprintf("terminals=%d", n), func(b *testing.B) {
			sink := &memSink{}
			var sns []string
			for i := range n {
				sns = append(sns, fmt.Sprintf("BENCH%d", i))
			}
			base := runTerminals(b, NewHub(nil), sink, sns...)
			terms := make([]*zkpushsim.Terminal, n)
			for i, sn := range sns {
				terms[i] = zkpushsim.New(sn, base, &zkpushsim.Opts{Batch: 100, Capacity: b.N*100 + 100})
			}
			ctx := context.Background()
			b.ResetTimer()
			var wg sync.WaitGroup
			per := (b.N + n - 1) / n
			for i, term := range terms {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := range per * 100 {
						term.Add(zkpush.Punch{PIN: fmt.Sprint(k), Time: "2026-01-05 08:00:00", Verify: 1, Status: i % 2})
					}
					if _, err := term.Upload(ctx); err != nil {
						b.Error(err)
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			punches := len(sink.events("attendance.punch"))
			b.ReportMetric(float64(punches)/b.Elapsed().Seconds(), "punches/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}
