package config

import (
	"strings"

	"github.com/officegate/officegate/gateway/journal"
)

// JournalOptions returns the journal's options for the gateway's streams,
// with [journal.retention] applied as each stream's MaxAge. A retention entry
// naming no stream is an error located in the file: a typo must not leave
// visitor data kept forever. Now, Log and OnSync are left for the caller.
func (c *Config) JournalOptions(streams []journal.Stream) (journal.Options, error) {
	out := make([]journal.Stream, len(streams))
	copy(out, streams)
	known := map[string]bool{}
	names := make([]string, len(streams))
	for i := range out {
		known[out[i].Name] = true
		names[i] = out[i].Name
		if d, ok := c.Journal.Retention[out[i].Name]; ok {
			out[i].MaxAge = d
		}
	}
	var errs []error
	for _, name := range sortedKeys(c.Journal.Retention) {
		if !known[name] {
			errs = append(errs, c.Errorf("journal.retention."+keyName([]byte(name)), nil,
				"no such stream (streams: %s)", strings.Join(names, ", ")))
		}
	}
	if len(errs) > 0 {
		p := problems{}
		for _, e := range errs {
			p.errs = append(p.errs, e.(*Error))
		}
		return journal.Options{}, p.err()
	}
	return journal.Options{
		Streams:        out,
		SegmentSize:    c.Journal.SegmentSize,
		MaxBytes:       c.Journal.MaxBytes,
		SyncWindow:     c.Journal.SyncWindow,
		CursorInterval: c.Journal.CursorInterval,
	}, nil
}
