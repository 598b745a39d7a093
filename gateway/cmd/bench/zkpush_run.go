package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/officegate/officegate/devices/zkpush/zkpushsim"
)

// runZKPush runs each batch and fleet size in turn, each with fresh
// terminals and a fresh journal, then the link terminals of the same fleet
// sizes as the peer, and returns the figures.
func runZKPush(ctx context.Context, cfg zkpushConfig, progress io.Writer) (zkpushResult, error) {
	r := zkpushResult{PunchesPerTerminal: cfg.Punches, SyncWindowMs: ms(cfg.SyncWindow)}
	work, _, exe, cleanup, err := workspace(cfg.Dir, "bench-zkpush-")
	if err != nil {
		return r, err
	}
	defer cleanup()
	for _, b := range cfg.Batches {
		for _, n := range cfg.Fleets {
			fmt.Fprintf(progress, "zkpush: %d terminal(s), %d punches each, %d a upload...\n", n, cfg.Punches, b)
			run, err := runPushFleet(ctx, cfg, exe, filepath.Join(work, fmt.Sprintf("b%d-n%d", b, n)), n, b)
			if err != nil {
				return r, fmt.Errorf("zkpush: %d terminal(s), batch %d: %w", n, b, err)
			}
			run.VsRealTerminal = round(run.PerTerminalPerS/realTerminalPerS, 0)
			r.Runs = append(r.Runs, run)
		}
	}
	if cfg.NoPeer {
		return r, nil
	}
	peer := terminalsConfig{Fleets: cfg.Fleets, Punches: cfg.Punches, Batch: min(50, cfg.Punches), SyncWindow: cfg.SyncWindow, Dir: cfg.Dir}
	link, err := runTerminals(ctx, peer, progress)
	if err != nil {
		return r, fmt.Errorf("zkpush: the link terminals: %w", err)
	}
	r.Link = link.Runs
	for i := range r.Runs {
		for _, l := range r.Link {
			if l.Terminals == r.Runs[i].Terminals && l.PunchesPerS > 0 && l.CPUUsPerPunch > 0 {
				r.Runs[i].VsLinkPunchesPerS = round(r.Runs[i].PunchesPerS/l.PunchesPerS, 2)
				r.Runs[i].VsLinkCPU = round(r.Runs[i].CPUUsPerPunch/l.CPUUsPerPunch, 2)
			}
		}
	}
	return r, nil
}

// runPushFleet starts the gateway child, n terminals holding their punches,
// has them shake hands, then upload everything at once.
func runPushFleet(ctx context.Context, cfg zkpushConfig, exe, state string, n, batch int) (zkpushRun, error) {
	var serials []string
	for i := range n {
		serials = append(serials, pushSerial(i))
	}
	gw, stdin, err := startCommandChild(exe, "zkpush", "-child", "-state", state, "-serials", strings.Join(serials, ","),
		"-punches", fmt.Sprint(cfg.Punches), "-sync-window", cfg.SyncWindow.String())
	if err != nil {
		return zkpushRun{}, err
	}
	defer gw.stop()
	line, err := gw.line(ctx, phaseTimeout)
	addr, ok := strings.CutPrefix(line, "ready ")
	if err != nil || !ok {
		return zkpushRun{}, fmt.Errorf("gateway child: %q, %v", line, err)
	}
	terms := make([]*zkpushsim.Terminal, n)
	for i, sn := range serials {
		terms[i] = zkpushsim.New(sn, "http://"+addr, &zkpushsim.Opts{Batch: batch, Capacity: maxPunches})
		for k := range cfg.Punches {
			if err := terms[i].Add(pushPunch(i, k)); err != nil {
				return zkpushRun{}, err
			}
		}
		if err := terms[i].Handshake(ctx); err != nil {
			return zkpushRun{}, err
		}
	}
	// The child starts its clock when it reads this line and answers
	// "measuring" once it has: nothing is recorded before that answer.
	if _, err := io.WriteString(stdin, "go\n"); err != nil {
		return zkpushRun{}, fmt.Errorf("gateway child: %w", err)
	}
	if line, err := gw.line(ctx, phaseTimeout); err != nil || line != "measuring" {
		return zkpushRun{}, fmt.Errorf("gateway child: %q, %v", line, err)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, term := range terms {
		wg.Go(func() { errs[i] = drain(ctx, term) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return zkpushRun{}, err
	}
	run, err := childFigures[zkpushRun](ctx, gw, phaseTimeout)
	if err != nil {
		return run, err
	}
	run.Batch = batch
	for _, term := range terms {
		run.Uploads += term.Uploads()
	}
	return run, nil
}

// drain uploads until the terminal holds nothing unacknowledged, as a
// terminal does: a failed upload is tried again (after no ErrorDelay here:
// the bench measures the gateway, not the terminal's patience).
func drain(ctx context.Context, term *zkpushsim.Terminal) error {
	var last error
	for tries := 0; term.Pending() > 0; tries++ {
		if tries > 1000 {
			return fmt.Errorf("terminal %s: %d records still pending: %w", term.SN(), term.Pending(), last)
		}
		if _, err := term.Upload(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			last = err
		}
	}
	return nil
}

// childFigures reads the figures the child prints as its last line, within
// timeout, and waits for it to exit.
func childFigures[R any](ctx context.Context, gw *child, timeout time.Duration) (R, error) {
	var run R
	line, err := gw.line(ctx, timeout)
	if err != nil {
		return run, err
	}
	if err := json.Unmarshal([]byte(line), &run); err != nil {
		return run, fmt.Errorf("gateway child printed %q: %w", line, err)
	}
	if err := gw.stop(); err != nil {
		return run, fmt.Errorf("gateway child: %w", err)
	}
	return run, nil
}

// startCommandChild runs this executable's command name with args; the
// child reads its start signal from the returned writer.
func startCommandChild(exe, name string, args ...string) (*child, io.WriteCloser, error) {
	cmd := exec.Command(exe, append([]string{name}, args...)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	c, err := startProcess(cmd, false)
	if err != nil {
		return nil, nil, err
	}
	return c, stdin, nil
}

func printZKPush(w io.Writer, r zkpushResult) {
	fmt.Fprintf(w, "ZKTeco PUSH terminals over HTTP on loopback → PUSH driver → intake → journal (no uplink), %d punches\n"+
		"per terminal held in its log, uploaded at once; timed until every punch is durable (each upload answered\n"+
		"\"OK: n\" only then), then each checked in the journal: once, in order, under its id\n\n", r.PunchesPerTerminal)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "terminals\trecords/upload\tpunches/s\tper terminal/s\t× link punches/s\tCPU µs/punch\t× link CPU\t× a real terminal\tfsyncs/s\tuploads\tpeak RSS MB\tseconds\t")
	ratio := func(x float64) string {
		if x == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", x)
	}
	for _, run := range r.Runs {
		fmt.Fprintf(tw, "%d\t%d\t%.0f\t%.0f\t%s\t%.1f\t%s\t%.0f\t%.1f\t%d\t%.1f\t%.3f\t\n", run.Terminals, run.Batch, run.PunchesPerS, run.PerTerminalPerS,
			ratio(run.VsLinkPunchesPerS), run.CPUUsPerPunch, ratio(run.VsLinkCPU), run.VsRealTerminal, run.FsyncsPerS, run.Uploads, run.RSSMB, run.Seconds)
	}
	tw.Flush()
	if len(r.Link) > 0 {
		fmt.Fprintf(w, "\nthe peer, in this run: link terminals on PTYs (bench terminals), the same punches per terminal\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "terminals\tpunches/s\tper terminal/s\tCPU µs/punch\tfsyncs/s\tseconds\t")
		for _, l := range r.Link {
			fmt.Fprintf(tw, "%d\t%.0f\t%.0f\t%.1f\t%.1f\t%.3f\t\n", l.Terminals, l.PunchesPerS, l.PerTerminalPerS, l.CPUUsPerPunch, l.FsyncsPerS, l.Seconds)
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "\nThe ceiling a real terminal imposes: it records one person per verification (about a second),\n"+
		"%.0f punch/s at most, and in Realtime mode (the gateway's handshake asks for it) uploads each as it\n"+
		"happens: one POST per punch, the records/upload = 1 rows. A terminal sending a backlog after a cut\n"+
		"sends up to 100 records a POST (firmware varies). \"× a real terminal\" is the per-terminal rate over\n"+
		"that ceiling. CPU and RSS are the gateway process's (/proc/self, CPU in 10 ms ticks); journal sync\n"+
		"window %.0f ms.\n", realTerminalPerS, r.SyncWindowMs)
}
