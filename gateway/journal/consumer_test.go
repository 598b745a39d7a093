package journal

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

func consumerOpts(consumers ...Consumer) *Options {
	o := smallOpts()
	o.Consumers = consumers
	return o
}

// ackAll reads every durable record of r and acknowledges it, checking that
// the bodies are want's, in order.
func ackAll(t *testing.T, r *Reader, want []string) {
	t.Helper()
	recs := readAll(t, r)
	if len(recs) != len(want) {
		t.Fatalf("read %d records, want %d", len(recs), len(want))
	}
	for i, rec := range recs {
		if string(rec.Body) != want[i] {
			t.Fatalf("record %d = %q, want %q", i, rec.Body, want[i])
		}
		if err := r.Ack(rec.Seq); err != nil {
			t.Fatal(err)
		}
	}
}

// settle returns once the committer has run a maintenance pass (cursor save
// and segment deletion) that began after the call: it dirties the cursors
// twice and waits for each save, so the pass before the second save, which
// saw everything done before settle, has finished.
func settle(t *testing.T, j *Journal) {
	t.Helper()
	r, err := j.Reader("diag")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for range 2 {
		appendN(t, j, "diag", 0, 1)
		recs := readAll(t, r)
		before := j.Stats().Fsyncs
		for _, rec := range recs {
			if err := r.Ack(rec.Seq); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, "a cursor save", func() bool { return j.Stats().Fsyncs > before })
	}
}

func bodies(stream string, from, n int) []string {
	var out []string
	for i := from; i < from+n; i++ {
		out = append(out, fmt.Sprintf("%s-%06d", stream, i))
	}
	return out
}

// A named consumer reads its streams from its own cursor, independently of
// the primary consumer, and holds back retention until it has passed a
// segment; its cursor survives a reopen.
func TestConsumerOwnCursorHoldsRetention(t *testing.T) {
	dir := t.TempDir()
	files := Consumer{Name: "files", Streams: []string{"attendance"}}
	j := mustOpen(t, dir, consumerOpts(files))
	appendN(t, j, "attendance", 0, 300)
	appendN(t, j, "rooms", 0, 10)

	prim, err := j.Reader("attendance")
	if err != nil {
		t.Fatal(err)
	}
	ackAll(t, prim, bodies("attendance", 0, 300))
	rooms, err := j.Reader("rooms")
	if err != nil {
		t.Fatal(err)
	}
	ackAll(t, rooms, bodies("rooms", 0, 10))
	settle(t, j)
	if n := j.Stats().Segments; n < 3 {
		t.Fatalf("%d segments left after the primary consumer passed them: the named consumer has not", n)
	}
	cs, err := j.ConsumerStats("files")
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Depth != 300 || cs[0].Cursor != 0 || cs[0].OldestUndelivered.IsZero() {
		t.Fatalf("consumer stats %+v, want depth 300 at cursor 0", cs)
	}
	if _, err := j.ConsumerReader("files", "rooms"); err == nil {
		t.Fatal("a consumer opened a reader on a stream it does not read")
	}

	r, err := j.ConsumerReader("files", "attendance")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.ConsumerReader("files", "attendance"); err == nil {
		t.Fatal("a second reader of the same consumer and stream was opened")
	}
	recs := readAll(t, r)
	if len(recs) != 300 {
		t.Fatalf("named consumer read %d records, want 300", len(recs))
	}
	for _, rec := range recs[:120] {
		if err := r.Ack(rec.Seq); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	j = mustOpen(t, dir, consumerOpts(files))
	if rec := j.Recovery(); rec.CursorsReset != "" || len(rec.Notes) != 0 {
		t.Fatalf("reopen reported %+v", rec)
	}
	if prim, err = j.Reader("attendance"); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, prim); len(got) != 0 {
		t.Fatalf("primary consumer got %d records again after acknowledging all", len(got))
	}
	r, err = j.ConsumerReader("files", "attendance")
	if err != nil {
		t.Fatal(err)
	}
	ackAll(t, r, bodies("attendance", 120, 180))
	settle(t, j)
	if n := j.Stats().Segments; n != 1 {
		t.Fatalf("%d segments left after every consumer passed them, want 1", n)
	}
	cs, _ = j.ConsumerStats("files")
	if cs[0].Depth != 0 || cs[0].Acked != 180 {
		t.Fatalf("consumer stats %+v, want depth 0 and 180 acked", cs)
	}
}

// A consumer dropped from the configuration releases its cursors at Open and
// says so; its backlog no longer holds segments.
func TestConsumerRemovedReleasesCursors(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, dir, consumerOpts(Consumer{Name: "webhook", Streams: []string{"attendance", "rooms"}}))
	appendN(t, j, "attendance", 0, 300)
	prim, err := j.Reader("attendance")
	if err != nil {
		t.Fatal(err)
	}
	ackAll(t, prim, bodies("attendance", 0, 300))
	settle(t, j)
	if n := j.Stats().Segments; n < 3 {
		t.Fatalf("%d segments: the configured consumer should hold them", n)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	var logBuf syncBuffer
	log := zerolog.New(&logBuf)
	o := consumerOpts()
	o.Log = &log
	j = mustOpen(t, dir, o)
	notes := strings.Join(j.Recovery().Notes, "\n")
	if !strings.Contains(notes, `consumer "webhook" is no longer configured`) || !strings.Contains(notes, "attendance, rooms") {
		t.Fatalf("recovery notes %q do not report the released consumer", notes)
	}
	if !strings.Contains(logBuf.String(), `"consumer":"webhook"`) {
		t.Fatalf("log %q does not name the released consumer", logBuf.String())
	}
	settle(t, j)
	if n := j.Stats().Segments; n != 1 {
		t.Fatalf("%d segments left after the consumer holding them was removed, want 1", n)
	}
	if _, err := j.ConsumerReader("webhook", "attendance"); err == nil {
		t.Fatal("a removed consumer opened a reader")
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	// Released for good: the next open says nothing more.
	j = mustOpen(t, dir, consumerOpts())
	if notes := j.Recovery().Notes; len(notes) != 0 {
		t.Fatalf("second reopen reported %q", notes)
	}
}

func TestConsumerOptionsRejected(t *testing.T) {
	for _, c := range []Consumer{
		{Name: "", Streams: []string{"rooms"}},
		{Name: "Up/per", Streams: []string{"rooms"}},
		{Name: "x", Streams: nil},
		{Name: "x", Streams: []string{"nosuch"}},
	} {
		if _, err := Open(t.TempDir(), consumerOpts(c)); err == nil {
			t.Errorf("consumer %+v accepted", c)
		}
	}
	o := smallOpts()
	o.Streams = append(o.Streams[:len(o.Streams):len(o.Streams)], Stream{Name: "a/b"})
	if _, err := Open(t.TempDir(), o); err == nil {
		t.Error("a stream name holding / accepted")
	}
}

// A consumer behind keeps bytes on disk: its ConsumerStats.Bytes grows with
// its backlog and the segments it pins, and falls to 0 once it catches up.
func TestConsumerStatsBytes(t *testing.T) {
	j := mustOpen(t, t.TempDir(), consumerOpts(Consumer{Name: "hr", Streams: []string{"attendance"}}))
	appendN(t, j, "attendance", 0, 200) // several 4 KiB segments
	cs, err := j.ConsumerStats("hr")
	if err != nil {
		t.Fatal(err)
	}
	st := j.Stats()
	if st.Segments < 2 || cs[0].Bytes != st.DiskBytes {
		t.Fatalf("a consumer 200 records behind keeps %d bytes (journal %d)", cs[0].Bytes, st.DiskBytes)
	}
	r, err := j.ConsumerReader("hr", "attendance")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ackAll(t, r, bodies("attendance", 0, 200))
	cs, _ = j.ConsumerStats("hr")
	if cs[0].Bytes != 0 || cs[0].Depth != 0 {
		t.Fatalf("a consumer caught up keeps %d bytes, depth %d", cs[0].Bytes, cs[0].Depth)
	}
}
