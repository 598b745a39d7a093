package fleet_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
)

// proc is a child process the test starts, kills and starts again: the
// officegate binary with its arguments. Its output goes to a log file,
// whose tail the test prints when it fails.
type proc struct {
	// Immutable.
	name string
	args []string
	log  string

	mu sync.Mutex
	// Guarded by mu.
	cmd    *exec.Cmd
	done   chan struct{} // closed when cmd has exited
	killed bool          // the test ended cmd: its exit is no failure
	exits  []string      // how runs the test did not end ended
	starts int
}

func newProc(t *testing.T, dir, name string, args ...string) *proc {
	p := &proc{name: name, args: args, log: filepath.Join(dir, name+".log")}
	t.Cleanup(p.stop)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s log (tail):\n%s", p.name, tail(p.log, 3<<10))
		}
	})
	return p
}

// start runs the process; it dies with the test process (Pdeathsig).
func (p *proc) start(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		t.Fatalf("%s: started twice", p.name)
	}
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p.starts++
	fmt.Fprintf(f, "--- fleet test: start %d of %s\n", p.starts, p.name)
	cmd := exec.Command(officegate, p.args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", p.name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done, p.killed = cmd, done, false
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.killed {
			p.exits = append(p.exits, fmt.Sprintf("run %d exited by itself: %v", p.starts, err))
		}
		if p.cmd == cmd {
			p.cmd = nil
		}
		close(done)
	}()
}

// pid is the running process's id; 0 when it is not running.
func (p *proc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// kill ends the process with SIGKILL and waits for it.
func (p *proc) kill() { p.signal(syscall.SIGKILL) }

// stop ends the process with SIGTERM and waits for it.
func (p *proc) stop() { p.signal(syscall.SIGTERM) }

func (p *proc) signal(sig syscall.Signal) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	if cmd != nil {
		p.killed = true
		cmd.Process.Signal(sig)
	}
	p.mu.Unlock()
	if cmd != nil {
		<-done
	}
}

// failures are the runs that ended without the test ending them.
func (p *proc) failures() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for _, e := range p.exits {
		errs = append(errs, fmt.Errorf("%s: %s", p.name, e))
	}
	return errors.Join(errs...)
}

// tail is the last n bytes of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
