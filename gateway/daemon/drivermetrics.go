package daemon

import (
	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/gateway/metrics"
)

// driverCounters reads the counters of every driver that keeps some (a
// devices.Statuser), the devices the drivers host included, for /metrics.
func driverCounters(ds []devices.Driver) metrics.DriverSource {
	return func() []metrics.DriverCounters {
		var out []metrics.DriverCounters
		for _, d := range allDrivers(ds) {
			s, ok := d.(devices.Statuser)
			if !ok {
				continue
			}
			if c := s.Status().Counters; len(c) > 0 {
				desc := d.Describe()
				out = append(out, metrics.DriverCounters{Device: desc.ID, Kind: desc.Kind, Counters: c})
			}
		}
		return out
	}
}
