package provisioning

import (
	"fmt"
	"time"

	"github.com/officegate/officegate/firmware-bridge/msg"
)

// PushHardwareID is the hardware id under which the registry holds the
// ZKTeco PUSH terminal with serial number serial (devices/zkpush/pushdrv).
// The prefix keeps a terminal's serial apart from link hardware ids.
func PushHardwareID(serial string) string { return "zkpush:" + serial }

// PushModel is the model recorded for a PUSH terminal; rules can match it.
const PushModel = "zkteco-push"

// PushTerminal answers a request from the ZKTeco PUSH terminal with serial
// number serial, calling from address addr: the device id it was approved
// under, or "" and why it may not deliver records yet. PUSH authenticates
// nothing but the serial (pushdrv's doc), so this is all its enrollment is.
// An unknown serial becomes pending like a unit saying HELLO (kind
// attendance, model PushModel, port "tcp:" + addr), and is approved at once
// if a preapproval or a rule of the open enrollment window matches; approval
// by a person is Approve of PushHardwareID(serial). Every call is a sighting
// (Seen). An error means the registry could not be written: the terminal
// must be told to keep its records.
func (r *Registry) PushTerminal(serial, addr string) (id, why string, err error) {
	hw := PushHardwareID(serial)
	r.mu.Lock()
	defer r.mu.Unlock()
	var d Device
	err = r.updateLocked(func(s *state, now time.Time) (bool, error) {
		changed, err := r.pendingLocked(s, now, hw, msg.KindAttendance, PushModel, "tcp:"+addr, "")
		if err != nil {
			return false, err
		}
		p := s.devices[hw]
		if changed {
			p.LastSeen = now // this write carries the sighting too
		}
		d = p.clone()
		return changed, nil
	})
	if err != nil {
		return "", "", err
	}
	if err := r.seenLocked(hw, utc(r.opts.Now())); err != nil {
		return "", "", err
	}
	switch d.State {
	case StateActive:
		return d.DeviceID, "", nil
	case StatePending:
		return "", fmt.Sprintf("terminal pending approval in the gateway's registry as hardware id %q", hw), nil
	default:
		return "", fmt.Sprintf("terminal %s in the gateway's registry (hardware id %q)", d.State, hw), nil
	}
}
