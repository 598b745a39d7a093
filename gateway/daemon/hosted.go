package daemon

import (
	"context"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/uplink"
)

// hostDriver is a driver that serves devices approved at run time beside
// its own (pushdrv: PUSH terminals enrolled by serial number through the
// registry). They get status, metrics and commands like configured drivers.
type hostDriver interface {
	Hosted() []devices.Driver
}

// driver returns the driver of device: a configured one, or one a
// configured driver hosts.
func (r router) driver(device string) (devices.Driver, bool) {
	if d, ok := r.drivers[device]; ok {
		return d, true
	}
	for _, d := range r.drivers {
		h, ok := d.(hostDriver)
		if !ok {
			continue
		}
		for _, e := range h.Hosted() {
			if e.Describe().ID == device {
				return e, true
			}
		}
	}
	return nil, false
}

// allDrivers returns the configured drivers and the ones they host.
func allDrivers(ds []devices.Driver) []devices.Driver {
	out := append([]devices.Driver(nil), ds...)
	for _, d := range ds {
		if h, ok := d.(hostDriver); ok {
			out = append(out, h.Hosted()...)
		}
	}
	return out
}

// hostedStatus publishes the retained status of the devices h hosts, as
// driverStatus does for a configured driver, until ctx ends.
func hostedStatus(ctx context.Context, h hostDriver, up *uplink.Uplink) {
	last := map[string]envelope.DeviceStatus{}
	t := time.NewTicker(driverStatusEvery)
	defer t.Stop()
	for {
		for _, d := range h.Hosted() {
			st := statusOf(d)
			if st != last[st.Device] {
				up.SetDeviceStatus(st)
				last[st.Device] = st
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
