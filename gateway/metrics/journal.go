package metrics

import (
	"time"

	"github.com/officegate/officegate/gateway/journal"
	"github.com/prometheus/client_golang/prometheus"
)

// StatsSource is what the journal collector reads; *journal.Journal has it.
type StatsSource interface {
	Stats() journal.Stats
}

// WatchJournal registers a collector that reads src.Stats() at each scrape.
// Call it once per journal.
func (m *Metrics) WatchJournal(src StatsSource) error {
	return m.reg.Register(&journalCollector{src: src, now: m.now})
}

type journalCollector struct {
	src StatsSource
	now func() time.Time
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "journal", name), help, labels, nil)
}

var (
	dDepth      = desc("depth", "Records of the stream not yet acknowledged by the broker.", "stream")
	dOldest     = desc("oldest_undelivered_age_seconds", "Age of the oldest undelivered record of the stream (0 when none; a lower bound, from its segment).", "stream")
	dAppended   = desc("appended_total", "Records appended to the stream since the journal opened.", "stream")
	dAcked      = desc("acked_total", "Records of the stream acknowledged since the journal opened.", "stream")
	dShed       = desc("shed_total", "Undelivered records of the stream dropped to stay under the disk cap.", "stream")
	dExpired    = desc("expired_total", "Undelivered records of the stream deleted by its retention limit.", "stream")
	dSegments   = desc("segments", "Segment files on disk.")
	dDiskBytes  = desc("disk_bytes", "Bytes of segment files on disk (preallocated).")
	dMaxBytes   = desc("max_bytes", "The journal's disk cap in bytes.")
	dCommits    = desc("commits_total", "Group commits since the journal opened.")
	dRecords    = desc("records_total", "Records committed since the journal opened.")
	dBytes      = desc("written_bytes_total", "Record bytes committed since the journal opened.")
	dFsyncs     = desc("fsyncs_total", "fdatasync and fsync calls since the journal opened, metadata included.")
	dSyncTime   = desc("fsync_seconds_total", "Time spent in fdatasync and fsync since the journal opened.")
	dLosses     = desc("damaged_ranges", "Damaged ranges found while reading since the journal opened.")
	dFailed     = desc("failed", "1 once a write or fsync failed: the journal accepts nothing more until restarted.")
	journalDesc = []*prometheus.Desc{dDepth, dOldest, dAppended, dAcked, dShed, dExpired, dSegments, dDiskBytes,
		dMaxBytes, dCommits, dRecords, dBytes, dFsyncs, dSyncTime, dLosses, dFailed}
)

func (c *journalCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range journalDesc {
		ch <- d
	}
}

func (c *journalCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.src.Stats()
	now := c.now()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	for _, st := range s.Streams {
		gauge(dDepth, float64(st.Depth), st.Name)
		age := 0.0
		if st.Depth > 0 && !st.OldestUndelivered.IsZero() {
			age = max(now.Sub(st.OldestUndelivered).Seconds(), 0)
		}
		gauge(dOldest, age, st.Name)
		counter(dAppended, float64(st.Appended), st.Name)
		counter(dAcked, float64(st.Acked), st.Name)
		counter(dShed, float64(st.Shed), st.Name)
		counter(dExpired, float64(st.Expired), st.Name)
	}
	gauge(dSegments, float64(s.Segments))
	gauge(dDiskBytes, float64(s.DiskBytes))
	gauge(dMaxBytes, float64(s.MaxBytes))
	counter(dCommits, float64(s.Commits))
	counter(dRecords, float64(s.Records))
	counter(dBytes, float64(s.Bytes))
	counter(dFsyncs, float64(s.Fsyncs))
	counter(dSyncTime, s.SyncTime.Seconds())
	gauge(dLosses, float64(len(s.Losses)))
	failed := 0.0
	if s.Failed != nil {
		failed = 1
	}
	gauge(dFailed, failed)
}
