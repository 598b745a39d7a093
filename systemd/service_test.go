package systemd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/mqtttest"
)

// notifySocket is a fake systemd: a unixgram listener collecting datagrams.
type notifySocket struct {
	path string
	ch   chan string
}

func listenNotify(t *testing.T) *notifySocket {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	s := &notifySocket{path: path, ch: make(chan string, 1024)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			s.ch <- string(buf[:n])
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return s
}

// await returns the first datagram with the prefix, failing after d.
func (s *notifySocket) await(t *testing.T, prefix string, d time.Duration) string {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case m := <-s.ch:
			if strings.HasPrefix(m, prefix) {
				return m
			}
		case <-timeout:
			t.Fatalf("no %q from the gateway within %v", prefix, d)
		}
	}
}

// gatewayConfig writes a minimal configuration (no devices) into dir.
func gatewayConfig(t *testing.T, dir, broker string) (conf, journalDir string) {
	t.Helper()
	journalDir = filepath.Join(dir, "state", "journal")
	conf = filepath.Join(dir, "officegate.toml")
	body := fmt.Sprintf(`[gateway]
id = "gw-systemd"
timezone = "UTC"

[mqtt]
url = %q
backoff_min = "50ms"
backoff_max = "500ms"

[journal]
dir = %q
segment_size = "256KiB"
max_bytes = "4MiB"

[http]
listen = "127.0.0.1:0"

[log]
format = "json"
`, broker, journalDir)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return conf, journalDir
}

type gatewayProc struct {
	cmd  *exec.Cmd
	out  *bytes.Buffer
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, once done is closed
}

// startGateway runs `officegate run` as systemd would: NOTIFY_SOCKET,
// WATCHDOG_USEC and WATCHDOG_PID (through a shell, which execs the binary
// with its own pid, as systemd's fork does).
func startGateway(t *testing.T, conf string, notify *notifySocket, watchdog time.Duration) *gatewayProc {
	t.Helper()
	bin := binary(t)
	cmd := exec.Command("/bin/sh", "-c", `WATCHDOG_PID=$$ exec "$0" run --config "$1"`, bin, conf)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+notify.path,
		fmt.Sprintf("WATCHDOG_USEC=%d", watchdog.Microseconds()))
	p := &gatewayProc{cmd: cmd, out: &bytes.Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("gateway output:\n%s", p.out)
		}
	})
	return p
}

// locked reports whether someone holds the journal directory's lock.
func locked(t *testing.T, dir string) bool {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "LOCK"))
	if err != nil {
		return false
	}
	defer f.Close()
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if err == nil {
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		return false
	}
	return errors.Is(err, unix.EWOULDBLOCK)
}

// TestReadyAfterJournalOpen: a gateway whose journal cannot open (another
// process holds it) never says READY; one that opens it says READY while
// holding it, pings the watchdog, says STOPPING at SIGTERM and exits cleanly
// within the unit's TimeoutStopSec — with the broker up, and with it gone
// (the uplink backing off).
func TestReadyAfterJournalOpen(t *testing.T) {
	stopLimit := durationSetting(t, unitSettings(t), "TimeoutStopSec")
	for _, brokerDown := range []bool{false, true} {
		t.Run(fmt.Sprintf("brokerDown=%v", brokerDown), func(t *testing.T) {
			b := mqtttest.Start(t, nil)
			dir := t.TempDir()
			conf, jdir := gatewayConfig(t, dir, b.URL)

			// Hold the journal: the gateway must fail without READY.
			held, err := journal.Open(jdir, &journal.Options{Streams: []journal.Stream{{Name: "records"}}})
			if err != nil {
				t.Fatal(err)
			}
			notify := listenNotify(t)
			p := startGateway(t, conf, notify, 4*time.Second)
			select {
			case <-p.done:
				if p.err == nil {
					t.Fatal("gateway ran with its journal held by another process")
				}
			case <-time.After(30 * time.Second):
				t.Fatal("gateway did not give up on a held journal")
			}
			select {
			case m := <-notify.ch:
				t.Fatalf("gateway without a journal told systemd %q", m)
			default:
			}
			held.Close()

			p = startGateway(t, conf, notify, 4*time.Second)
			m := notify.await(t, "READY=1", 30*time.Second)
			if !locked(t, jdir) {
				t.Fatalf("READY (%q) while the journal is not open", m)
			}
			notify.await(t, "WATCHDOG=1", 10*time.Second) // every 2 s
			notify.await(t, "WATCHDOG=1", 10*time.Second)

			if brokerDown {
				b.Kill()
			}
			start := time.Now()
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			notify.await(t, "STOPPING=1", stopLimit)
			ctx, cancel := context.WithTimeout(context.Background(), stopLimit)
			defer cancel()
			select {
			case <-p.done:
				if p.err != nil {
					t.Fatalf("exit after SIGTERM: %v", p.err)
				}
			case <-ctx.Done():
				t.Fatalf("still running %v after SIGTERM (TimeoutStopSec)", stopLimit)
			}
			t.Logf("stopped in %v (limit %v)", time.Since(start).Round(time.Millisecond), stopLimit)
			if locked(t, jdir) {
				t.Fatal("journal still locked after exit")
			}
		})
	}
}
