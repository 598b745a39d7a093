package metrics_test

import (
	"testing"

	"github.com/officegate/officegate/gateway/metrics"
)

// TestDriverCounters: a driver's Status counters are exported with its
// device, kind and counter name, sorted, read at each scrape.
func TestDriverCounters(t *testing.T) {
	m := metrics.New(&metrics.Opts{NoRuntime: true})
	push := map[string]uint64{"punches": 12, "lines_refused": 1, "templates_refused": 3}
	if err := m.WatchDrivers(func() []metrics.DriverCounters {
		return []metrics.DriverCounters{
			{Device: "zk-lobby", Kind: "zkpush", Counters: push},
			{Device: "reader-lobby", Kind: "reader", Counters: map[string]uint64{"events_lost": 0}},
		}
	}); err != nil {
		t.Fatal(err)
	}
	out := scrape(t, metrics.Handler(m, &metrics.Health{}))
	wantLines(t, out,
		`# TYPE officegate_driver_counter_total counter`,
		`officegate_driver_counter_total{device="reader-lobby",kind="reader",counter="events_lost"} 0`,
		`officegate_driver_counter_total{device="zk-lobby",kind="zkpush",counter="lines_refused"} 1`,
		`officegate_driver_counter_total{device="zk-lobby",kind="zkpush",counter="punches"} 12`,
		`officegate_driver_counter_total{device="zk-lobby",kind="zkpush",counter="templates_refused"} 3`,
	)
	push["punches"] = 13
	wantLines(t, scrape(t, metrics.Handler(m, &metrics.Health{})), `officegate_driver_counter_total{device="zk-lobby",kind="zkpush",counter="punches"} 13`)
	if err := m.WatchDrivers(func() []metrics.DriverCounters { return nil }); err == nil {
		t.Fatal("a second WatchDrivers was accepted")
	}
}
