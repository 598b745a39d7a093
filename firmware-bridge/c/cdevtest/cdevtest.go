// Package cdevtest builds the C device library for the host and runs it on a PTY, for tests.
// The gateway's link tests, the daemon's crash tests and fwcheck's
// conformance tests drive the same C code (firmware-bridge/c) a firmware
// would link.
//
// The host builds use gcc with AddressSanitizer and UndefinedBehaviorSanitizer
// and stop at the first report: memory errors and undefined behaviour in the
// C code fail the test that ran it.
package cdevtest

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Dir is the C library's directory (firmware-bridge/c).
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// NeedTool skips t when a tool is missing, or fails it under CI=true: CI
// installs every tool the tests need (.ci/test's need table), so a missing
// one there is a broken machine, not a reason to pass.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed (CI installs it: .ci/test's need table)", name)
		}
		t.Skipf("%s is not installed: skipping the C device's tests", name)
	}
	return p
}

// SanitizeFlags are the flags of every host build.
var SanitizeFlags = []string{"-std=c99", "-Wall", "-Wextra", "-Werror", "-O1", "-g",
	"-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"}

var (
	buildMu sync.Mutex
	built   = map[string]string{}
)

// Build compiles the library with one host program of test/ (e.g.
// "hostdev.c") and returns the executable's path; extra flags select
// features (-DOG_WITH_…). Executables are cached in the system's temporary
// directory under a hash of the sources, the flags and the compiler, so
// test binaries running side by side share one build and a changed source
// gets a new one.
func Build(t testing.TB, program string, extra ...string) string {
	t.Helper()
	gcc := NeedTool(t, "gcc")
	buildMu.Lock()
	defer buildMu.Unlock()
	dir := Dir()
	srcs, _ := filepath.Glob(filepath.Join(dir, "src", "*.c"))
	args := append(append([]string{}, SanitizeFlags...), extra...)
	args = append(args, "-I"+filepath.Join(dir, "include"), "-I"+filepath.Join(dir, "src"), filepath.Join(dir, "test", program))
	args = append(args, srcs...)
	h := sha256.New()
	fmt.Fprintln(h, gcc, strings.Join(args, " "))
	inputs, _ := filepath.Glob(filepath.Join(dir, "*", "*.[ch]"))
	for _, f := range inputs {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(h, f, len(b))
		h.Write(b)
	}
	out := filepath.Join(os.TempDir(), fmt.Sprintf("officegate-cdevtest-%s-%x", strings.TrimSuffix(program, ".c"), h.Sum(nil)[:8]))
	if p, ok := built[out]; ok {
		return p
	}
	if _, err := os.Stat(out); err == nil {
		built[out] = out
		return out
	}
	tmp := fmt.Sprintf("%s.%d.tmp", out, os.Getpid())
	cmd := exec.Command(gcc, append(args, "-o", tmp)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		t.Fatalf("gcc %s: %v\n%s", program, err, b)
	}
	// Another test binary may have built the same: rename is atomic.
	if err := os.Rename(tmp, out); err != nil {
		t.Fatal(err)
	}
	built[out] = out
	return out
}

// Env is the environment of the sanitized programs: a report ends the
// process with an error; leak checking is off (hostdev keeps its tables
// until exit on purpose).
func Env() []string {
	return append(os.Environ(), "ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:exitcode=66",
		"UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=67")
}

// Device is one run of the host device (test/hostdev.c): its flash is a
// directory, so a Device started again on the same directory is the same
// unit after a reboot.
type Device struct {
	TTY  string // the PTY slave the gateway opens
	Dir  string
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  chan string
	done chan struct{}
	err  error // set before done closes
	mu   sync.Mutex
	tail []string // last lines of stderr, for failures
}

// Start runs the host device with flash in dir and the given options
// (hostdev.c's usage), and waits for its PTY.
func Start(t testing.TB, dir string, opts ...string) *Device {
	t.Helper()
	bin := Build(t, "hostdev.c")
	d, err := start(bin, dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Kill() })
	return d
}

func start(bin, dir string, opts ...string) (*Device, error) {
	cmd := exec.Command(bin, append([]string{"-d", dir}, opts...)...)
	cmd.Env = Env()
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cdevtest: start %s: %w", bin, err)
	}
	d := &Device{Dir: dir, cmd: cmd, in: in, out: make(chan string, 64), done: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			d.out <- sc.Text()
		}
	}()
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			d.mu.Lock()
			d.tail = append(d.tail, sc.Text())
			if len(d.tail) > 40 {
				d.tail = d.tail[1:]
			}
			d.mu.Unlock()
		}
	}()
	go func() {
		wg.Wait()
		err := cmd.Wait()
		d.mu.Lock()
		if err != nil && len(d.tail) > 0 {
			err = fmt.Errorf("%w\n%s", err, strings.Join(d.tail, "\n"))
		}
		d.err = err
		d.mu.Unlock()
		close(d.out)
		close(d.done)
	}()
	line, err := d.next(30 * time.Second) // a process start on a loaded machine
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(line, "tty ") {
		return nil, fmt.Errorf("cdevtest: hostdev said %q, want its tty", line)
	}
	d.TTY = strings.TrimPrefix(line, "tty ")
	return d, nil
}

// next returns the next line the device printed.
func (d *Device) next(timeout time.Duration) (string, error) {
	select {
	case l, ok := <-d.out:
		if !ok {
			<-d.done
			return "", fmt.Errorf("cdevtest: device exited: %v", d.err)
		}
		return l, nil
	case <-time.After(timeout):
		return "", errors.New("cdevtest: device silent for " + timeout.String())
	}
}

// expect reads lines until one starts with prefix.
func (d *Device) expect(prefix string) (string, error) {
	for {
		l, err := d.next(30 * time.Second)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(l, prefix) {
			return l, nil
		}
	}
}

// Emit records n punches (each in the device's flash before Emit returns).
func (d *Device) Emit(n int) error {
	if _, err := fmt.Fprintf(d.in, "emit %d\n", n); err != nil {
		return err
	}
	_, err := d.expect("emitted ")
	return err
}

// Status is what the device reports of itself.
type Status map[string]string

// Int returns a numeric field.
func (s Status) Int(k string) int64 {
	v, _ := strconv.ParseInt(s[k], 10, 64)
	return v
}

// Status asks the device for its state.
func (d *Device) Status() (Status, error) {
	if _, err := fmt.Fprintln(d.in, "status"); err != nil {
		return nil, err
	}
	l, err := d.expect("status ")
	if err != nil {
		return nil, err
	}
	st := Status{}
	for _, f := range strings.Fields(strings.TrimPrefix(l, "status ")) {
		k, v, _ := strings.Cut(f, "=")
		st[k] = v
	}
	return st, nil
}

// Rebooted waits for the device to end a firmware test boot ("reboot",
// exit status 3) and returns nil then.
func (d *Device) Rebooted(timeout time.Duration) error {
	select {
	case <-d.done:
	case <-time.After(timeout):
		return errors.New("cdevtest: no reboot within " + timeout.String())
	}
	var ee *exec.ExitError
	if errors.As(d.err, &ee) && ee.ExitCode() == 3 {
		return nil
	}
	return fmt.Errorf("cdevtest: device ended with %v, want a reboot (exit 3)", d.err)
}

// Kill cuts the device's power (SIGKILL) and waits for it. A sanitizer
// report it made before is returned.
func (d *Device) Kill() error {
	select {
	case <-d.done:
	default:
		d.cmd.Process.Signal(syscall.SIGKILL)
		<-d.done
	}
	d.in.Close()
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, l := range d.tail {
		if strings.Contains(l, "Sanitizer") || strings.Contains(l, "runtime error") {
			return fmt.Errorf("cdevtest: the device reported: %s", strings.Join(d.tail, "\n"))
		}
	}
	return nil
}

// Err returns why the device ended, nil while it runs.
func (d *Device) Err() error {
	select {
	case <-d.done:
		return d.err
	default:
		return nil
	}
}
