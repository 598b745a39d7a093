package daemon

import (
	"context"
	"runtime/pprof"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/linkdev"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/gateway/intake"
)

// CPU profiler labels. Every goroutine of a stage carries the label
// stage=<the stage's name> (journal, intake, uplink, links, drivers, …), so
// a CPU profile says what each part of the gateway costs per event (the
// bench's per-stage breakdown, docs/PERFORMANCE.md). The journal labels its
// committer itself (stage=journal, and stage=fsync around fdatasync).
// Labels cost nothing until a profile runs: a goroutine's labels are one
// pointer, and the contexts holding them are made once.
const labelStage = "stage"

// stageLabels is ctx with the label stage=name.
func stageLabels(ctx context.Context, name string) context.Context {
	return pprof.WithLabels(ctx, pprof.Labels(labelStage, name))
}

// intakeSink is the intake as the sink of sources (link devices and
// drivers), its work labelled stage=intake: a source calls it on its own
// goroutine (stage=links or drivers), so without it the envelope building
// and the wait for the journal would count as the source's.
type intakeSink struct {
	*intake.Intake
	labels context.Context // stage=intake
}

var (
	_ linkdev.Sink      = intakeSink{}
	_ devices.BatchSink = intakeSink{}
	_ link.BatchSink    = intakeSink{}
	_ devices.Sink      = intakeSink{}
	_ linkdev.Sink      = (*intake.Intake)(nil) // what intakeSink wraps
	_ devices.BatchSink = (*intake.Intake)(nil)
)

func newIntakeSink(in *intake.Intake) intakeSink {
	return intakeSink{Intake: in, labels: stageLabels(context.Background(), "intake")}
}

// Each call runs under stage=intake, then gives the goroutine back the
// labels its ctx carries: the caller's stage, since every context a source
// is given comes down from its stage's.

func (s intakeSink) Commit(ctx context.Context, rec link.Record) error {
	pprof.SetGoroutineLabels(s.labels)
	defer pprof.SetGoroutineLabels(ctx)
	return s.Intake.Commit(ctx, rec)
}

func (s intakeSink) CommitBatch(ctx context.Context, recs []link.Record) error {
	pprof.SetGoroutineLabels(s.labels)
	defer pprof.SetGoroutineLabels(ctx)
	return s.Intake.CommitBatch(ctx, recs)
}

func (s intakeSink) Emit(ctx context.Context, ev devices.Event) error {
	pprof.SetGoroutineLabels(s.labels)
	defer pprof.SetGoroutineLabels(ctx)
	return s.Intake.Emit(ctx, ev)
}

func (s intakeSink) EmitBatch(ctx context.Context, evs []devices.Event) error {
	pprof.SetGoroutineLabels(s.labels)
	defer pprof.SetGoroutineLabels(ctx)
	return s.Intake.EmitBatch(ctx, evs)
}
