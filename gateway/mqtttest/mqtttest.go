// Package mqtttest runs a real mosquitto broker for tests. It listens on a free
// loopback port, is configured not to drop QoS 1 messages for slow subscribers,
// and can be killed and restarted on the same port.
package mqtttest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Broker is one mosquitto process (and its restarts).
type Broker struct {
	// Immutable.
	URL  string // tcp://127.0.0.1:PORT
	Addr string // 127.0.0.1:PORT
	Port int
	bin  string
	conf string
	t    testing.TB

	mu sync.Mutex
	// Guarded by mu.
	cmd *exec.Cmd
}

// Options tune the broker's configuration.
type Options struct {
	// Extra lines appended to mosquitto.conf (ACLs, listeners, …).
	Extra []string
}

// Binary finds mosquitto. Outside CI a missing broker skips the test; under
// CI=true it fails it, so a missing install step cannot pass unnoticed.
func Binary(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"mosquitto", "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("mosquitto is not installed (apt-get install mosquitto): broker tests cannot run")
	}
	t.Skip("mosquitto is not installed (apt-get install mosquitto)")
	return ""
}

// Start runs a broker for the test's lifetime.
func Start(t testing.TB, o *Options) *Broker {
	t.Helper()
	bin := Binary(t)
	port := FreePort(t)
	dir := t.TempDir()
	lines := []string{
		fmt.Sprintf("listener %d 127.0.0.1", port),
		"allow_anonymous true",
		// Started as root, mosquitto would drop to its own user and could not
		// read the test's files (0700 temp dirs); as any other user this has
		// no effect.
		"user root",
		"persistence false",
		// mosquitto's default of 1000 queued messages per client silently drops
		// QoS 1 messages for a slow subscriber; a test that counts must not
		// blame the gateway for the broker's loss.
		"max_queued_messages 0",
		"max_inflight_messages 0",
		"log_dest stderr",
		"log_type error",
		"log_type warning",
	}
	if o != nil {
		lines = append(lines, o.Extra...)
	}
	conf := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := &Broker{
		URL: fmt.Sprintf("tcp://127.0.0.1:%d", port), Addr: fmt.Sprintf("127.0.0.1:%d", port),
		Port: port, bin: bin, conf: conf, t: t,
	}
	b.start()
	t.Cleanup(b.Stop)
	return b
}

func (b *Broker) start() {
	b.t.Helper()
	cmd := exec.Command(b.bin, "-c", b.conf)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.t.Fatalf("start mosquitto: %v", err)
	}
	b.mu.Lock()
	b.cmd = cmd
	b.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second) // a process start on a loaded machine
	for {
		c, err := net.DialTimeout("tcp", b.Addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("mosquitto did not listen on %s: %v", b.Addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Kill stops the broker with SIGKILL: no clean disconnects, no wills flushed.
func (b *Broker) Kill() { b.signal(syscall.SIGKILL) }

// Stop stops the broker gracefully (SIGTERM).
func (b *Broker) Stop() { b.signal(syscall.SIGTERM) }

func (b *Broker) signal(sig syscall.Signal) {
	b.mu.Lock()
	cmd := b.cmd
	b.cmd = nil
	b.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(sig)
	cmd.Wait()
}

// Restart starts the broker again on the same port (after Kill or Stop). The
// broker has no persistence: retained messages and sessions are gone, as after
// a real broker restart without a persistence file.
func (b *Broker) Restart() {
	b.t.Helper()
	b.Kill()
	b.start()
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
