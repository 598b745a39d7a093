package metrics

import (
	"slices"
	"strings"
	"time"

	"github.com/officegate/officegate/gateway/journal"
)

// StatsSource is what the journal collector reads; *journal.Journal has it.
type StatsSource interface {
	Stats() journal.Stats
}

// WatchJournal registers a collector that reads src.Stats() at each scrape.
// Call it once: the families have no journal label, so a second journal is
// refused (errDuplicate).
func (m *Metrics) WatchJournal(src StatsSource) error {
	c := &journalCollector{src: src, now: m.now}
	names := make([]string, len(journalDesc))
	for i, d := range journalDesc {
		names[i] = d.name
	}
	return m.reg.register(funcCollector(c.collect), names...)
}

type journalCollector struct {
	src StatsSource
	now func() time.Time
}

func jdesc(typ, name, help string) desc { return desc{fqName("journal", name), help, typ} }

// The stream families carry the label "stream"; the others none.
var (
	dDepth      = jdesc(typeGauge, "depth", "Records of the stream not yet acknowledged by the broker.")
	dOldest     = jdesc(typeGauge, "oldest_undelivered_age_seconds", "Age of the oldest undelivered record of the stream (0 when none; a lower bound, from its segment).")
	dAppended   = jdesc(typeCounter, "appended_total", "Records appended to the stream since the journal opened.")
	dAcked      = jdesc(typeCounter, "acked_total", "Records of the stream acknowledged since the journal opened.")
	dShed       = jdesc(typeCounter, "shed_total", "Undelivered records of the stream dropped to stay under the disk cap.")
	dExpired    = jdesc(typeCounter, "expired_total", "Undelivered records of the stream deleted by its retention limit.")
	dRefused    = jdesc(typeCounter, "refused_total", "Records of the stream refused because the journal was full (the device was told busy and kept them).")
	dSegments   = jdesc(typeGauge, "segments", "Segment files on disk.")
	dDiskBytes  = jdesc(typeGauge, "disk_bytes", "Bytes of segment files on disk (preallocated).")
	dMaxBytes   = jdesc(typeGauge, "max_bytes", "The journal's disk cap in bytes.")
	dCommits    = jdesc(typeCounter, "commits_total", "Group commits since the journal opened.")
	dRecords    = jdesc(typeCounter, "records_total", "Records committed since the journal opened.")
	dBytes      = jdesc(typeCounter, "written_bytes_total", "Record bytes committed since the journal opened.")
	dFsyncs     = jdesc(typeCounter, "fsyncs_total", "fdatasync and fsync calls since the journal opened, metadata included.")
	dSyncTime   = jdesc(typeCounter, "fsync_seconds_total", "Time spent in fdatasync and fsync since the journal opened.")
	dLosses     = jdesc(typeGauge, "damaged_ranges", "Damaged ranges found while reading since the journal opened.")
	dFailed     = jdesc(typeGauge, "failed", "1 once a write or fsync failed: the journal accepts nothing more until restarted.")
	dCompacted  = jdesc(typeCounter, "compactions_total", "Segments rewritten without shed or delivered records to make room under the disk cap.")
	dFull       = jdesc(typeGauge, "full", "1 while the journal refuses appends for lack of room (cap reached or file system full).")
	dFreeBytes  = jdesc(typeGauge, "fs_free_bytes", "Bytes free for the journal on its file system (statfs f_bavail).")
	journalDesc = []desc{dDepth, dOldest, dAppended, dAcked, dShed, dExpired, dRefused, dSegments, dDiskBytes,
		dMaxBytes, dCommits, dRecords, dBytes, dFsyncs, dSyncTime, dLosses, dFailed, dCompacted, dFull, dFreeBytes}
)

func (c *journalCollector) collect(dst []family) []family {
	s := c.src.Stats()
	now := c.now()
	// Per-stream families, series in the order of sortStreams.
	streams := []*family{{desc: dDepth}, {desc: dOldest}, {desc: dAppended}, {desc: dAcked}, {desc: dShed}, {desc: dExpired}, {desc: dRefused}}
	for _, st := range sortStreams(s.Streams) {
		age := 0.0
		if st.Depth > 0 && !st.OldestUndelivered.IsZero() {
			age = max(now.Sub(st.OldestUndelivered).Seconds(), 0)
		}
		for i, v := range []float64{float64(st.Depth), age, float64(st.Appended), float64(st.Acked), float64(st.Shed), float64(st.Expired), float64(st.Refused)} {
			streams[i].samples = append(streams[i].samples, sample{label: "stream", value: st.Name, v: v})
		}
	}
	for _, f := range streams {
		dst = append(dst, *f)
	}
	one := func(d desc, v float64) { dst = append(dst, family{d, []sample{{v: v}}}) }
	one(dSegments, float64(s.Segments))
	one(dDiskBytes, float64(s.DiskBytes))
	one(dMaxBytes, float64(s.MaxBytes))
	one(dCommits, float64(s.Commits))
	one(dRecords, float64(s.Records))
	one(dBytes, float64(s.Bytes))
	one(dFsyncs, float64(s.Fsyncs))
	one(dSyncTime, s.SyncTime.Seconds())
	one(dLosses, float64(len(s.Losses)))
	failed := 0.0
	if s.Failed != nil {
		failed = 1
	}
	one(dFailed, failed)
	one(dCompacted, float64(s.Compactions))
	full := 0.0
	if s.Full.Full {
		full = 1
	}
	one(dFull, full)
	if s.FreeBytes >= 0 {
		one(dFreeBytes, float64(s.FreeBytes))
	}
	return dst
}

// sortStreams returns the streams sorted by name, the series order of the
// text format (expose.go); stream names are unique in a journal.
func sortStreams(ss []journal.StreamStats) []journal.StreamStats {
	ss = slices.Clone(ss)
	slices.SortFunc(ss, func(a, b journal.StreamStats) int { return strings.Compare(a.Name, b.Name) })
	return ss
}
