package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	gwcommands "github.com/officegate/officegate/gateway/commands"
	"github.com/officegate/officegate/gateway/intake"
	"github.com/officegate/officegate/gateway/journal"
)

// childGateway is what the terminals and zkpush children share of the
// gateway side: the journal as the daemon opens it (its stream table, the
// commands stream's Keep) on a real disk under state, and the intake on it,
// told of every event once it is durable so that the last one wakes the
// wait. The devices run under Go and stop before the intake.
type childGateway struct {
	j  *journal.Journal
	in *intake.Intake

	want    int64 // events the run expects
	durable atomic.Int64
	allIn   chan struct{} // signalled once durable reaches want

	devWG, inWG      sync.WaitGroup
	devCtx           context.Context
	stopDevs, stopIn context.CancelFunc
}

// openChildGateway opens the journal and starts the intake; Close undoes it.
func openChildGateway(ctx context.Context, state string, syncWindow time.Duration, want int64) (*childGateway, error) {
	if err := os.MkdirAll(state, 0o750); err != nil {
		return nil, err
	}
	if err := checkRealDisk(state); err != nil {
		return nil, err
	}
	jo := journal.Options{SyncWindow: syncWindow, Streams: intake.JournalStreams()}
	for i := range jo.Streams {
		if jo.Streams[i].Name == gwcommands.Stream.Name {
			jo.Streams[i].Keep = gwcommands.Keep // as the daemon opens it
		}
	}
	j, err := journal.Open(filepath.Join(state, "journal"), &jo)
	if err != nil {
		return nil, err
	}
	g := &childGateway{j: j, want: want, allIn: make(chan struct{}, 1)}
	g.in, err = intake.New(j, state, intake.Options{Gateway: benchGateway, OnEvent: func(string, time.Time) {
		if g.durable.Add(1) >= g.want {
			select {
			case g.allIn <- struct{}{}:
			default:
			}
		}
	}})
	if err != nil {
		j.Close()
		return nil, err
	}
	var inCtx context.Context
	g.devCtx, g.stopDevs = context.WithCancel(context.WithoutCancel(ctx))
	inCtx, g.stopIn = context.WithCancel(context.WithoutCancel(ctx))
	g.inWG.Go(func() { g.in.Run(inCtx) })
	return g, nil
}

// Go runs a device until Stop.
func (g *childGateway) Go(run func(ctx context.Context)) {
	g.devWG.Go(func() { run(g.devCtx) })
}

// Stop stops the devices, then the intake; it may be called again.
func (g *childGateway) Stop() {
	g.stopDevs()
	g.devWG.Wait()
	g.stopIn()
	g.inWG.Wait()
}

// Close stops everything and closes the journal.
func (g *childGateway) Close() {
	g.Stop()
	g.j.Close()
}

// childSpan is what the child measures of itself over one wait.
type childSpan struct {
	elapsed  time.Duration
	cpu      time.Duration // this process's CPU time
	st0, st1 journal.Stats // the journal's, before and after
	rss      uint64        // peak RSS after the wait
}

// measure runs wait and returns the elapsed and CPU time it took, the
// journal's statistics around it and the peak RSS after it (before any
// check that reads the journal back).
func (g *childGateway) measure(out io.Writer, wait func() error) (childSpan, error) {
	var s childSpan
	t0 := time.Now()
	cpu0, err := procCPU(os.Getpid())
	if err != nil {
		return s, err
	}
	s.st0 = g.j.Stats()
	// The parent has the devices record nothing before this line: a punch
	// committed before the baseline would be missing from the span's count.
	if _, err := fmt.Fprintln(out, "measuring"); err != nil {
		return s, err
	}
	if err := wait(); err != nil {
		return s, err
	}
	s.elapsed = time.Since(t0)
	cpu1, err := procCPU(os.Getpid())
	if err != nil {
		return s, err
	}
	s.cpu = cpu1 - cpu0
	s.st1 = g.j.Stats()
	if s.rss, err = peakRSS(); err != nil {
		return s, err
	}
	return s, nil
}
