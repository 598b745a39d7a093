package metrics

import (
	"slices"
	"strings"
)

// DriverCounters is one driver's cumulative counters as a scrape reads them
// (devices.Status.Counters): a PUSH terminal's punches and refusals, a 4370
// terminal's, a kiosk's, a reader's.
type DriverCounters struct {
	Device, Kind string
	Counters     map[string]uint64
}

// DriverSource lists the drivers' counters at each scrape. It must be quick
// and must not block: it runs in the /metrics handler.
type DriverSource func() []DriverCounters

var dDriverCounter = desc{fqName("driver", "counter_total"),
	"A driver's own cumulative counters, by device, kind and counter: each kind's names are listed in docs/OPERATIONS.md (e.g. zkpush punches, lines_refused, templates_refused, photos_refused, uploads_refused).", typeCounter}

// WatchDrivers registers a collector that reads src at each scrape. Call it
// once. The counter label takes the names a driver gives (snake_case, a
// fixed set per kind), so the series stay bounded.
func (m *Metrics) WatchDrivers(src DriverSource) error {
	return m.reg.register(funcCollector(func(dst []family) []family { return collectDrivers(dst, src()) }), dDriverCounter.name)
}

func collectDrivers(dst []family, ds []DriverCounters) []family {
	ds = slices.Clone(ds)
	slices.SortFunc(ds, func(a, b DriverCounters) int { return strings.Compare(a.Device, b.Device) })
	f := family{desc: dDriverCounter}
	for _, d := range ds {
		names := make([]string, 0, len(d.Counters))
		for k := range d.Counters {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			f.samples = append(f.samples, sample{label: "device", value: d.Device,
				pairs: []labelPair{{"kind", d.Kind}, {"counter", k}}, v: float64(d.Counters[k])})
		}
	}
	return append(dst, f)
}
