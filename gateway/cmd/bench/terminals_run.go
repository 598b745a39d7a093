package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/fwemu"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

// baud115200 is one 115 200-baud 8N1 port's payload: 10 bits a byte.
const baud115200 = 11520 // bytes/s

// runTerminals runs each fleet size in turn, each with fresh terminals and
// a fresh journal, and returns the figures.
func runTerminals(ctx context.Context, cfg terminalsConfig, progress io.Writer) (terminalsResult, error) {
	r := terminalsResult{PunchesPerTerminal: cfg.Punches, Batch: cfg.Batch, SyncWindowMs: ms(cfg.SyncWindow),
		// fwemu.StartDevice leaves Options.LogCapacity at its default.
		LogCapacity: fwemu.DefaultLogCapacity}
	r.WireBytesPerPunch = meanWireBytes(cfg.Punches)
	r.WirePerSAt115k2 = round(baud115200/r.WireBytesPerPunch, 1)
	// The terminals' flash is in memory: every batch writes and fsyncs a
	// state file, and that must not compete with the journal for the disk.
	work, emuDir, exe, cleanup, err := workspace(cfg.Dir, "bench-terminals-")
	if err != nil {
		return r, err
	}
	defer cleanup()
	for _, n := range cfg.Fleets {
		fmt.Fprintf(progress, "terminals: %d terminal(s), %d punches each in batches of %d...\n", n, cfg.Punches, cfg.Batch)
		run, err := runFleet(ctx, cfg, exe, filepath.Join(work, fmt.Sprintf("n%d", n)), filepath.Join(emuDir, fmt.Sprintf("n%d", n)), n)
		if err != nil {
			return r, fmt.Errorf("terminals: %d terminal(s): %w", n, err)
		}
		run.VsWireAt115k2 = round(run.PerTerminalPerS/r.WirePerSAt115k2, 1)
		r.Runs = append(r.Runs, run)
	}
	return r, nil
}

// runFleet starts n terminals, the gateway child on their PTYs, and, once
// every link is up, has each terminal record its burst.
func runFleet(ctx context.Context, cfg terminalsConfig, exe, state, emuDir string, n int) (terminalsRun, error) {
	if err := os.MkdirAll(emuDir, 0o700); err != nil {
		return terminalsRun{}, err
	}
	var devs []*fwemu.PTYDevice
	defer func() {
		for _, d := range devs {
			d.Stop()
		}
	}()
	var ports []string
	for i := range n {
		d, err := fwemu.StartDevice(emuDir, terminalID(i), msg.KindAttendance, 0, uint64(i+1))
		if err != nil {
			return terminalsRun{}, err
		}
		devs = append(devs, d)
		ports = append(ports, d.ID+"="+d.Path)
	}
	args := []string{"-child", "-state", state, "-ports", strings.Join(ports, ","), "-batch", fmt.Sprint(cfg.Batch),
		"-punches", fmt.Sprint(cfg.Punches), "-sync-window", cfg.SyncWindow.String()}
	if cfg.Profile != "" {
		abs, err := filepath.Abs(cfg.Profile)
		if err != nil {
			return terminalsRun{}, err
		}
		args = append(args, "-cpuprofile", abs)
	}
	gw, stdin, err := startCommandChild(exe, "terminals", args...)
	if err != nil {
		return terminalsRun{}, err
	}
	defer gw.stop()
	if line, err := gw.line(ctx, phaseTimeout); err != nil || line != "ready" {
		return terminalsRun{}, fmt.Errorf("gateway child: %q, %v", line, err)
	}
	// The child starts its clock when it reads this line and answers
	// "measuring" once it has: nothing is recorded before that answer.
	if _, err := io.WriteString(stdin, "go\n"); err != nil {
		return terminalsRun{}, fmt.Errorf("gateway child: %w", err)
	}
	if line, err := gw.line(ctx, phaseTimeout); err != nil || line != "measuring" {
		return terminalsRun{}, fmt.Errorf("gateway child: %q, %v", line, err)
	}
	t0 := time.Now()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, d := range devs {
		wg.Go(func() { errs[i] = burst(d, i, cfg.Punches, cfg.Batch) })
	}
	wg.Wait()
	emitted := time.Since(t0)
	if err := errors.Join(errs...); err != nil {
		return terminalsRun{}, err
	}
	run, err := childFigures[terminalsRun](ctx, gw, phaseTimeout+time.Duration(n*cfg.Punches)*time.Millisecond)
	if err != nil {
		return run, err
	}
	run.EmitSeconds = round(emitted.Seconds(), 3)
	for _, d := range devs {
		if fi, err := os.Stat(filepath.Join(emuDir, d.ID+".state")); err == nil {
			run.StateKBMax = max(run.StateKBMax, round(float64(fi.Size())/1024, 1))
		}
	}
	return run, nil
}

func terminalID(i int) string { return fmt.Sprintf("term-%02d", i) }

// burst records punches 1..p on terminal i (device index i), batch at a
// time, and checks the terminal numbered them 1..p in its current boot.
func burst(d *fwemu.PTYDevice, i, p, batch int) error {
	boot := d.Emu.Boot()
	for k := 0; k < p; k += batch {
		data := make([]map[string]any, 0, batch)
		for seq := k + 1; seq <= min(k+batch, p); seq++ {
			data = append(data, punchData(i, uint64(seq)))
		}
		ids, err := d.Emu.EmitMany("punch", data)
		if err != nil {
			return fmt.Errorf("terminal %s: %w", d.ID, err)
		}
		for j, id := range ids {
			if want := (msg.EventID{Boot: boot, Seq: uint32(k + j + 1)}); id != want {
				return fmt.Errorf("terminal %s numbered punch %d as %v, want %v", d.ID, k+j+1, id, want)
			}
		}
	}
	return nil
}

// punchData is punch seq of terminal i: a person out of an office of 500,
// by finger or card, clocking in or out. The gateway publishes the user as
// "person", which the check of the journal compares.
func punchData(i int, seq uint64) map[string]any {
	verify := "card"
	if seq%3 == 0 {
		verify = "finger"
	}
	return map[string]any{"user": userOf(i, seq), "verify": verify, "state": seq / 7 % 2}
}

func userOf(i int, seq uint64) string { return fmt.Sprintf("%05d", 10000+(uint64(i)*131+seq)%500) }

// meanWireBytes is the mean size on the line of terminal 0's p punches as
// EVENT frames (header, CBOR body, CRC, COBS, delimiter; no tag: the bench
// does not enrol keys), with a set clock and a time of today.
func meanWireBytes(p int) float64 {
	now := uint64(time.Now().UnixMilli())
	total := 0
	for seq := 1; seq <= p; seq++ {
		ev := msg.Event{ID: msg.EventID{Boot: 1, Seq: uint32(seq)}, Kind: "punch", Time: now, Clock: msg.ClockSet, Data: punchData(0, uint64(seq))}
		f, err := msg.Frame(&ev, uint32(seq), uint32(seq))
		if err != nil {
			return 0
		}
		f.Flags |= frame.FlagFromDevice
		b, err := frame.Append(nil, f, nil)
		if err != nil {
			return 0
		}
		total += len(b)
	}
	return round(float64(total)/float64(p), 1)
}
