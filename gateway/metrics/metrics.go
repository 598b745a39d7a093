package metrics

import (
	"sync"
	"time"

	"github.com/officegate/officegate/gateway/envelope"
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
	// NoRuntime leaves out the Go and process metrics (tests that compare
	// the whole output).
	NoRuntime bool
}

// Metrics is the gateway's registry and the metrics the daemon reports into.
// Its methods are safe for concurrent use and never block.
type Metrics struct {
	// Immutable.
	reg *registry
	now func() time.Time

	syncLatency   *histogram
	published     *vec
	publishErrors *vec
	undeliverable *vec
	connFailures  *scalar
	pubackLatency *histogram
	inflight      *scalar
	connectedG    *scalar
	reconnects    *scalar
	lastSeen      *vec
	dropped       *scalar
	unreadable    *scalar // commands.go
	// sinks.go: registered by WatchSinks, in its collector.
	sinkDelivered, sinkFailed, sinkDead *vec
	sinkHeld                            *vec // gauge

	mu sync.Mutex
	// Guarded by mu.
	connected bool
	seenUp    bool      // connected at least once
	changed   time.Time // when connected last changed, or New
	devices   map[string]bool
	sinkErr   map[string]string // sink → its last error class, "!" appended while failing
}

// Latency buckets, in seconds. fsync on an SD card ranges from under a
// millisecond to seconds when the card is garbage-collecting; PUBACKs on a LAN
// take a millisecond, over a WAN tens to hundreds.
var (
	syncBuckets   = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}
	pubackBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
)

// New returns a registry with the Go and process metrics and the gateway's
// metrics.
func New(opts *Opts) *Metrics {
	if opts == nil {
		opts = &Opts{}
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	m := &Metrics{reg: &registry{}, now: now, devices: map[string]bool{}}
	m.changed = now()
	if !opts.NoRuntime {
		m.reg.mustRegister(funcCollector(collectRuntime), runtimeNames...)
	}
	f := factory{m.reg}
	m.syncLatency = f.histogram("journal", "sync_seconds", "Latency of the fdatasync that makes a group commit durable.", syncBuckets)
	m.published = f.vec(typeCounter, "uplink", "published_total", "Records the broker acknowledged (PUBACK), by journal stream.", "stream")
	m.publishErrors = f.vec(typeCounter, "uplink", "publish_errors_total", "Publishes that failed or were not acknowledged before the connection ended, by journal stream.", "stream")
	m.undeliverable = f.vec(typeCounter, "uplink", "undeliverable_total", "Journaled records that could not be rendered for publishing and were dropped, by journal stream.", "stream")
	m.connFailures = f.scalar(typeCounter, "uplink", "connection_failures_total", "Connection attempts that failed and connections that ended.")
	m.pubackLatency = f.histogram("uplink", "puback_seconds", "Time from sending a PUBLISH to its PUBACK.", pubackBuckets)
	m.inflight = f.scalar(typeGauge, "uplink", "inflight", "Publishes awaiting their PUBACK.")
	m.connectedG = f.scalar(typeGauge, "uplink", "connected", "1 while connected to the broker, else 0.")
	m.reconnects = f.scalar(typeCounter, "uplink", "reconnects_total", "Connections established after the first one.")
	m.dropped = f.scalar(typeCounter, "metrics", "device_labels_dropped_total", "Device reports not recorded because MaxDevices ids were already recorded or the id was not a valid device id.")
	m.lastSeen = f.vec(typeGauge, "device", "last_seen_timestamp_seconds", "Unix time of the last frame received from the device.", "device")
	m.unreadable = f.scalar(typeCounter, "commands", "unreadable_total", "Commands that could not be answered: no readable id, or no valid command name in the topic (MQTT.md §6 rule 1).")
	m.sinkDelivered, m.sinkFailed, m.sinkDead = newVec(typeCounter, "", "", "sink"), newVec(typeCounter, "", "", "sink"), newVec(typeCounter, "", "", "sink")
	m.sinkHeld = newVec(typeGauge, "", "", "sink")
	return m
}

// factory names metrics Namespace_subsystem_name and registers them.
type factory struct{ reg *registry }

func fqName(sub, name string) string { return Namespace + "_" + sub + "_" + name }

func (f factory) scalar(typ, sub, name, help string) *scalar {
	s := newScalar(typ, fqName(sub, name), help)
	f.reg.mustRegister(s, s.name)
	return s
}

func (f factory) vec(typ, sub, name, help, label string) *vec {
	v := newVec(typ, fqName(sub, name), help, label)
	f.reg.mustRegister(v, v.name)
	return v
}

func (f factory) histogram(sub, name, help string, buckets []float64) *histogram {
	h := newHistogram(fqName(sub, name), help, buckets)
	f.reg.mustRegister(h, h.name)
	return h
}

// OnSync has the signature of journal.Options.OnSync: pass m.OnSync there.
func (m *Metrics) OnSync(latency time.Duration, records, bytes int) {
	m.syncLatency.observe(latency.Seconds())
}

// The uplink's reports (uplink.Metrics). Stream labels are the journal's
// stream names, a fixed handful.

// Published counts a PUBACK'd record of a stream and its PUBACK latency.
func (m *Metrics) Published(stream string, ackLatency time.Duration) {
	m.published.inc(stream)
	m.pubackLatency.observe(ackLatency.Seconds())
}

// PublishFailed counts a publish that failed or lost its connection.
func (m *Metrics) PublishFailed(stream string) { m.publishErrors.inc(stream) }

// Undeliverable counts a journaled record that cannot be published.
func (m *Metrics) Undeliverable(stream string) { m.undeliverable.inc(stream) }

// Reconnect counts a failed connection attempt or an ended connection; the
// error is the logger's business, not a label.
func (m *Metrics) Reconnect(err error) { m.connFailures.inc() }

// Inflight sets the number of publishes awaiting their PUBACK.
func (m *Metrics) Inflight(n int) { m.inflight.set(float64(n)) }

// Connected records the connection state; a connection after the first
// counts as a reconnect.
func (m *Metrics) Connected(up bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if up == m.connected {
		return
	}
	if up {
		m.connectedG.set(1)
		if m.seenUp {
			m.reconnects.inc()
		}
		m.seenUp = true
	} else {
		m.connectedG.set(0)
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
		m.dropped.inc()
		return
	}
	m.lastSeen.set(id, float64(t.UnixNano())/1e9)
}

// DeviceRemoved forgets a retired device's series.
func (m *Metrics) DeviceRemoved(id string) {
	m.mu.Lock()
	delete(m.devices, id)
	m.mu.Unlock()
	m.lastSeen.delete(id)
}
