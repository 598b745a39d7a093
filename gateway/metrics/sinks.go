package metrics

import (
	"slices"
	"strings"
	"time"

	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/sinks"
)

// UplinkSink is the MQTT uplink's name in the sink families: the first sink.
const UplinkSink = "mqtt"

// ConsumerSource is what the sink collector reads; *journal.Journal has it.
type ConsumerSource interface {
	Stats() journal.Stats
	ConsumerStats(consumer string) ([]journal.ConsumerStats, error)
}

func sdesc(typ, name, help string) desc { return desc{fqName("sink", name), help, typ} }

// The sink families carry the label "sink".
var (
	dSinkBacklog   = sdesc(typeGauge, "backlog", "Records the sink has not yet had accepted by its destination.")
	dSinkOldest    = sdesc(typeGauge, "oldest_undelivered_age_seconds", "Age of the sink's oldest undelivered record (0 when none; a lower bound, from its segment).")
	dSinkDelivered = sdesc(typeCounter, "delivered_total", "Records the sink's destination accepted.")
	dSinkFailed    = sdesc(typeCounter, "failed_total", "Deliveries that failed and will be retried.")
	dSinkDead      = sdesc(typeCounter, "dead_lettered_total", "Records the sink could never deliver, kept in the dead-letter stream (for mqtt: dropped as unrenderable).")
	dSinkHeld      = sdesc(typeGauge, "held", "Records the sink holds because their person has no user id on its platform in the person directory.")
	dSinkBytes     = sdesc(typeGauge, "backlog_bytes", "Journal bytes on disk the sink keeps for its backlog (segments from its oldest undelivered record on).")
	dSinkAlarm     = sdesc(typeGauge, "backlog_alarm", "1 while the sink's backlog keeps at least half of journal.max_bytes: delivering nothing, it will make the journal shed and then refuse punches.")
	dSinkLastError = sdesc(typeGauge, "last_error", "The class of the sink's last failed delivery (label class); 1 while it is still failing, 0 once it delivers again.")
	sinkDesc       = []desc{dSinkBacklog, dSinkOldest, dSinkDelivered, dSinkFailed, dSinkDead, dSinkHeld, dSinkBytes, dSinkAlarm, dSinkLastError}
)

// SinkError records the class of a sink's failing deliveries
// (sinks.ClassOf), or "" once it delivers again.
func (m *Metrics) SinkError(sink, class string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sinkErr == nil {
		m.sinkErr = map[string]string{}
	}
	if class == "" {
		if last, ok := m.sinkErr[sink]; ok {
			m.sinkErr[sink] = strings.TrimSuffix(last, "!") // no longer failing
		}
		return
	}
	m.sinkErr[sink] = class + "!"
}

func (m *Metrics) sinkError(sink string) (class string, failing bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.sinkErr[sink]
	if !ok {
		return "", false
	}
	return strings.TrimSuffix(c, "!"), strings.HasSuffix(c, "!")
}

// Delivered counts a record a sink's destination accepted.
func (m *Metrics) Delivered(sink string) { m.sinkDelivered.inc(sink) }

// Failed counts a failed delivery of a sink.
func (m *Metrics) Failed(sink string) { m.sinkFailed.inc(sink) }

// DeadLettered counts a record a sink could never deliver.
func (m *Metrics) DeadLettered(sink string) { m.sinkDead.inc(sink) }

// Held sets how many records a sink holds for people not yet mapped
// (gateway/sinks, "Held records").
func (m *Metrics) Held(sink string, n int) { m.sinkHeld.set(sink, float64(n)) }

// WatchSinks registers the sink families: for the uplink (UplinkSink), from
// the journal's primary cursors of uplinkStreams and the uplink's counters;
// for each named sink, from its journal consumer and the counts above. Call
// it once.
func (m *Metrics) WatchSinks(src ConsumerSource, uplinkStreams, sinks []string) error {
	c := &sinkCollector{m: m, src: src, uplink: uplinkStreams, sinks: slices.Sorted(slices.Values(sinks))}
	names := make([]string, len(sinkDesc))
	for i, d := range sinkDesc {
		names[i] = d.name
	}
	return m.reg.register(funcCollector(c.collect), names...)
}

type sinkCollector struct {
	// Immutable.
	m      *Metrics
	src    ConsumerSource
	uplink []string
	sinks  []string // sorted
}

func (c *sinkCollector) collect(dst []family) []family {
	now := c.m.now()
	fams := []*family{{desc: dSinkBacklog}, {desc: dSinkOldest}, {desc: dSinkDelivered}, {desc: dSinkFailed}, {desc: dSinkDead}, {desc: dSinkHeld}}
	add := func(sink string, backlog uint64, oldest time.Time, delivered, failed, dead float64) {
		held := c.m.sinkHeld.get(sink)
		age := 0.0
		if backlog > 0 && !oldest.IsZero() {
			age = max(now.Sub(oldest).Seconds(), 0)
		}
		for i, v := range []float64{float64(backlog), age, delivered, failed, dead, held} {
			fams[i].samples = append(fams[i].samples, sample{label: "sink", value: sink, v: v})
		}
	}
	type row struct {
		name    string
		backlog uint64
		oldest  time.Time
	}
	var rows []row
	if len(c.uplink) > 0 {
		r := row{name: UplinkSink}
		for _, st := range c.src.Stats().Streams {
			if slices.Contains(c.uplink, st.Name) {
				r.backlog += st.Depth
				r.oldest = earliest(r.oldest, st.OldestUndelivered)
			}
		}
		rows = append(rows, r)
	}
	maxBytes := c.src.Stats().MaxBytes
	fBytes, fAlarm, fErr := &family{desc: dSinkBytes}, &family{desc: dSinkAlarm}, &family{desc: dSinkLastError}
	for _, name := range c.sinks {
		r := row{name: name}
		cs, _ := c.src.ConsumerStats(name) // an unknown sink reports an empty backlog
		var bytes int64
		for _, s := range cs {
			r.backlog += s.Depth
			r.oldest = earliest(r.oldest, s.OldestUndelivered)
			bytes = max(bytes, s.Bytes) // its streams share segments
		}
		rows = append(rows, r)
		alarm := 0.0
		if sinks.BacklogAlarm(bytes, maxBytes) {
			alarm = 1
		}
		fBytes.samples = append(fBytes.samples, sample{label: "sink", value: name, v: float64(bytes)})
		fAlarm.samples = append(fAlarm.samples, sample{label: "sink", value: name, v: alarm})
		if class, failing := c.m.sinkError(name); class != "" {
			v := 0.0
			if failing {
				v = 1
			}
			fErr.samples = append(fErr.samples, sample{label: "sink", value: name, pairs: []labelPair{{"class", class}}, v: v})
		}
	}
	slices.SortFunc(rows, func(a, b row) int { return strings.Compare(a.name, b.name) })
	for _, r := range rows {
		if r.name == UplinkSink && len(c.uplink) > 0 {
			add(r.name, r.backlog, r.oldest, c.m.published.total(), c.m.publishErrors.total(), c.m.undeliverable.total())
			continue
		}
		add(r.name, r.backlog, r.oldest, c.m.sinkDelivered.get(r.name), c.m.sinkFailed.get(r.name), c.m.sinkDead.get(r.name))
	}
	for _, f := range append(fams, fBytes, fAlarm, fErr) {
		dst = append(dst, *f)
	}
	return dst
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}
