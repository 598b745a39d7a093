package feishu

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/gateway/sinks/internal/cloud"
)

// PunchType is the only event type this sink sends.
const PunchType = "attendance.punch"

// flow is one flow record of batch_create: exactly the fields sent.
type flow struct {
	UserID       string `json:"user_id"`
	CreatorID    string `json:"creator_id"`
	LocationName string `json:"location_name"`
	CheckTime    string `json:"check_time"`
	Comment      string `json:"comment"`
}

// Deliver imports one event (a batch of one).
func (s *Sink) Deliver(ctx context.Context, ev sinks.Event) error {
	return s.deliver(ctx, []sinks.Event{ev})[0]
}

// MaxBatch is the configured records per call.
func (s *Sink) MaxBatch() int { return s.o.Batch }

// DeliverBatch imports evs, answering per event when any is not delivered.
func (s *Sink) DeliverBatch(ctx context.Context, evs []sinks.Event) (int, error) {
	errs := s.deliver(ctx, evs)
	for _, err := range errs {
		if err != nil {
			return 0, &sinks.BatchError{Errs: errs}
		}
	}
	return len(evs), nil
}

const flowPath = "/open-apis/attendance/v1/user_flows/batch_create"

func (s *Sink) deliver(ctx context.Context, evs []sinks.Event) []error {
	out := make([]error, len(evs))
	var recs []flow
	var at []int
	for i, ev := range evs {
		if ev.Type != PunchType {
			continue
		}
		p, err := cloud.ParsePunch(ev.Payload)
		if err != nil {
			out[i] = sinks.Permanent(fmt.Errorf("feishu: %w", err))
			continue
		}
		who, err := cloud.UserID(s.o.People, Platform, p.Key())
		if err != nil {
			out[i] = err
			continue
		}
		creator, loc := s.o.CreatorID, s.o.Location
		if creator == "" {
			creator = who.UserID
		}
		if loc == "" {
			loc = p.Device
		}
		recs = append(recs, flow{UserID: who.UserID, CreatorID: creator, LocationName: loc,
			CheckTime: strconv.FormatInt(p.At.Unix(), 10), Comment: "officegate " + p.ID})
		at = append(at, i)
	}
	q := url.Values{"employee_type": {s.o.EmployeeType}}
	errs := cloud.Chunks(ctx, len(recs), s.o.Batch, func(ctx context.Context, lo, hi int) error {
		return s.post(ctx, flowPath, q, map[string]any{"flow_records": recs[lo:hi]})
	}, refused, errors.New("feishu: not attempted: an earlier record of the batch failed"))
	for k, err := range errs {
		out[at[k]] = err
	}
	return out
}
