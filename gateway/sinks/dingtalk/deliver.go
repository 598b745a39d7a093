package dingtalk

import (
	"context"
	"fmt"

	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/gateway/sinks/internal/cloud"
)

// PunchType is the only event type this sink sends; it accepts every
// other event without sending it.
const PunchType = "attendance.punch"

// record is the body of record/upload: exactly the fields sent.
type record struct {
	UserID        string `json:"userid"`
	DeviceName    string `json:"device_name"`
	DeviceID      string `json:"device_id"`
	UserCheckTime int64  `json:"user_check_time"`
}

// Deliver uploads a punch: nil once DingTalk stored it (or for an event
// that is not a punch), sinks.Unmapped for a person without a DingTalk
// userid (the runner holds it), an error wrapping sinks.ErrPermanent for a
// record DingTalk refuses or a punch that cannot be read, another error
// for a destination that is down or rate limited.
func (s *Sink) Deliver(ctx context.Context, ev sinks.Event) error {
	if ev.Type != PunchType {
		return nil
	}
	p, err := cloud.ParsePunch(ev.Payload)
	if err != nil {
		return sinks.Permanent(fmt.Errorf("dingtalk: %w", err))
	}
	who, err := cloud.UserID(s.o.People, Platform, p.Key())
	if err != nil {
		return err
	}
	name := s.o.DeviceName
	if name == "" {
		name = p.Device
	}
	var r reply
	err = s.post(ctx, "/topapi/attendance/record/upload", record{UserID: who.UserID, DeviceName: name,
		DeviceID: p.Device, UserCheckTime: p.At.UnixMilli()}, &r)
	if refused(err) {
		return sinks.Permanent(err) // the dead letter names the event; the platform's code must fit the alarm
	}
	return err
}
