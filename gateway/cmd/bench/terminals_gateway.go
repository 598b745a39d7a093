package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/officegate/officegate/devices/serialport"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/intake"
	"github.com/officegate/officegate/gateway/journal"
)

// enrollAll is the daemon's fixedID: whatever answers on a port is enrolled
// under the port's device id.
type enrollAll struct {
	id string
}

var _ link.Directory = enrollAll{}

func (e enrollAll) Lookup(_ context.Context, h *msg.Hello) (link.Identity, error) {
	return link.Identity{Enrollment: link.Enrolled, DeviceID: e.id}, nil
}

// terminalPort is one terminal as the child sees it.
type terminalPort struct {
	id, path string
	lg       *link.Gateway
	hw       string // hardware id, from the link once it is up
	boot     uint32
}

// terminalsChild is the gateway side, wired as daemon.Run wires it (journal
// with the daemon's stream table, intake, one link per port under a serial
// supervisor at 115 200 baud) without the uplink and the command processor,
// which take no part in a punch becoming durable. It prints "ready" once
// every link is up, starts measuring when a line arrives on start, and
// returns once every punch is durable and checked in the journal.
func terminalsChild(ctx context.Context, cfg terminalsConfig, start io.Reader, out io.Writer) (terminalsRun, error) {
	var ports []*terminalPort
	for _, p := range strings.Split(cfg.Ports, ",") {
		id, path, ok := strings.Cut(p, "=")
		if !ok || id == "" || path == "" {
			return terminalsRun{}, fmt.Errorf("terminals: -ports entry %q: want id=tty", p)
		}
		ports = append(ports, &terminalPort{id: id, path: path})
	}
	g, err := openChildGateway(ctx, cfg.State, cfg.SyncWindow, int64(len(ports)*cfg.Punches))
	if err != nil {
		return terminalsRun{}, err
	}
	defer g.Close()
	in := g.in
	for _, p := range ports {
		p.lg, err = link.NewGateway(link.GatewayConfig{Sink: in, Store: in, Directory: enrollAll{id: p.id},
			Logf: func(f string, a ...any) {
				fmt.Fprintf(os.Stderr, "terminals: %s: link: "+f+"\n", append([]any{p.id}, a...)...)
			}})
		if err != nil {
			return terminalsRun{}, fmt.Errorf("terminals: device %q: %w", p.id, err)
		}
		// A PTY ignores the baud rate: what follows measures the software.
		sup, err := serialport.NewSupervisor(serialport.Config{Name: p.path, Baud: 115200}, &serialport.SupervisorOpts{
			OnEvent: func(e serialport.Event) {
				if e.Err != nil {
					fmt.Fprintf(os.Stderr, "terminals: %s: serial port %s: %v\n", p.id, e.State, e.Err)
				}
			},
		})
		if err != nil {
			return terminalsRun{}, fmt.Errorf("terminals: device %q: %w", p.id, err)
		}
		g.Go(func(ctx context.Context) {
			sup.Run(ctx, func(ctx context.Context, port *serialport.Port) error { return p.lg.Run(ctx, port) })
		})
	}
	upCtx, cancel := context.WithTimeout(ctx, phaseTimeout)
	defer cancel()
	for _, p := range ports {
		st, err := p.lg.Wait(upCtx, func(s link.Status) bool { return s.Online })
		if err != nil {
			return terminalsRun{}, fmt.Errorf("terminals: link %s not up: %w", p.id, err)
		}
		p.hw, p.boot = st.HardwareID, st.Boot
	}
	fmt.Fprintln(out, "ready")
	if err := waitLine(ctx, start, phaseTimeout); err != nil {
		return terminalsRun{}, err
	}
	sp, err := g.measure(out, func() error {
		stopProfile, err := startProfile(cfg.Profile)
		if err != nil {
			return err
		}
		defer stopProfile()
		return waitPunches(ctx, in, ports, cfg.Punches, g.allIn, &g.durable)
	})
	if err != nil {
		return terminalsRun{}, err
	}
	g.Stop()
	st0, st1 := sp.st0, sp.st1
	total := len(ports) * cfg.Punches
	// Each commit of a device's punches also carries its high-water mark,
	// on the marks stream: the punches are the other records.
	if got := (st1.Records - st0.Records) - (appended(st1, intake.StreamMarks) - appended(st0, intake.StreamMarks)); got != uint64(total) {
		return terminalsRun{}, fmt.Errorf("terminals: the journal committed %d records for %d punches", got, total)
	}
	if err := checkJournal(ctx, g.j, ports, cfg.Punches); err != nil {
		return terminalsRun{}, err
	}
	secs := sp.elapsed.Seconds()
	return terminalsRun{
		Terminals:       len(ports),
		Punches:         total,
		PunchesPerS:     round(float64(total)/secs, 0),
		PerTerminalPerS: round(float64(cfg.Punches)/secs, 0),
		CPUUsPerPunch:   round(float64(sp.cpu.Microseconds())/float64(total), 1),
		FsyncsPerS:      round(float64(st1.Fsyncs-st0.Fsyncs)/secs, 1),
		RSSMB:           mb(sp.rss),
		Seconds:         round(secs, 3),
		Commits:         st1.Commits - st0.Commits,
		Fsyncs:          st1.Fsyncs - st0.Fsyncs,
	}, nil
}

// appended is how many records stream got since Open.
func appended(st journal.Stats, stream string) uint64 {
	for _, s := range st.Streams {
		if s.Name == stream {
			return s.Appended
		}
	}
	return 0
}

// startProfile starts a CPU profile into path ("": none) and returns what
// stops it.
func startProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// waitLine waits for one line on r.
func waitLine(ctx context.Context, r io.Reader, timeout time.Duration) error {
	done := make(chan error, 1)
	go func() { _, err := bufio.NewReader(r).ReadString('\n'); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("terminals: no start signal: %w", err)
		}
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("terminals: no start signal within %v", timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// waitPunches waits until every terminal's high-water mark in the intake is
// its punch p: every punch durable. It fails if nothing becomes durable for
// phaseTimeout.
func waitPunches(ctx context.Context, in *intake.Intake, ports []*terminalPort, p int, allIn <-chan struct{}, durable *atomic.Int64) error {
	done := func() bool {
		for _, t := range ports {
			m, _ := in.Mark(ctx, t.hw)
			if m.HighWater != (msg.EventID{Boot: t.boot, Seq: uint32(p)}) {
				return false
			}
		}
		return true
	}
	// The tick only watches for a stall; the last durable punch wakes the
	// wait through allIn.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last, lastAt := durable.Load(), time.Now()
	for !done() {
		select {
		case <-allIn:
		case <-tick.C:
			if n := durable.Load(); n != last {
				last, lastAt = n, time.Now()
			} else if time.Since(lastAt) > phaseTimeout {
				var marks []string
				for _, t := range ports {
					m, _ := in.Mark(ctx, t.hw)
					marks = append(marks, fmt.Sprintf("%s at %v", t.id, m.HighWater))
				}
				return fmt.Errorf("terminals: %d punches durable, nothing more for %v; marks: %s", n, phaseTimeout, strings.Join(marks, ", "))
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// checkJournal reads the attendance stream back and fails unless it holds,
// per terminal, punches 1..p of the terminal's boot, each once, in order,
// for the person the terminal recorded.
func checkJournal(ctx context.Context, j *journal.Journal, ports []*terminalPort, p int) error {
	index := map[string]int{}
	for i, t := range ports {
		index[t.id] = i
	}
	last := make([]uint64, len(ports))
	err := j.Replay(ctx, intake.StreamRecords, func(r journal.Record) error {
		o, err := envelope.DecodeOutbound(r.Body)
		if err != nil {
			return fmt.Errorf("journal record %d: %w", r.Seq, err)
		}
		e := o.Event
		if e == nil || e.Type != "attendance.punch" {
			return fmt.Errorf("journal record %d is not a punch: %+v", r.Seq, o)
		}
		i, ok := index[e.Device]
		if !ok {
			return fmt.Errorf("journal record %d: punch from unknown device %q", r.Seq, e.Device)
		}
		t := ports[i]
		if e.Boot != t.boot || e.Seq != last[i]+1 {
			return fmt.Errorf("journal record %d: %s punch boot %d seq %d after seq %d, want boot %d seq %d: lost, repeated or out of order",
				r.Seq, t.id, e.Boot, e.Seq, last[i], t.boot, last[i]+1)
		}
		data, err := envelope.DecodeData(e.Data)
		if err != nil {
			return fmt.Errorf("journal record %d: %w", r.Seq, err)
		}
		if got, want := data["person"], userOf(i, e.Seq); got != want {
			return fmt.Errorf("journal record %d: %s punch %d for person %v, want %q", r.Seq, t.id, e.Seq, got, want)
		}
		last[i] = e.Seq
		return nil
	})
	if err != nil {
		return fmt.Errorf("terminals: journal check: %w", err)
	}
	var short []error
	for i, t := range ports {
		if last[i] != uint64(p) {
			short = append(short, fmt.Errorf("%s: %d of %d punches in the journal", t.id, last[i], p))
		}
	}
	if err := errors.Join(short...); err != nil {
		return fmt.Errorf("terminals: journal check: %w", err)
	}
	return nil
}
