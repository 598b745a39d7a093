package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// The zkpush command measures punches through the gateway's PUSH listener:
// emulated ZKTeco terminals (zkpushsim, in this process) upload their logs
// over HTTP on loopback to the PUSH driver → the intake → the journal,
// answered "OK: n" only once durable, in a child process per fleet whose CPU
// is its own. Beside it, in the same run, the terminals command's link
// terminals on PTYs record the same number of punches: the peer the PUSH
// figures are given as ratios against.

// zkpushConfig is the zkpush command's flags.
type zkpushConfig struct {
	Fleets     []int // terminal counts, one child process each
	Punches    int   // per terminal
	Batches    []int // records per upload, one run each: 1 is a terminal in Realtime mode
	SyncWindow time.Duration
	Dir        string
	NoPeer     bool // skip the link terminals
	JSON       bool

	// Internal: the child's own flags.
	Child   bool
	State   string // the gateway state directory
	Serials string // the terminals' serial numbers, comma-separated
}

// zkpushRun is one fleet size and batch size's figures, measured by the
// child from the start signal until every punch is durable.
type zkpushRun struct {
	Terminals       int     `json:"terminals"`
	Batch           int     `json:"batch"` // records per upload
	Punches         int     `json:"punches"`
	PunchesPerS     float64 `json:"punches_per_s"`
	PerTerminalPerS float64 `json:"per_terminal_punches_per_s"`
	CPUUsPerPunch   float64 `json:"cpu_us_per_punch"` // gateway side: HTTP, driver, intake, journal
	FsyncsPerS      float64 `json:"fsyncs_per_s"`
	RSSMB           float64 `json:"rss_mb"`
	Seconds         float64 `json:"seconds"`
	Commits         uint64  `json:"commits"`
	Uploads         int     `json:"uploads"` // POSTs answered OK, counted by the terminals

	// Against the link terminals of the same fleet size in this run (0
	// without them): PUSH ÷ link.
	VsLinkPunchesPerS float64 `json:"vs_link_punches_per_s,omitempty"`
	VsLinkCPU         float64 `json:"vs_link_cpu_per_punch,omitempty"`
	// VsRealTerminal is the per-terminal rate ÷ RealTerminalPerS: how many
	// times faster than a real terminal can produce punches.
	VsRealTerminal float64 `json:"vs_real_terminal"`
}

// realTerminalPerS is the most a real terminal produces: one verification
// (finger, face or card, and the terminal's voice prompt) takes about a
// second, so one person a second at most, each punch uploaded as it
// happens (Realtime=1, zkpush.DefaultOptions).
const realTerminalPerS = 1.0

// zkpushResult is the whole comparison.
type zkpushResult struct {
	PunchesPerTerminal int     `json:"punches_per_terminal"`
	SyncWindowMs       float64 `json:"sync_window_ms"`
	Runs               []zkpushRun
	Link               []terminalsRun `json:"link,omitempty"` // the peer, same punches, same fleets
}

func zkpushMain(ctx context.Context, args []string) error {
	var cfg zkpushConfig
	fs := flag.NewFlagSet("zkpush", flag.ContinueOnError)
	fleets := fs.String("n", "1,32", "terminal counts to run, comma-separated, each in its own gateway process")
	batches := fs.String("batch", "1,100", "records per upload, comma-separated: 1 is a terminal in Realtime mode (a POST per punch), 100 one sending a backlog")
	fs.IntVar(&cfg.Punches, "punches", 500, fmt.Sprintf("punches each terminal holds in its log when the run starts (at most %d)", maxPunches))
	fs.DurationVar(&cfg.SyncWindow, "sync-window", 10*time.Millisecond, "the journal's sync window (the configuration's default)")
	fs.StringVar(&cfg.Dir, "dir", "", "where to make the journal's directory (default: the current directory; never tmpfs)")
	fs.BoolVar(&cfg.NoPeer, "no-link", false, "skip the link terminals run (no ratios)")
	fs.BoolVar(&cfg.JSON, "json", false, "print one JSON object")
	fs.BoolVar(&cfg.Child, "child", false, "internal: run the gateway side in this process")
	fs.StringVar(&cfg.State, "state", "", "internal: gateway state directory")
	fs.StringVar(&cfg.Serials, "serials", "", "internal: the terminals' serial numbers")
	setUsage(fs, "usage: bench zkpush [flags]\n\n"+
		"Emulated ZKTeco PUSH terminals each hold a log of punches and upload it\n"+
		"over HTTP on loopback; the gateway side (PUSH listener and driver, intake,\n"+
		"journal, as the daemon wires them, without the uplink) runs in a child\n"+
		"process per fleet size. Measures punches/s until every punch is durable and\n"+
		"checks each arrived exactly once, in order, under its id; then runs the\n"+
		"link terminals (bench terminals) with as many punches, for the ratios.\n\n", "child", "state", "serials")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	var err error
	if cfg.Fleets, err = counts(*fleets); err != nil {
		return fmt.Errorf("zkpush: -n %q: want counts like 1,32", *fleets)
	}
	if cfg.Batches, err = counts(*batches); err != nil {
		return fmt.Errorf("zkpush: -batch %q: want counts like 1,100", *batches)
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	if cfg.Child {
		return childJSON(os.Stdout, func() (zkpushRun, error) { return zkpushChild(ctx, cfg, os.Stdin, os.Stdout) })
	}
	return runAndPrint(cfg.JSON, func(progress io.Writer) (zkpushResult, error) { return runZKPush(ctx, cfg, progress) }, printZKPush)
}

// runAndPrint runs a command's measurements, with progress on stderr
// unless asJSON, and prints the result on stdout: as JSON, or as print
// shows it.
func runAndPrint[R any](asJSON bool, run func(progress io.Writer) (R, error), print func(io.Writer, R)) error {
	var progress io.Writer = os.Stderr
	if asJSON {
		progress = io.Discard
	}
	r, err := run(progress)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(os.Stdout).Encode(r)
	}
	print(os.Stdout, r)
	return nil
}

// counts parses comma-separated whole numbers.
func counts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func (c *zkpushConfig) validate() error {
	for _, n := range c.Fleets {
		if n < 1 || n > 256 {
			return fmt.Errorf("zkpush: -n %d: must be 1..256", n)
		}
	}
	for _, b := range c.Batches {
		if b < 1 || b > 10000 {
			return fmt.Errorf("zkpush: -batch %d: must be 1..10000 (the listener's line cap)", b)
		}
	}
	switch {
	case c.Punches < 1 || c.Punches > maxPunches:
		return fmt.Errorf("zkpush: -punches %d: must be 1..%d", c.Punches, maxPunches)
	case c.SyncWindow <= 0 || c.SyncWindow > time.Second:
		return fmt.Errorf("zkpush: -sync-window %v: must be in (0, 1s]", c.SyncWindow)
	case c.Child && (c.State == "" || c.Serials == ""):
		return errors.New("zkpush: -child needs -state and -serials")
	}
	return nil
}
