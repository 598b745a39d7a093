package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/pprof/profile"
)

// The gateway's CPU by stage. The daemon labels every goroutine with its
// stage (gateway/daemon/labels.go: links, intake, journal, fsync, uplink,
// …); the gateway child profiles its CPU over a window the bench opens and
// closes with signals (SIGUSR1, SIGUSR2), and the bench adds the samples up
// by label. The shares are applied to the CPU time /proc measured over the
// same window, so the stages add up to the gateway's CPU per event.

// stageOrder is the order stages are printed in; others follow by name.
var stageOrder = []string{"links", "intake", "journal", "fsync", "uplink"}

// stageNames say what each label holds, for the printout.
var stageNames = map[string]string{
	"links":   "link: serial read, frame decode, acks",
	"intake":  "intake: envelope, journal append",
	"journal": "journal commit (write)",
	"fsync":   "fdatasync",
	"uplink":  "uplink: journal read, render, publish",
	"":        "unlabelled: runtime (GC, scheduler)",
}

// signalLine sends sig to the child and waits for the line it answers with.
func (c *child) signalLine(ctx context.Context, sig syscall.Signal, want string) error {
	if err := c.cmd.Process.Signal(sig); err != nil {
		return err
	}
	line, err := c.line(ctx, phaseTimeout)
	if err != nil {
		return err
	}
	if line != want {
		return fmt.Errorf("bench: gateway child answered %q to %v, want %q", line, sig, want)
	}
	return nil
}

// stageWindow is an open profiling window of the gateway child; nil when
// the run does not break the CPU down (the whole-run -cpuprofile holds the
// profiler).
type stageWindow struct {
	gw   *gatewayProc
	path string
}

func openStageWindow(ctx context.Context, cfg e2eConfig, gw *gatewayProc, path string) (*stageWindow, error) {
	if cfg.Profile != "" || !gw.profiling {
		return nil, nil
	}
	if err := gw.signalLine(ctx, syscall.SIGUSR1, "profiling"); err != nil {
		return nil, err
	}
	return &stageWindow{gw: gw, path: path}, nil
}

// close ends the window and returns each stage's share of the samples.
func (w *stageWindow) close(ctx context.Context) (map[string]float64, error) {
	if w == nil {
		return nil, nil
	}
	if err := w.gw.signalLine(ctx, syscall.SIGUSR2, "profiled"); err != nil {
		return nil, err
	}
	return stageShares(w.path)
}

// keepHeapProfile keeps the heap profile the gateway wrote as the window
// closed (with -memprofile) as FILE.phase: the one at the end of the run
// overwrites FILE.
func keepHeapProfile(cfg e2eConfig, w *stageWindow, phase string) error {
	if w == nil || cfg.MemProfile == "" {
		return nil
	}
	b, err := os.ReadFile(cfg.MemProfile)
	if err != nil {
		return err
	}
	return os.WriteFile(cfg.MemProfile+"."+phase, b, 0o644)
}

// stageShares reads the gateway's CPU profile and returns each stage
// label's share of its CPU samples ("" for samples without one).
func stageShares(path string) (map[string]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	shares, err := labelShares(f, "stage")
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w", path, err)
	}
	return shares, nil
}

// benchSide runs f with the bench's goroutines, and those f starts,
// labelled side=name (devices, subscriber), so that the bench's own CPU in
// the throughput window can be told apart the same way as the gateway's.
func benchSide(name string, f func() error) error {
	var err error
	pprof.Do(context.Background(), pprof.Labels("side", name), func(context.Context) { err = f() })
	return err
}

// labelShares reads a CPU profile and returns each value of the label key's
// share of its CPU samples ("" for samples without the label).
func labelShares(r io.Reader, key string) (map[string]float64, error) {
	p, err := profile.Parse(r)
	if err != nil {
		return nil, err
	}
	vi := -1
	for i, st := range p.SampleType {
		if st.Type == "cpu" {
			vi = i
		}
	}
	if vi < 0 {
		return nil, errors.New("not a CPU profile")
	}
	by := map[string]int64{}
	var total int64
	for _, s := range p.Sample {
		var stage string
		if v := s.Label[key]; len(v) > 0 {
			stage = v[0]
		}
		by[stage] += s.Value[vi]
		total += s.Value[vi]
	}
	shares := map[string]float64{}
	if total == 0 {
		return shares, nil
	}
	for k, v := range by {
		shares[k] = float64(v) / float64(total)
	}
	return shares, nil
}

// scaleShares turns shares into the same unit as total (µs per event, or %
// of a core), rounded.
func scaleShares(shares map[string]float64, total float64) map[string]float64 {
	if shares == nil {
		return nil
	}
	out := map[string]float64{}
	for k, v := range shares {
		name := k
		if name == "" {
			name = "unlabelled"
		}
		out[name] = round(v*total, 2)
	}
	return out
}

// stagesSorted lists the stages of m in print order.
func stagesSorted(m map[string]float64) []string {
	var rest []string
	for k := range m {
		if !slices.Contains(stageOrder, k) && k != "unlabelled" {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	var out []string
	for _, k := range stageOrder {
		if _, ok := m[k]; ok {
			out = append(out, k)
		}
	}
	out = append(out, rest...)
	if _, ok := m["unlabelled"]; ok {
		out = append(out, "unlabelled")
	}
	return out
}

func stageName(k string) string {
	if k == "unlabelled" {
		k = ""
	}
	if n, ok := stageNames[k]; ok {
		return n
	}
	return k
}

// ctxSwitches is the number of times the threads of process pid were
// switched out so far, voluntarily (they blocked: each is a wake-up to come)
// and not (preempted), summed over /proc/<pid>/task/*/status.
func ctxSwitches(pid int) (vol, nonvol uint64, err error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil || len(tasks) == 0 {
		return 0, 0, fmt.Errorf("bench: threads of %d: %v", pid, err)
	}
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue // the thread ended meanwhile
		}
		for line := range strings.Lines(string(b)) {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			switch k {
			case "voluntary_ctxt_switches":
				if err == nil {
					vol += n
				}
			case "nonvoluntary_ctxt_switches":
				if err == nil {
					nonvol += n
				}
			}
		}
	}
	return vol, nonvol, nil
}

// machineCPU is the time all CPUs of the machine were busy and the time
// that passed times their number, from /proc/stat, in USER_HZ ticks.
func machineCPU() (busy, total uint64, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("bench: /proc/stat: %q", line)
	}
	for i, s := range f[1:] {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("bench: /proc/stat: %q: %w", line, err)
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total, nil
}

// idleResult is the idle phase: devices connected, heartbeats only.
type idleResult struct {
	Seconds      float64            `json:"seconds"`
	CPUPct       float64            `json:"cpu_pct"`         // gateway, % of one core
	WakeupsPerS  float64            `json:"wakeups_per_s"`   // gateway threads switched out voluntarily, per second
	PreemptPerS  float64            `json:"preempted_per_s"` // and involuntarily
	RSSMB        float64            `json:"rss_mb"`          // gateway, resident now (anon + file)
	RSSAnonMB    float64            `json:"rss_anon_mb"`
	BenchCPUPct  float64            `json:"bench_cpu_pct"` // the emulated devices and the subscriber (this process)
	StagesCPUPct map[string]float64 `json:"stages_cpu_pct,omitempty"`
}

// measureIdle measures the gateway for d while the devices only keep their
// links alive.
func measureIdle(ctx context.Context, cfg e2eConfig, gw *gatewayProc, profPath string, d time.Duration) (idleResult, error) {
	var r idleResult
	pid := gw.pid()
	win, err := openStageWindow(ctx, cfg, gw, profPath)
	if err != nil {
		return r, err
	}
	t0, b0 := time.Now(), selfCPU()
	c0, err := procCPU(pid)
	if err != nil {
		return r, err
	}
	v0, n0, err := ctxSwitches(pid)
	if err != nil {
		return r, err
	}
	if err := sleep(ctx, d); err != nil {
		return r, err
	}
	c1, err1 := procCPU(pid)
	v1, n1, err2 := ctxSwitches(pid)
	b1, el := selfCPU(), time.Since(t0)
	if err := firstErr(err1, err2); err != nil {
		return r, err
	}
	shares, err := win.close(ctx)
	if err == nil {
		err = keepHeapProfile(cfg, win, "idle")
	}
	if err != nil {
		return r, err
	}
	anon, file, err := rssOf(pid)
	if err != nil {
		return r, err
	}
	sec := el.Seconds()
	r.Seconds = round(sec, 1)
	r.CPUPct = round(100*(c1-c0).Seconds()/sec, 2)
	r.WakeupsPerS = round(float64(v1-v0)/sec, 0)
	r.PreemptPerS = round(float64(n1-n0)/sec, 0)
	r.RSSMB, r.RSSAnonMB = mb(anon+file), mb(anon)
	r.BenchCPUPct = round(100*(b1-b0).Seconds()/sec, 2)
	r.StagesCPUPct = scaleShares(shares, r.CPUPct)
	return r, nil
}
