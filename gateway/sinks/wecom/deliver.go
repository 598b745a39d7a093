package wecom

import (
	"context"
	"errors"
	"fmt"

	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/gateway/sinks/internal/cloud"
)

// record is one check-in record of add_checkin_record (document 99647):
// exactly the fields sent, nothing of the event besides.
type record struct {
	UserID         string `json:"userid"`
	CheckinTime    int64  `json:"checkin_time"`
	LocationTitle  string `json:"location_title"`
	LocationDetail string `json:"location_detail"`
	Notes          string `json:"notes"`
	DeviceType     int    `json:"device_type"`
	DeviceDetail   string `json:"device_detail"`
}

// PunchType is the only event type this sink sends; it accepts every
// other event without sending it (a sink's streams choose what it sees:
// CONFIG.md).
const PunchType = "attendance.punch"

// Platform is the sink's name for WeCom in the person directory.
const Platform = "wecom"

// Deliver uploads one event (a batch of one).
func (s *Sink) Deliver(ctx context.Context, ev sinks.Event) error {
	return s.deliver(ctx, []sinks.Event{ev})[0]
}

// MaxBatch is MaxRecords: the runner hands the sink up to one call's worth.
func (s *Sink) MaxBatch() int { return MaxRecords }

// DeliverBatch uploads evs, answering per event (sinks.BatchError) when
// any is not delivered.
func (s *Sink) DeliverBatch(ctx context.Context, evs []sinks.Event) (int, error) {
	errs := s.deliver(ctx, evs)
	for _, err := range errs {
		if err != nil {
			return 0, &sinks.BatchError{Errs: errs}
		}
	}
	return len(evs), nil
}

// deliver uploads evs in calls of at most MaxRecords records and returns
// each event's outcome: nil delivered (or not a punch), sinks.Unmapped for
// a punch whose person has no WeCom user id (held by the runner), an error
// wrapping sinks.ErrPermanent for a record WeCom refuses or a punch that
// cannot be read, another error for a destination that is down (that event
// and every later one wait).
func (s *Sink) deliver(ctx context.Context, evs []sinks.Event) []error {
	out := make([]error, len(evs))
	var recs []record
	var at []int // at[i] is the event of recs[i]
	for i, ev := range evs {
		if ev.Type != PunchType {
			continue
		}
		r, err := s.record(ev)
		if err != nil {
			out[i] = err
			continue
		}
		recs = append(recs, r)
		at = append(at, i)
	}
	errs := cloud.Chunks(ctx, len(recs), MaxRecords, func(ctx context.Context, lo, hi int) error {
		return s.post(ctx, "/cgi-bin/checkin/add_checkin_record", map[string]any{"records": recs[lo:hi]})
	}, refused, errors.New("wecom: not attempted: an earlier record of the batch failed"))
	for k, err := range errs {
		out[at[k]] = err
	}
	return out
}

// record maps a punch to a check-in record.
func (s *Sink) record(ev sinks.Event) (record, error) {
	p, err := cloud.ParsePunch(ev.Payload)
	if err != nil {
		return record{}, sinks.Permanent(fmt.Errorf("wecom: %w", err))
	}
	who, err := cloud.UserID(s.o.People, Platform, p.Key())
	if err != nil {
		return record{}, err
	}
	title, detail := s.o.LocationTitle, s.o.LocationDetail
	if title == "" {
		title = p.Device
	}
	if detail == "" {
		detail = p.Device
	}
	return record{UserID: who.UserID, CheckinTime: p.At.Unix(), LocationTitle: title, LocationDetail: detail,
		Notes: "officegate " + p.ID, DeviceType: s.o.DeviceType, DeviceDetail: s.o.DeviceDetail}, nil
}
