package journal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkCapInterleaved measures what shedding under the cap costs the disk:
// attendance, rooms and diag records (128-byte bodies) interleaved in commits
// of 48, 192 and 480 (the everyday journal bench's commit size), nobody
// delivering, until attendance is refused; "capped" has a cap
// of 8 segments (compaction sheds diag, then rooms), "uncapped" stores the
// same number of records with no cap reached. It reports the bytes this
// process caused to be written (/proc/self/io write_bytes) per stored record.
// Run it with TMPDIR on a disk, not tmpfs:
//
//	TMPDIR=/var/tmp go test -run '^$' -bench CapInterleaved -benchtime 1x ./gateway/journal
func BenchmarkCapInterleaved(b *testing.B) {
	for _, perClass := range []int{16, 64, 160} {
		b.Run(fmt.Sprintf("commit-%d", 3*perClass), func(b *testing.B) { benchCapInterleaved(b, perClass) })
	}
}

func benchCapInterleaved(b *testing.B, perClass int) {
	var records int
	for _, capped := range []bool{true, false} {
		name := map[bool]string{true: "capped", false: "uncapped"}[capped]
		b.Run(name, func(b *testing.B) {
			for range b.N {
				dir := b.TempDir()
				o := &Options{Streams: testStreams, SegmentSize: 1 << 20, MaxBytes: 8 << 20, SyncWindow: time.Millisecond}
				if !capped {
					o.MaxBytes = 1 << 30
				}
				j, err := Open(dir, o)
				if err != nil {
					b.Fatal(err)
				}
				body := []byte(strings.Repeat("b", 128))
				batch := make([]Entry, 0, 3*perClass)
				for range perClass {
					for _, s := range []string{"attendance", "rooms", "diag"} {
						batch = append(batch, Entry{Stream: s, Body: body})
					}
				}
				w0 := writeBytes(b)
				stored := 0
				for {
					if !capped && stored >= records {
						break
					}
					if _, err := j.AppendEntries(context.Background(), batch); err != nil {
						if errors.Is(err, ErrFull) {
							break
						}
						b.Fatal(err)
					}
					stored += len(batch)
				}
				if err := j.Close(); err != nil {
					b.Fatal(err)
				}
				w1 := writeBytes(b)
				if capped {
					records = stored
				}
				s := j.Stats()
				b.ReportMetric(float64(w1-w0)/float64(stored), "written-B/record")
				b.ReportMetric(float64(stored), "records")
				b.ReportMetric(float64(s.Compactions), "compactions")
				b.ReportMetric(float64(s.CompactedBytes)/float64(stored), "compacted-B/record")
				b.ReportMetric(float64(s.ShedOnArrival), "shed-on-arrival")
			}
		})
	}
}

func writeBytes(b *testing.B) uint64 {
	raw, err := os.ReadFile("/proc/self/io")
	if err != nil {
		b.Skip("no /proc/self/io")
	}
	for line := range strings.Lines(string(raw)) {
		if v, ok := strings.CutPrefix(line, "write_bytes:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatal("no write_bytes in /proc/self/io")
	return 0
}
