package daemon

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"runtime/pprof"
	"sync"

	"github.com/rs/zerolog"
)

// A stage is one part of a running gateway: the journal, the intake, the
// uplink, the command processor, the devices, … Run starts its stages in
// order and stops them in reverse on every path (the end of its context, a
// failed start at any position, a panic in one stage's goroutine), each
// stage's goroutines stopped and waited for before the stage below it stops.
// The journal is the first stage, so it closes last.
type stage struct {
	name string
	// start starts the stage and returns once it runs: blocking work bounded
	// by ctx (Run's context), long-lived goroutines through g only. A start
	// that fails releases what it opened itself; whatever it had started in
	// g is stopped and waited for by the runner.
	start func(ctx context.Context, g *group) error
	// halt, if set, is the first step of stopping, while the stage's
	// goroutines still run (firmware rollouts stop where they are).
	halt func()
	// close, if set, is the last step, once they have all returned (the
	// journal closes).
	close func() error
}

// group runs one stage's goroutines: it stops them and waits for them, and
// turns a panic in one into the error that stops the gateway.
type group struct {
	// Immutable.
	stage  string
	ctx    context.Context // ends when the stage stops, not with Run's context: stages stop in order
	cancel context.CancelFunc
	failed func(error)

	wg sync.WaitGroup
}

// Go runs f in a goroutine of the group, with the group's context. f must
// return once that context ends.
func (g *group) Go(f func(ctx context.Context)) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		defer func() {
			if p := recover(); p != nil {
				g.failed(fmt.Errorf("daemon: stage %s: panic: %v\n%s", g.stage, p, debug.Stack()))
			}
		}()
		pprof.SetGoroutineLabels(g.ctx) // the stage's label, whoever calls Go (labels.go)
		f(g.ctx)
	}()
}

// stop ends the group's context and waits for its goroutines.
func (g *group) stop() {
	g.cancel()
	g.wg.Wait()
}

// stageEvent is what a runner's hook is told: a stage is about to start, or
// has stopped (its goroutines ended, its close done).
type stageEvent struct {
	Stage   string
	Stopped bool // false: about to start
}

// runner starts stages and stops those it started.
type runner struct {
	// Immutable.
	log zerolog.Logger
	// hook, if set, is told of every start and stop (tests); an error it
	// returns for a start is that stage's start failing.
	hook func(stageEvent) error
	// failed holds a panic of a stage's goroutine until run takes it; one
	// coming while it is full is only logged.
	failed chan error

	running []running // in start order; Run's goroutine only
}

type running struct {
	s stage
	g *group
}

func newRunner(log zerolog.Logger, hook func(stageEvent) error) *runner {
	return &runner{log: log, hook: hook, failed: make(chan error, 1)}
}

// fail reports err (a panic) to whoever waits on r.failed.
func (r *runner) fail(err error) {
	select {
	case r.failed <- err:
	default:
		r.log.Error().Err(err).Msg("another part of the gateway failed too")
	}
}

// start starts s. On failure, what s had started in its group is stopped
// and waited for before start returns.
func (r *runner) start(ctx context.Context, s stage) (err error) {
	if r.hook != nil {
		if err := r.hook(stageEvent{Stage: s.name}); err != nil {
			return fmt.Errorf("daemon: stage %s: %w", s.name, err)
		}
	}
	// Everything the stage does is labelled with its name for the CPU
	// profiler (labels.go): its start, the goroutines it starts (also those
	// a start of another package starts itself), and its group's.
	ctx = stageLabels(ctx, s.name)
	pprof.SetGoroutineLabels(ctx)
	defer pprof.SetGoroutineLabels(context.Background())
	gctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	g := &group{stage: s.name, ctx: gctx, cancel: cancel, failed: r.fail}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("daemon: stage %s: panic while starting: %v\n%s", s.name, p, debug.Stack())
		}
		if err != nil {
			g.stop()
			return
		}
		r.running = append(r.running, running{s, g})
	}()
	return s.start(ctx, g)
}

// stopAll stops every started stage, the last started first, each one's
// goroutines waited for before the next stops, and returns the errors of
// their close steps.
func (r *runner) stopAll() error {
	var errs []error
	for i := len(r.running) - 1; i >= 0; i-- {
		s, g := r.running[i].s, r.running[i].g
		if s.halt != nil {
			s.halt()
		}
		g.stop()
		if s.close != nil {
			if err := s.close(); err != nil {
				errs = append(errs, fmt.Errorf("daemon: stage %s: %w", s.name, err))
			}
		}
		if r.hook != nil {
			_ = r.hook(stageEvent{Stage: s.name, Stopped: true})
		}
	}
	r.running = nil
	return errors.Join(errs...)
}

// run starts stages in order, calls ready once all run, and waits for ctx
// to end or a stage's goroutine to panic; then it stops them in reverse. It
// returns the failed start or the panic, with the stops' errors; nil when
// ctx ended and everything stopped cleanly. A start cut short by ctx is not
// an error.
func (r *runner) run(ctx context.Context, stages []stage, ready func()) error {
	for _, s := range stages {
		if ctx.Err() != nil {
			return r.finish(nil)
		}
		if err := r.start(ctx, s); err != nil {
			return r.finish(err)
		}
		select {
		case err := <-r.failed:
			return r.finish(err)
		default:
		}
	}
	if ready != nil {
		ready()
	}
	var cause error
	select {
	case <-ctx.Done():
		r.log.Info().Msg("shutting down")
	case cause = <-r.failed:
		r.log.Error().Err(cause).Msg("shutting down: a part of the gateway failed")
	}
	return r.finish(cause)
}

// finish stops every started stage and returns cause with the stops' errors
// and a panic not yet taken (one that came during a start, or the stop).
func (r *runner) finish(cause error) error {
	err := errors.Join(cause, r.stopAll())
	select {
	case p := <-r.failed:
		err = errors.Join(err, p)
	default:
	}
	return err
}
