package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/uplink"
)

// benchGateway is the gateway id the e2e command runs under; events arrive
// on officegate/bench/devices/+/events/+.
const benchGateway = "bench"

// gatewayOptions is what the gateway child runs with: the daemon as the
// binary would run it, with the configuration file's defaults.
func gatewayOptions(cfg e2eConfig, ready func()) (daemon.Options, error) {
	var devs []daemon.Device
	if cfg.Ports != "" {
		for _, p := range strings.Split(cfg.Ports, ",") {
			id, path, ok := strings.Cut(p, "=")
			if !ok || id == "" || path == "" {
				return daemon.Options{}, fmt.Errorf("e2e: -ports entry %q: want id=tty", p)
			}
			devs = append(devs, daemon.Device{ID: id, Kind: "terminal", Port: path, Baud: 115200})
		}
	}
	log := zerolog.New(os.Stderr).Level(zerolog.WarnLevel).With().Timestamp().Str("child", "gateway").Logger()
	return daemon.Options{
		Gateway: benchGateway, StateDir: cfg.State, Version: "bench",
		Journal: journal.Options{SyncWindow: cfg.SyncWindow},
		Uplink: uplink.Options{
			Broker: cfg.Broker, ClientID: "officegate-" + benchGateway, Inflight: cfg.Inflight,
			// The drain is timed from its first delivery, so the reconnect
			// delay is not in its rate; a short ceiling only keeps the run short.
			BackoffMax: time.Second,
		},
		Devices: devs, Log: log, HTTP: cfg.HTTP,
		Ready: func(*daemon.Gateway) { ready() },
	}, nil
}

// gatewayChild runs the gateway until SIGTERM; it prints "ready" once every
// part runs.
func gatewayChild(ctx context.Context, cfg e2eConfig) error {
	// As GOGC and GOMEMLIMIT in the environment would, before anything runs.
	if cfg.GOGC != 0 {
		debug.SetGCPercent(cfg.GOGC)
	}
	if cfg.MemLimit != "" {
		n, err := parseBytes(cfg.MemLimit)
		if err != nil {
			return err
		}
		debug.SetMemoryLimit(n)
	}
	o, err := gatewayOptions(cfg, func() { fmt.Println("ready") })
	if err != nil {
		return err
	}
	if cfg.Profile != "" {
		f, err := os.Create(cfg.Profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if cfg.StageProf != "" && cfg.Profile == "" {
		done := make(chan struct{})
		go func() { defer close(done); windowProfile(ctx, cfg.StageProf) }()
		defer func() { <-done }()
	}
	if cfg.MemProfile != "" {
		runtime.MemProfileRate = 4096 // finer than the default 512 KiB: a gateway's heap is a few MB
		// Written as the stop begins, while every link still runs: the
		// profile is of the last collection's live heap.
		done := make(chan error, 1)
		stop := context.AfterFunc(ctx, func() { done <- writeHeapProfile(cfg.MemProfile) })
		defer func() {
			if !stop() {
				if err := <-done; err != nil {
					fmt.Fprintln(os.Stderr, "bench: heap profile:", err)
				}
			}
		}()
	}
	return daemon.Run(ctx, o)
}

// writeHeapProfile writes the heap profile and says on stderr where the
// rest of the process's memory is.
func writeHeapProfile(path string) error {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(os.Stderr, "bench: gateway: %d goroutines; heap in use %.1f MB, goal %.1f MB; stacks %.1f MB; runtime total %.1f MB\n",
		runtime.NumGoroutine(), mb(ms.HeapInuse), mb(ms.NextGC), mb(ms.StackInuse), mb(ms.Sys-ms.HeapReleased))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// child is a bench child process: the gateway or the raw paho publisher.
type child struct {
	cmd    *exec.Cmd
	out    *bufio.Reader // its stdout
	start  time.Time     // just before the process was started
	waited chan error
}

// startChild runs this executable's e2e command with -child and args.
func startChild(exe string, args ...string) (*child, error) {
	cmd := exec.Command(exe, append([]string{"e2e"}, args...)...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = orphanSignal()
	pr, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, out: bufio.NewReader(pr), waited: make(chan error, 1)}
	c.start = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start %v: %w", args, err)
	}
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// line reads the child's next line of output, or fails after timeout.
func (c *child) line(ctx context.Context, timeout time.Duration) (string, error) {
	type res struct {
		s   string
		err error
	}
	ch := make(chan res, 1)
	go func() { s, err := c.out.ReadString('\n'); ch <- res{strings.TrimSpace(s), err} }()
	select {
	case r := <-ch:
		if r.err != nil && r.s == "" {
			return "", fmt.Errorf("bench: child %s ended: %w", c.cmd.Args[2:], r.err)
		}
		return r.s, nil
	case <-time.After(timeout):
		c.kill()
		return "", fmt.Errorf("bench: child %s printed nothing for %v", c.cmd.Args[2:], timeout)
	case <-ctx.Done():
		c.kill()
		return "", ctx.Err()
	}
}

// stop asks the child to stop (SIGTERM) and waits; a child that does not
// stop within 10 s is killed.
func (c *child) stop() error {
	if c.cmd.ProcessState != nil {
		return nil
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	go func() { io.Copy(io.Discard, c.out); c.waited <- c.cmd.Wait() }()
	select {
	case err := <-c.waited:
		// Ending by the SIGTERM sent just above is what stopping means; only
		// another way of dying is an error.
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM {
				return nil
			}
		}
		return err
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-c.waited
		return fmt.Errorf("bench: child %s did not stop within 10 s", c.cmd.Args[2:])
	}
}

func (c *child) kill() {
	if c.cmd.ProcessState == nil {
		c.cmd.Process.Kill()
	}
}

// orphanSignal is nil: Linux's parent-death signal fires when the OS thread
// that started the child exits, which the Go runtime may do at any moment, not
// when the bench does. Children watch their parent instead (exitWithParent);
// the broker is stopped by the bench's own cleanup.
func orphanSignal() *syscall.SysProcAttr { return nil }

// exitWithParent ends a child whose bench died without stopping it: an
// orphan is re-parented, so its parent pid changes.
func exitWithParent() {
	ppid := os.Getppid()
	for {
		time.Sleep(500 * time.Millisecond)
		if os.Getppid() != ppid {
			os.Exit(3)
		}
	}
}

// gatewayArgs are the child's flags for cfg's gateway.
func gatewayArgs(cfg e2eConfig, broker, state, ports string) []string {
	return []string{"-child", "gateway", "-broker", broker, "-state", state, "-ports", ports,
		"-inflight", strconv.Itoa(cfg.Inflight), "-sync-window", cfg.SyncWindow.String(), "-http", metricsAddr(),
		"-gogc", strconv.Itoa(cfg.GOGC), "-gomemlimit", cfg.MemLimit}
}

// parseBytes reads a size as GOMEMLIMIT writes it: a number of bytes with
// an optional B, KiB, MiB or GiB suffix.
func parseBytes(s string) (int64, error) {
	num, mult := s, int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = n, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("e2e: memory limit %q: want a size like 20MiB", s)
	}
	return n * mult, nil
}

// metricsAddr is where the gateway child serves /metrics, so that a phase
// that comes up short can say whether the events are still in its journal.
var metricsAddr = sync.OnceValue(func() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return ""
	}
	defer l.Close()
	return l.Addr().String()
})

// gatewayDiagnosis is the gateway's journal and uplink counters, for an error.
func gatewayDiagnosis() string {
	addr := metricsAddr()
	if addr == "" {
		return ""
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return "gateway metrics unavailable: " + err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var keep []string
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		if strings.Contains(line, "journal_depth") || strings.Contains(line, "journal_appended_total") ||
			strings.Contains(line, "uplink_published_total") || strings.Contains(line, "uplink_connect") ||
			strings.Contains(line, "uplink_reconnects") || strings.Contains(line, "uplink_inflight") || strings.Contains(line, "shed_total") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "; ")
}

// gatewayDelivered reads a diagnosis: every journal stream at depth 0 and
// nothing shed means the broker acknowledged everything the gateway took in.
func gatewayDelivered(diag string) bool {
	if !strings.Contains(diag, "journal_depth") {
		return false
	}
	for _, kv := range strings.Split(diag, "; ") {
		name, val, _ := strings.Cut(kv, " ")
		// Exact names: "published_total" ends in "shed_total" too.
		if (strings.HasPrefix(name, "officegate_journal_depth{") || strings.HasPrefix(name, "officegate_journal_shed_total{")) && val != "0" {
			return false
		}
	}
	return true
}
