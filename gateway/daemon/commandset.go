package daemon

import (
	"fmt"
	"slices"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/linkdev"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/gateway/commands"
	"github.com/officegate/officegate/provisioning"
)

// The one table of the command names each device accepts, by kind, in the
// contract's dotted form (MQTT.md §6). A command is checked against it before
// it is queued and again before it is executed, whatever path it came by: a
// link-level alias ("user_upsert", "set_time") is no name of the contract
// and is refused, so nothing reaches a device around its checks.
//
//   - a device on the firmware-bridge link: clockCommands, plus the
//     Commands of its kind (devices.LinkKind, from linkdev's registry: the
//     kind from its HELLO, else the configured or registered one), each
//     checked by the kind's CheckCommand;
//   - a driver: the names its Describe lists (kiosk.Commands,
//     room.Commands), if it is a devices.Commander;
//   - the gateway itself: the admin service's commands.
//
// A kind's Internal commands are what other drivers send a link device
// through a Sender (a room driver to its panel), never accepted from MQTT:
// the room driver owns the panel's display.
var clockCommands = []string{"time.set"} // MQTT.md §6.1: the gateway syncs the clock; no time is ever written

// accepted returns the names device takes over MQTT (internal: from
// another driver as well), or ErrUnknownDevice wrapped with its id.
func (r router) accepted(device string, internal bool) ([]string, error) {
	if device == "" {
		if svc := r.admin.Load(); svc != nil {
			return svc.Commands(), nil
		}
		return nil, nil // no gateway commands without provisioning
	}
	if d, ok := r.driver(device); ok {
		if _, ok := d.(devices.Commander); !ok {
			return nil, nil
		}
		return d.Describe().Commands, nil
	}
	kind, ok := r.linkKind(device)
	if !ok {
		return nil, fmt.Errorf("%w %q", commands.ErrUnknownDevice, device)
	}
	lk, _ := linkdev.ByName(kind)
	names := slices.Concat(clockCommands, lk.Commands)
	if internal {
		names = append(names, lk.Internal...)
	}
	return names, nil
}

// linkKind is the kind of a link device: what its HELLO said, else what
// the configuration or the registry says. false: no such device here.
func (r router) linkKind(device string) (string, bool) {
	if lg := r.links.byDevice(device); lg != nil {
		if st := lg.Status(); st.HardwareID != "" {
			return kindName(st.Kind), true
		}
		return r.kinds[device], true
	}
	if k, ok := r.kinds[device]; ok {
		return k, true
	}
	if r.reg != nil {
		if d, err := r.reg.Get(device); err == nil && d.State != provisioning.StateRetired {
			return kindName(d.Kind), true
		}
	}
	return "", false
}

// check refuses, before anything is queued or sent, a command device does
// not take: commands.ErrUnknownDevice or commands.ErrUnsupported, wrapped
// with the device and the name.
func (r router) check(device, name string, internal bool) error {
	names, err := r.accepted(device, internal)
	if err != nil {
		return err
	}
	if !slices.Contains(names, name) {
		who := fmt.Sprintf("device %q", device)
		if device == "" {
			who = "the gateway"
		}
		hint := ""
		for _, n := range names {
			if n != name && msg.CommandName(n) == name {
				hint = fmt.Sprintf(" (%q is the device link's name for %q; only the contract's names are accepted)", name, n)
			}
		}
		return fmt.Errorf("%w: %s has no command %q%s", commands.ErrUnsupported, who, name, hint)
	}
	return nil
}
