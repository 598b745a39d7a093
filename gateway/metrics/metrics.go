package metrics

import (
	"sync"
	"time"

	"github.com/officegate/officegate/gateway/envelope"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Namespace prefixes every metric name.
const Namespace = "officegate"

// MaxDevices caps the device label's values; a gateway drives a floor of
// devices, a few dozen, so reaching it means ids are not device ids.
const MaxDevices = 1024

// Opts configure New. A nil *Opts means the defaults.
type Opts struct {
	// Now is the clock for ages and health. Default time.Now.
	Now func() time.Time
	// NoRuntime leaves out the Go and process collectors (tests that compare
	// the whole output).
	NoRuntime bool
}

// Metrics is the gateway's registry and the metrics the daemon reports into.
// Its methods are safe for concurrent use and never block.
type Metrics struct {
	// Immutable.
	reg *prometheus.Registry
	now func() time.Time

	syncLatency   prometheus.Histogram
	published     *prometheus.CounterVec
	publishErrors *prometheus.CounterVec
	undeliverable *prometheus.CounterVec
	connFailures  prometheus.Counter
	pubackLatency prometheus.Histogram
	inflight      prometheus.Gauge
	connectedG    prometheus.Gauge
	reconnects    prometheus.Counter
	lastSeen      *prometheus.GaugeVec
	dropped       prometheus.Counter

	mu sync.Mutex
	// Guarded by mu.
	connected bool
	seenUp    bool      // connected at least once
	changed   time.Time // when connected last changed, or New
	devices   map[string]bool
}

// Latency buckets, in seconds. fsync on an SD card ranges from under a
// millisecond to seconds when the card is garbage-collecting; PUBACKs on a LAN
// take a millisecond, over a WAN tens to hundreds.
var (
	syncBuckets   = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}
	pubackBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
)

// New returns a registry with the Go and process collectors and the
// gateway's metrics.
func New(opts *Opts) *Metrics {
	if opts == nil {
		opts = &Opts{}
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	m := &Metrics{reg: prometheus.NewRegistry(), now: now, devices: map[string]bool{}}
	m.changed = now()
	if !opts.NoRuntime {
		m.reg.MustRegister(
			collectors.NewGoCollector(),
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{Namespace: Namespace}),
		)
	}
	f := factory{m.reg}
	m.syncLatency = f.histogram("journal", "sync_seconds", "Latency of the fdatasync that makes a group commit durable.", syncBuckets)
	m.published = f.counterVec("uplink", "published_total", "Records the broker acknowledged (PUBACK), by journal stream.", "stream")
	m.publishErrors = f.counterVec("uplink", "publish_errors_total", "Publishes that failed or were not acknowledged before the connection ended, by journal stream.", "stream")
	m.undeliverable = f.counterVec("uplink", "undeliverable_total", "Journaled records that could not be rendered for publishing and were dropped, by journal stream.", "stream")
	m.connFailures = f.counter("uplink", "connection_failures_total", "Connection attempts that failed and connections that ended.")
	m.pubackLatency = f.histogram("uplink", "puback_seconds", "Time from sending a PUBLISH to its PUBACK.", pubackBuckets)
	m.inflight = f.gauge("uplink", "inflight", "Publishes awaiting their PUBACK.")
	m.connectedG = f.gauge("uplink", "connected", "1 while connected to the broker, else 0.")
	m.reconnects = f.counter("uplink", "reconnects_total", "Connections established after the first one.")
	m.dropped = f.counter("metrics", "device_labels_dropped_total", "Device reports not recorded because MaxDevices ids were already recorded or the id was not a valid device id.")
	m.lastSeen = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Subsystem: "device", Name: "last_seen_timestamp_seconds",
		Help: "Unix time of the last frame received from the device.",
	}, []string{"device"})
	m.reg.MustRegister(m.lastSeen)
	return m
}

type factory struct{ reg *prometheus.Registry }

func (f factory) counter(sub, name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Subsystem: sub, Name: name, Help: help})
	f.reg.MustRegister(c)
	return c
}

func (f factory) counterVec(sub, name, help, label string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Subsystem: sub, Name: name, Help: help}, []string{label})
	f.reg.MustRegister(c)
	return c
}

func (f factory) gauge(sub, name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Subsystem: sub, Name: name, Help: help})
	f.reg.MustRegister(g)
	return g
}

func (f factory) histogram(sub, name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Subsystem: sub, Name: name, Help: help, Buckets: buckets})
	f.reg.MustRegister(h)
	return h
}

// Registry is the registry the handler serves, for the daemon to add its own
// collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// OnSync has the signature of journal.Options.OnSync: pass m.OnSync there.
func (m *Metrics) OnSync(latency time.Duration, records, bytes int) {
	m.syncLatency.Observe(latency.Seconds())
}

// The uplink's reports (uplink.Metrics). Stream labels are the journal's
// stream names, a fixed handful.

// Published counts a PUBACK'd record of a stream and its PUBACK latency.
func (m *Metrics) Published(stream string, ackLatency time.Duration) {
	m.published.WithLabelValues(stream).Inc()
	m.pubackLatency.Observe(ackLatency.Seconds())
}

// PublishFailed counts a publish that failed or lost its connection.
func (m *Metrics) PublishFailed(stream string) { m.publishErrors.WithLabelValues(stream).Inc() }

// Undeliverable counts a journaled record that cannot be published.
func (m *Metrics) Undeliverable(stream string) { m.undeliverable.WithLabelValues(stream).Inc() }

// Reconnect counts a failed connection attempt or an ended connection; the
// error is the logger's business, not a label.
func (m *Metrics) Reconnect(err error) { m.connFailures.Inc() }

// Inflight sets the number of publishes awaiting their PUBACK.
func (m *Metrics) Inflight(n int) { m.inflight.Set(float64(n)) }

// Connected records the connection state; a connection after the first
// counts as a reconnect.
func (m *Metrics) Connected(up bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if up == m.connected {
		return
	}
	if up {
		m.connectedG.Set(1)
		if m.seenUp {
			m.reconnects.Inc()
		}
		m.seenUp = true
	} else {
		m.connectedG.Set(0)
	}
	m.connected, m.changed = up, m.now()
}

// DeviceSeen records that a frame arrived from the device at t. Ids that are
// not valid device ids, and ids past MaxDevices distinct ones, are counted
// in officegate_metrics_device_labels_dropped_total instead.
func (m *Metrics) DeviceSeen(id string, t time.Time) {
	m.mu.Lock()
	ok := m.devices[id]
	if !ok && len(m.devices) < MaxDevices && envelope.CheckLevel("device id", id) == nil {
		m.devices[id], ok = true, true
	}
	m.mu.Unlock()
	if !ok {
		m.dropped.Inc()
		return
	}
	m.lastSeen.WithLabelValues(id).Set(float64(t.UnixNano()) / 1e9)
}

// DeviceRemoved forgets a retired device's series.
func (m *Metrics) DeviceRemoved(id string) {
	m.mu.Lock()
	delete(m.devices, id)
	m.mu.Unlock()
	m.lastSeen.DeleteLabelValues(id)
}
