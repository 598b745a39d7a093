package daemon

import (
	"context"
	"fmt"

	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/provisioning/admin"
)

// sinkOps answers the admin service about the running sinks (admin.Sinks):
// officegate sinks status, deadletters and replay.
type sinkOps struct {
	// Immutable.
	j       *journal.Journal
	runners []*sinks.Runner
}

var _ admin.Sinks = sinkOps{}

func (o sinkOps) runner(name string) (*sinks.Runner, error) {
	for _, r := range o.runners {
		if r.Name() == name {
			return r, nil
		}
	}
	return nil, fmt.Errorf("%w: %q", admin.ErrNoSink, name)
}

func (o sinkOps) SinkStatus(ctx context.Context) ([]admin.SinkStatus, error) {
	out := []admin.SinkStatus{}
	dls, err := sinks.DeadLettersBySink(ctx, o.j)
	if err != nil {
		return nil, err
	}
	for _, r := range o.runners {
		st, err := r.Status()
		if err != nil {
			return nil, err
		}
		out = append(out, admin.SinkStatus{Name: st.Name, Streams: st.Streams, Backlog: st.Backlog, Oldest: st.Oldest,
			BacklogBytes: st.Bytes, Alarm: st.Alarm, Down: st.Down, Class: st.Class, Held: st.Held, DeadLetters: len(dls[st.Name])})
	}
	return out, nil
}

func deadLetterOf(dl sinks.DeadLetter) admin.DeadLetter {
	return admin.DeadLetter{Sink: dl.Sink, Stream: dl.Stream, Seq: dl.Seq, ID: dl.ID, Device: dl.Device, Type: dl.Type,
		Error: dl.Error, At: dl.At.UTC()}
}

func (o sinkOps) DeadLetters(ctx context.Context, sink string) ([]admin.DeadLetter, error) {
	if _, err := o.runner(sink); err != nil {
		return nil, err
	}
	dls, err := sinks.DeadLetters(ctx, o.j, sink)
	if err != nil {
		return nil, err
	}
	out := []admin.DeadLetter{}
	for _, dl := range dls {
		out = append(out, deadLetterOf(dl))
	}
	return out, nil
}

func (o sinkOps) Replay(ctx context.Context, sink string) (admin.ReplayResult, error) {
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
