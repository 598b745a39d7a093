package journal

import (
	"errors"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// Once the cap has made the journal shed room telemetry, a diagnostics
// record that arrives is shed at once (counted, logged, written as a
// 32-byte hole), not written beside the telemetry being shed only for a
// later compaction to rewrite its segment without it; telemetry and punches
// are still written. Across a reopen nothing reads as lost. When delivery
// frees room, diagnostics are written again.
func TestShedOnArrivalWhileTelemetryIsShed(t *testing.T) {
	o := smallOpts()
	o.SegmentSize = 32 << 10
	o.MaxBytes = 8 * o.SegmentSize
	var logBuf syncBuffer
	lg := zerolog.New(&logBuf)
	o.Log = &lg
	dir := t.TempDir()
	j := mustOpen(t, dir, o)

	n := map[string]int{}
	streams := []string{"attendance", "rooms", "diag"}
	for i := 0; streamStats(j, "rooms").Shed == 0; i++ {
		for _, s := range streams[i%3 : i%3+1] {
			_, err := j.Append(ctxT(t), s, fullBody(s, n[s]))
			if s == "diag" && errors.Is(err, ErrFull) {
				continue // a diagnostics record may not push out telemetry
			}
			if err != nil {
				t.Fatalf("append %s %d before any telemetry was shed: %v", s, n[s], err)
			}
			n[s]++
		}
		if i > 30000 {
			t.Fatal("telemetry never shed")
		}
	}
	if streamStats(j, "diag").Shed == 0 {
		t.Fatal("telemetry shed before diagnostics")
	}
	if j.Stats().ShedOnArrival != 0 {
		t.Fatal("shed on arrival before telemetry was shed") // n's counts below rely on it
	}

	// A diagnostics record now: shed on arrival, 32 bytes of hole.
	before, diagBefore := j.Stats(), streamStats(j, "diag")
	seq, err := j.Append(ctxT(t), "diag", fullBody("diag", n["diag"]))
	if err != nil {
		t.Fatalf("diag append while telemetry is shed: %v", err)
	}
	shedDiag := n["diag"]
	n["diag"]++
	after, diagAfter := j.Stats(), streamStats(j, "diag")
	if after.ShedOnArrival != before.ShedOnArrival+1 || diagAfter.Shed != diagBefore.Shed+1 || diagAfter.Depth != diagBefore.Depth {
		t.Fatalf("diag record %d not shed on arrival: shed on arrival %d → %d, diag %+v → %+v",
			seq, before.ShedOnArrival, after.ShedOnArrival, diagBefore, diagAfter)
	}
	if got := after.Bytes - before.Bytes; got != holeSize {
		t.Fatalf("the shed record took %d bytes, want a %d-byte hole", got, holeSize)
	}
	if !strings.Contains(logBuf.String(), "on arrival") {
		t.Fatalf("shedding on arrival not logged; log:\n%s", logBuf.String())
	}
	// Telemetry and punches are still written.
	roomsBefore := streamStats(j, "rooms")
	for _, s := range []string{"rooms", "attendance"} {
		if _, err := j.Append(ctxT(t), s, fullBody(s, n[s])); err != nil {
			t.Fatalf("append %s: %v", s, err)
		}
		n[s]++
	}
	if st := streamStats(j, "rooms"); st.Depth != roomsBefore.Depth+1 && st.Shed == roomsBefore.Shed {
		t.Fatalf("rooms record not written: %+v → %+v", roomsBefore, st)
	}
	j.Close()

	// Reopened: the hole reads as nothing lost; every record is either
	// readable or counted shed, and the shed diagnostics record is not read.
	j = mustOpen(t, dir, o)
	defer j.Close()
	if rec := j.Recovery(); len(rec.Losses) > 0 {
		t.Fatalf("recovery after a hole shed on arrival: %+v", rec)
	}
	for _, s := range []string{"attendance", "rooms", "diag"} {
		r, _ := j.Reader(s)
		got := readAll(t, r)
		r.Close()
		if s == "attendance" && len(got) != n[s] {
			t.Fatalf("%d punches read, %d stored", len(got), n[s])
		}
		for _, rec := range got {
			if s == "diag" && string(rec.Body) == string(fullBody("diag", shedDiag)) {
				t.Fatalf("diag record %d shed on arrival was read back", rec.Seq)
			}
			if err := r.Ack(rec.Seq); err != nil {
				t.Fatal(err)
			}
		}
	}
	if l := j.Stats().Losses; len(l) > 0 {
		t.Fatalf("losses %v", l)
	}

	// Everything delivered: room again, and diagnostics are written again.
	for _, s := range []string{"attendance", "rooms", "diag"} {
		r, _ := j.Reader(s)
		for _, rec := range readAll(t, r) {
			r.Ack(rec.Seq)
		}
		r.Close()
	}
	j.maintain(true)
	b0 := j.Stats()
	if _, err := j.Append(ctxT(t), "diag", fullBody("diag", n["diag"])); err != nil {
		t.Fatal(err)
	}
	if b1 := j.Stats(); b1.ShedOnArrival != b0.ShedOnArrival || b1.Bytes-b0.Bytes != uint64(recordSize(len(fullBody("diag", 0)))) {
		t.Fatalf("diag record after room came back: shed on arrival %d → %d, %d bytes", b0.ShedOnArrival, b1.ShedOnArrival, b1.Bytes-b0.Bytes)
	}
}

// The committer runs with the CPU profiler label stage=journal (fsync while
// in fdatasync), so the gateway's per-stage CPU figures can name it
// (docs/PERFORMANCE.md).
func TestCommitterLabel(t *testing.T) {
	j := mustOpen(t, t.TempDir(), smallOpts())
	defer j.Close()
	for {
		var b strings.Builder
		if err := pprof.Lookup("goroutine").WriteTo(&b, 1); err != nil {
			t.Fatal(err)
		}
		for _, block := range strings.Split(b.String(), "\n\n") {
			if !strings.Contains(block, "journal.(*Journal).run") {
				continue
			}
			if !strings.Contains(block, `# labels: {"stage":"journal"}`) {
				t.Fatalf("the committer's labels:\n%s", block)
			}
			return
		}
		runtime.Gosched() // not scheduled yet
	}
}
