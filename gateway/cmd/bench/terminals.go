package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

// The terminals command measures punches through the device side of the
// gateway alone: emulated attendance terminals on real PTYs → the link →
// the intake → the journal, durable, with no uplink. For each fleet size a
// child process runs the gateway side as the daemon wires it, so that its
// CPU and peak RSS are its own; the terminals run in this process.

// terminalsConfig is the terminals command's flags.
type terminalsConfig struct {
	Fleets     []int         // terminal counts, one child process each
	Punches    int           // per terminal
	Batch      int           // punches per EmitMany (one state-file write on the terminal)
	SyncWindow time.Duration // the journal's
	Dir        string        // parent of the journal's directory; "" is the current directory
	Profile    string        // write the gateway side's CPU profile here (the last fleet's)
	JSON       bool

	// Internal: the child's own flags.
	Child bool
	State string // the gateway state directory
	Ports string // id=tty,…
}

// maxPunches is an emulated terminal's store (fwemu's default Capacity):
// a burst larger than it would be dropped by the terminal before the
// gateway could take it.
const maxPunches = 10000

// terminalsRun is one fleet size's figures, measured by the child from the
// first emit until every punch is durable in the journal.
type terminalsRun struct {
	Terminals       int     `json:"terminals"`
	Punches         int     `json:"punches"` // in total, all verified in the journal
	PunchesPerS     float64 `json:"punches_per_s"`
	PerTerminalPerS float64 `json:"per_terminal_punches_per_s"`
	CPUUsPerPunch   float64 `json:"cpu_us_per_punch"` // gateway side: link, intake, journal
	FsyncsPerS      float64 `json:"fsyncs_per_s"`
	RSSMB           float64 `json:"rss_mb"` // peak (VmHWM) of the gateway side

	Seconds       float64 `json:"seconds"`
	Commits       uint64  `json:"commits"` // journal group commits
	Fsyncs        uint64  `json:"fsyncs"`
	EmitSeconds   float64 `json:"emit_s"`         // the terminals recording the burst (this process)
	StateKBMax    float64 `json:"state_kb_max"`   // a terminal's state file, rewritten at every batch
	VsWireAt115k2 float64 `json:"vs_wire_115200"` // per-terminal rate ÷ the 115 200-baud ceiling
}

// terminalsResult is the whole comparison.
type terminalsResult struct {
	PunchesPerTerminal int     `json:"punches_per_terminal"`
	Batch              int     `json:"batch"`
	SyncWindowMs       float64 `json:"sync_window_ms"`
	LogCapacity        int     `json:"log_capacity"` // the terminals' punch log
	WireBytesPerPunch  float64 `json:"wire_bytes_per_punch"`
	WirePerSAt115k2    float64 `json:"wire_punches_per_s_115200"` // one port's ceiling
	Runs               []terminalsRun
}

func terminalsMain(ctx context.Context, args []string) error {
	var cfg terminalsConfig
	fs := flag.NewFlagSet("terminals", flag.ContinueOnError)
	fleets := fs.String("n", "1,16", "terminal counts to run, comma-separated, each in its own gateway process")
	fs.IntVar(&cfg.Punches, "punches", 2000, fmt.Sprintf("punches each terminal records in one burst (at most %d, a terminal's store)", maxPunches))
	fs.IntVar(&cfg.Batch, "batch", 50, "punches per EmitMany: one write of the terminal's state file each")
	fs.DurationVar(&cfg.SyncWindow, "sync-window", 10*time.Millisecond, "the journal's sync window (the configuration's default)")
	fs.StringVar(&cfg.Dir, "dir", "", "where to make the journal's directory (default: the current directory; never tmpfs)")
	fs.BoolVar(&cfg.JSON, "json", false, "print one JSON object")
	fs.StringVar(&cfg.Profile, "cpuprofile", "", "write the gateway side's CPU profile, from the first punch to the last durable one, to `file` (one per fleet: the last run's is kept)")
	fs.BoolVar(&cfg.Child, "child", false, "internal: run the gateway side in this process")
	fs.StringVar(&cfg.State, "state", "", "internal: gateway state directory")
	fs.StringVar(&cfg.Ports, "ports", "", "internal: id=tty,… of the terminals")
	setUsage(fs, "usage: bench terminals [flags]\n\n"+
		"Emulated attendance terminals on PTYs each record a burst of punches; the\n"+
		"gateway side (link, intake, journal, as the daemon wires them, without the\n"+
		"uplink) runs in a child process per fleet size. Measures punches/s until\n"+
		"every punch is durable and checks each arrived exactly once, in order.\n\n", "child", "state", "ports")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	var err error
	if cfg.Fleets, err = counts(*fleets); err != nil {
		return fmt.Errorf("terminals: -n %q: want counts like 1,16", *fleets)
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	if cfg.Child {
		return childJSON(os.Stdout, func() (terminalsRun, error) { return terminalsChild(ctx, cfg, os.Stdin, os.Stdout) })
	}
	return runAndPrint(cfg.JSON, func(progress io.Writer) (terminalsResult, error) { return runTerminals(ctx, cfg, progress) }, printTerminals)
}

func (c *terminalsConfig) validate() error {
	for _, n := range c.Fleets {
		if n < 1 || n > 256 {
			return fmt.Errorf("terminals: -n %d: must be 1..256", n)
		}
	}
	switch {
	case c.Punches < 1 || c.Punches > maxPunches:
		return fmt.Errorf("terminals: -punches %d: must be 1..%d (a terminal's store)", c.Punches, maxPunches)
	case c.Batch < 1 || c.Batch > c.Punches:
		return fmt.Errorf("terminals: -batch %d: must be 1..-punches (%d)", c.Batch, c.Punches)
	case c.SyncWindow <= 0 || c.SyncWindow > time.Second:
		return fmt.Errorf("terminals: -sync-window %v: must be in (0, 1s]", c.SyncWindow)
	case c.Child && (c.State == "" || c.Ports == ""):
		return errors.New("terminals: -child needs -state and -ports")
	}
	return nil
}
