package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/zkpush"
	"github.com/officegate/officegate/devices/zkpush/pushdrv"
	"github.com/officegate/officegate/devices/zkteco"
	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/intake"
	"github.com/officegate/officegate/gateway/journal"
)

// zkpushListen is the child's listener: a free loopback port.
const zkpushListen = "127.0.0.1:0"

// pushTerminalID is the device id of the terminal with serial sn.
func pushTerminalID(sn string) string { return "zk-" + strings.ToLower(sn) }

func pushSerial(i int) string { return fmt.Sprintf("BENCH%04d", i) }

// pushPunch is punch k (0-based) of terminal i: a person out of an office of
// 500 at one second past the last, so that no two punches share a key.
func pushPunch(i, k int) zkpush.Punch {
	t := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC).Add(time.Duration(k) * time.Second)
	return zkpush.Punch{PIN: userOf(i, uint64(k+1)), Time: t.Format(zkteco.TimeLayout), Status: k / 7 % 2, Verify: []int{1, 15, 4}[k%3]}
}

// pushOpts is a terminal's configuration section.
type pushOpts pushdrv.Options

func (o pushOpts) Decode(v any) error { *(v.(*pushdrv.Options)) = pushdrv.Options(o); return nil }

// zkpushChild is the gateway side, wired as daemon.Run wires a PUSH
// terminal (journal with the daemon's stream table, intake, the PUSH Hub and
// one driver per serial) without the uplink. It prints "ready <address>"
// once the listener is up, starts measuring when a line arrives on start,
// and returns once every punch is durable and checked in the journal.
func zkpushChild(ctx context.Context, cfg zkpushConfig, start io.Reader, out io.Writer) (zkpushRun, error) {
	serials := strings.Split(cfg.Serials, ",")
	g, err := openChildGateway(ctx, cfg.State, cfg.SyncWindow, int64(len(serials)*cfg.Punches))
	if err != nil {
		return zkpushRun{}, err
	}
	defer g.Close()
	hub := pushdrv.NewHub(nil)
	for _, sn := range serials {
		d, err := pushdrv.New(hub, pushTerminalID(sn), devices.Options{Config: pushOpts{Serial: sn, Listen: zkpushListen, TimeZone: "UTC"}})
		if err != nil {
			return zkpushRun{}, err
		}
		g.Go(func(ctx context.Context) {
			if err := d.Run(ctx, g.in); err != nil {
				fmt.Fprintf(os.Stderr, "zkpush: %s: %v\n", sn, err)
			}
		})
	}
	addr := ""
	for deadline := time.Now().Add(phaseTimeout); addr == ""; {
		if addr = hub.Addr(zkpushListen); addr == "" {
			if time.Now().After(deadline) {
				return zkpushRun{}, errors.New("zkpush: the PUSH listener did not open")
			}
			time.Sleep(5 * time.Millisecond) // polling the listener's state
		}
	}
	fmt.Fprintln(out, "ready", addr)
	if err := waitLine(ctx, start, phaseTimeout); err != nil {
		return zkpushRun{}, err
	}
	sp, err := g.measure(out, func() error { return waitDurable(ctx, g.want, g.allIn, &g.durable) })
	if err != nil {
		return zkpushRun{}, err
	}
	g.Stop()
	if err := checkPushJournal(ctx, g.j, serials, cfg.Punches); err != nil {
		return zkpushRun{}, err
	}
	secs := sp.elapsed.Seconds()
	total := int(g.want)
	return zkpushRun{
		Terminals:       len(serials),
		Punches:         total,
		PunchesPerS:     round(float64(total)/secs, 0),
		PerTerminalPerS: round(float64(cfg.Punches)/secs, 0),
		CPUUsPerPunch:   round(float64(sp.cpu.Microseconds())/float64(total), 1),
		FsyncsPerS:      round(float64(sp.st1.Fsyncs-sp.st0.Fsyncs)/secs, 1),
		RSSMB:           mb(sp.rss),
		Seconds:         round(secs, 3),
		Commits:         sp.st1.Commits - sp.st0.Commits,
	}, nil
}

// waitDurable waits until want events are durable; it fails if nothing
// becomes durable for phaseTimeout.
func waitDurable(ctx context.Context, want int64, allIn <-chan struct{}, durable *atomic.Int64) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last, lastAt := durable.Load(), time.Now()
	for durable.Load() < want {
		select {
		case <-allIn:
		case <-tick.C:
			if n := durable.Load(); n != last {
				last, lastAt = n, time.Now()
			} else if time.Since(lastAt) > phaseTimeout {
				return fmt.Errorf("zkpush: %d of %d punches durable, nothing more for %v", n, want, phaseTimeout)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// checkPushJournal reads the attendance stream back and fails unless it
// holds, per terminal, its p punches under the ids zkteco.PunchKey gives
// them, each once, in the terminal's order.
func checkPushJournal(ctx context.Context, j *journal.Journal, serials []string, p int) error {
	index := map[string]int{}
	for i, sn := range serials {
		index[pushTerminalID(sn)] = i
	}
	next := make([]int, len(serials))
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
		if next[i] >= p {
			return fmt.Errorf("journal record %d: %s punch beyond its %d: repeated", r.Seq, e.Device, p)
		}
		sn, pu := serials[i], pushPunch(i, next[i])
		if want := envelope.KeyID(sn, zkteco.PunchKey(sn, pu.PIN, pu.Time, pu.Status, pu.Verify).Key); e.ID != want {
			return fmt.Errorf("journal record %d: %s punch %d has id %s, want %s: lost, repeated or out of order", r.Seq, e.Device, next[i], e.ID, want)
		}
		next[i]++
		return nil
	})
	if err != nil {
		return fmt.Errorf("zkpush: journal check: %w", err)
	}
	var short []error
	for i, sn := range serials {
		if next[i] != p {
			short = append(short, fmt.Errorf("%s: %d of %d punches in the journal", sn, next[i], p))
		}
	}
	if err := errors.Join(short...); err != nil {
		return fmt.Errorf("zkpush: journal check: %w", err)
	}
	return nil
}
