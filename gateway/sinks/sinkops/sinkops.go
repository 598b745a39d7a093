// Package sinkops answers the admin socket about running sinks (officegate sinks status, replay).
package sinkops

import (
	"context"
	"fmt"

	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/provisioning/admin"
)

// Ops answers the admin service about the sinks a gateway or officegate
// connect runs (admin.Sinks).
type Ops struct {
	// Immutable.
	J       *journal.Journal // the journal the runners read
	Runners []*sinks.Runner
}

var _ admin.Sinks = Ops{}

func (o Ops) runner(name string) (*sinks.Runner, error) {
	for _, r := range o.Runners {
		if r.Name() == name {
			return r, nil
		}
	}
	return nil, fmt.Errorf("%w: %q", admin.ErrNoSink, name)
}

func (o Ops) SinkStatus(ctx context.Context) ([]admin.SinkStatus, error) {
	out := []admin.SinkStatus{}
	dls, err := sinks.DeadLettersBySink(ctx, o.J)
	if err != nil {
		return nil, err
	}
	for _, r := range o.Runners {
		st, err := r.Status()
		if err != nil {
			return nil, err
		}
		out = append(out, admin.SinkStatus{Name: st.Name, Streams: st.Streams, Backlog: st.Backlog, Oldest: st.Oldest,
			BacklogBytes: st.Bytes, Alarm: st.Alarm, Down: st.Down, Class: st.Class, Held: st.Held, DeadLetters: len(dls[st.Name]),
			Delivered: st.Delivered, Retries: st.Failed})
	}
	return out, nil
}

func deadLetterOf(dl sinks.DeadLetter) admin.DeadLetter {
	return admin.DeadLetter{Sink: dl.Sink, Stream: dl.Stream, Seq: dl.Seq, ID: dl.ID, Device: dl.Device, Type: dl.Type,
		Error: dl.Error, At: dl.At.UTC()}
}

func (o Ops) DeadLetters(ctx context.Context, sink string) ([]admin.DeadLetter, error) {
	if _, err := o.runner(sink); err != nil {
		return nil, err
	}
	dls, err := sinks.DeadLetters(ctx, o.J, sink)
	if err != nil {
		return nil, err
	}
	out := []admin.DeadLetter{}
	for _, dl := range dls {
		out = append(out, deadLetterOf(dl))
	}
	return out, nil
}

func (o Ops) Replay(ctx context.Context, sink string) (admin.ReplayResult, error) {
	r, err := o.runner(sink)
	if err != nil {
		return admin.ReplayResult{}, err
	}
	res, err := r.Replay(ctx)
	out := admin.ReplayResult{Delivered: res.Delivered}
	for _, f := range res.Failed {
		out.Failed = append(out.Failed, admin.ReplayFailure{DeadLetter: deadLetterOf(f.DeadLetter), Why: f.Error})
	}
	return out, err
}
