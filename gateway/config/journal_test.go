package config

import (
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/journal"
)

func TestJournalOptions(t *testing.T) {
	doc := minimal + "\n[journal]\nsync_window = \"5ms\"\n[journal.retention]\nvisitors = \"30d\"\n"
	c, err := Parse("c.toml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	streams := []journal.Stream{{Name: "control"}, {Name: "visitors", Priority: journal.PriorityRecord}}
	o, err := c.JournalOptions(streams)
	if err != nil {
		t.Fatal(err)
	}
	if o.Streams[1].MaxAge != 30*24*time.Hour || o.Streams[0].MaxAge != 0 || streams[1].MaxAge != 0 {
		t.Errorf("streams = %+v (caller's = %+v)", o.Streams, streams)
	}
	if o.SyncWindow != 5*time.Millisecond || o.MaxBytes != 1<<30 || o.SegmentSize != 8<<20 || o.CursorInterval != time.Second {
		t.Errorf("options = %+v", o)
	}
	_, err = c.JournalOptions([]journal.Stream{{Name: "control"}, {Name: "visitor"}})
	want := `c.toml:11: journal.retention.visitors: no such stream (streams: control, visitor)`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}
