package main

import (
	"bufio"
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// benchGateway is the gateway id the e2e command runs under; events arrive
// on officegate/bench/devices/+/events/+.
const benchGateway = "bench"

// gatewayBinary is the officegate binary the bench runs as the gateway:
// path if given, else one built now into dir as a release is built
// (systemd/packaging/build-deb: CGO_ENABLED=0, -trimpath, -ldflags -s -w),
// with the bench's profiling hooks (-tags benchprofile,
// gateway/cmd/officegate/benchprofile.go) added. profiling says whether the
// binary has those hooks: a binary without them is measured without the
// breakdown by stage and without -memprofile.
func gatewayBinary(ctx context.Context, path, dir string) (bin string, profiling bool, err error) {
	if path == "" {
		bin = filepath.Join(dir, "officegate")
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-tags", "benchprofile",
			"-ldflags", "-s -w -X main.version=bench", "-o", bin, "github.com/officegate/officegate/gateway/cmd/officegate")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", false, fmt.Errorf("bench: building officegate (run the bench from inside the module, or give -officegate): %w\n%s", err, out)
		}
	} else if bin, err = filepath.Abs(path); err != nil {
		return "", false, err
	}
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		return "", false, fmt.Errorf("bench: %s: %w", bin, err)
	}
	for _, s := range bi.Settings {
		if s.Key == "-tags" && slices.Contains(strings.Split(s.Value, ","), "benchprofile") {
			profiling = true
		}
	}
	return bin, profiling, nil
}

// gatewayProc is a running officegate.
type gatewayProc struct {
	*child
	profiling bool // its bench profiling hooks answer SIGUSR1/SIGUSR2
}

// gatewaySpec is one gateway to start.
type gatewaySpec struct {
	bin       string
	profiling bool
	broker    string // tcp://…
	state     string // the state directory: journal/ in it
	devices   string // id=tty,…
	cpuProf   string // where the profiling window writes
	heapProf  string // where SIGUSR2 writes the heap profile; "": none
}

// startGateway writes the gateway's configuration file (the defaults, but
// for what the bench sets: the broker, the window, the sync window, a short
// reconnect ceiling, the devices, addresses inside the run) and runs
// `officegate run` on it, as systemd would: GOGC and GOMEMLIMIT in its
// environment, readiness by sd_notify (READY=1) on a socket of the bench.
func startGateway(ctx context.Context, cfg e2eConfig, sp gatewaySpec) (*gatewayProc, error) {
	if err := os.MkdirAll(sp.state, 0o750); err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[gateway]\nid = %q\n\n", benchGateway)
	// The drain is timed from its first delivery, so the reconnect delay is
	// not in its rate; a short ceiling only keeps the run short.
	fmt.Fprintf(&b, "[mqtt]\nurl = %q\ninflight = %d\nbackoff_max = \"1s\"\n\n", sp.broker, cfg.Inflight)
	fmt.Fprintf(&b, "[journal]\ndir = %q\nsync_window = %q\n\n", filepath.Join(sp.state, "journal"), cfg.SyncWindow.String())
	if addr := metricsAddr(); addr != "" {
		fmt.Fprintf(&b, "[http]\nlisten = %q\n\n", addr)
	}
	fmt.Fprintf(&b, "[log]\nlevel = \"error\"\nformat = \"json\"\n\n")
	fmt.Fprintf(&b, "[provisioning]\nsocket = %q\n\n", filepath.Join(sp.state, "admin.sock"))
	if sp.devices != "" {
		for _, p := range strings.Split(sp.devices, ",") {
			id, path, ok := strings.Cut(p, "=")
			if !ok || id == "" || path == "" {
				return nil, fmt.Errorf("e2e: device %q: want id=tty", p)
			}
			fmt.Fprintf(&b, "[[devices]]\nid = %q\nkind = \"terminal\"\nport = %q\nbaud = 115200\n\n", id, path)
		}
	}
	conf := filepath.Join(sp.state, "officegate.toml")
	if err := os.WriteFile(conf, []byte(b.String()), 0o640); err != nil {
		return nil, err
	}
	sock := filepath.Join(sp.state, "notify.sock")
	os.Remove(sock)
	nc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	env := append(os.Environ(), "NOTIFY_SOCKET="+sock)
	if cfg.GOGC != 0 {
		env = append(env, "GOGC="+strconv.Itoa(cfg.GOGC))
	}
	if cfg.MemLimit != "" {
		env = append(env, "GOMEMLIMIT="+cfg.MemLimit)
	}
	if sp.profiling {
		env = append(env, "OFFICEGATE_BENCH_PROFILE="+sp.cpuProf)
		if sp.heapProf != "" {
			env = append(env, "OFFICEGATE_BENCH_HEAP="+sp.heapProf)
		}
	}
	cmd := exec.Command(sp.bin, "run", "--config", conf)
	cmd.Env = env
	c, err := startProcess(cmd, true)
	if err != nil {
		return nil, err
	}
	gw := &gatewayProc{child: c, profiling: sp.profiling}
	if err := waitReady(ctx, nc, c); err != nil {
		c.kill()
		return nil, err
	}
	return gw, nil
}

// waitReady waits for READY=1 from the gateway (sd_notify), or its end.
func waitReady(ctx context.Context, nc *net.UnixConn, c *child) error {
	deadline := time.Now().Add(phaseTimeout)
	buf := make([]byte, 4096)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		nc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		n, err := nc.Read(buf)
		if err == nil && slices.Contains(strings.Split(string(buf[:n]), "\n"), "READY=1") {
			return nil
		}
		select {
		case <-c.ended:
			return fmt.Errorf("bench: officegate ended before it was ready (its output is above)")
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: officegate not ready within %v", phaseTimeout)
		}
	}
}

// child is a bench child process: the gateway or the raw paho publisher.
type child struct {
	cmd    *exec.Cmd
	lines  chan string   // its stdout, line by line (logs apart)
	ended  chan struct{} // its stdout closed: it ended
	start  time.Time     // just before the process was started
	waited chan error
}

// startChild runs this executable's e2e command with -child and args.
func startChild(exe string, args ...string) (*child, error) {
	return startProcess(exec.Command(exe, append([]string{"e2e"}, args...)...), false)
}

// startProcess starts cmd with its stdout read line by line; with logs,
// lines that are JSON objects (its log) go to stderr instead.
func startProcess(cmd *exec.Cmd, logs bool) (*child, error) {
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = orphanSignal()
	pr, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, lines: make(chan string, 256), ended: make(chan struct{}), waited: make(chan error, 1)}
	c.start = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start %v: %w", cmd.Args, err)
	}
	go func() {
		defer close(c.ended)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if logs && strings.HasPrefix(line, "{") {
				fmt.Fprintln(os.Stderr, line)
				continue
			}
			select {
			case c.lines <- line:
			default: // nobody asked: it must not block the child
			}
		}
	}()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// line reads the child's next line of output, or fails after timeout.
func (c *child) line(ctx context.Context, timeout time.Duration) (string, error) {
	select {
	case s := <-c.lines:
		return s, nil
	case <-c.ended:
		select {
		case s := <-c.lines:
			return s, nil
		default:
		}
		return "", fmt.Errorf("bench: child %s ended", c.cmd.Args[1:])
	case <-time.After(timeout):
		c.kill()
		return "", fmt.Errorf("bench: child %s printed nothing for %v", c.cmd.Args[1:], timeout)
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
	go func() { <-c.ended; c.waited <- c.cmd.Wait() }()
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
		return fmt.Errorf("bench: child %s did not stop within 10 s", c.cmd.Args[1:])
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

// validMemLimit says whether s is a size as GOMEMLIMIT takes it.
func validMemLimit(s string) bool { _, err := parseBytes(s); return err == nil }

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
