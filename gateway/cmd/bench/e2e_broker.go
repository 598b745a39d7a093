package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// broker is a mosquitto the e2e command runs for itself, on a free loopback
// port, configured as gateway/mqtttest configures the test broker: it must
// not drop QoS 1 messages for a subscriber that falls behind, or the gateway
// would be blamed for the broker's loss.
type broker struct {
	// Immutable.
	url  string // tcp://127.0.0.1:PORT
	addr string
	bin  string
	conf string

	cmd *exec.Cmd // the running process; nil when stopped (owned by the caller's goroutine)
}

// errNoMosquitto is returned when no mosquitto binary is found.
var errNoMosquitto = errors.New("bench: mosquitto is not installed (apt-get install mosquitto), or pass -mosquitto PATH")

// findMosquitto returns bin if set, else mosquitto from PATH or the sbin
// directories Debian and source installs use (often not in a user's PATH).
func findMosquitto(bin string) (string, error) {
	if bin != "" {
		if _, err := exec.LookPath(bin); err != nil {
			return "", fmt.Errorf("bench: -mosquitto %q: %w", bin, err)
		}
		return bin, nil
	}
	for _, p := range []string{"mosquitto", "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"} {
		if path, err := exec.LookPath(p); err == nil {
			return path, nil
		}
	}
	return "", errNoMosquitto
}

// startBroker writes a configuration into dir and starts mosquitto.
func startBroker(bin, dir string) (*broker, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: no free loopback port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	lines := []string{
		fmt.Sprintf("listener %d 127.0.0.1", port),
		"allow_anonymous true",
		"persistence false",
		// Unlimited queues and inflight windows: the default of 1000 queued
		// messages per client silently drops QoS 1 messages.
		"max_queued_messages 0",
		"max_inflight_messages 0",
		"log_dest stderr",
		"log_type error",
		"log_type warning",
	}
	conf := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	b := &broker{url: "tcp://" + addr, addr: addr, bin: bin, conf: conf}
	return b, b.start()
}

// start starts the broker (again) and returns once it listens.
func (b *broker) start() error {
	cmd := exec.Command(b.bin, "-c", b.conf)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = orphanSignal()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("bench: start mosquitto: %w", err)
	}
	b.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", b.addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			b.stop()
			return fmt.Errorf("bench: mosquitto did not listen on %s: %w", b.addr, err)
		}
		time.Sleep(5 * time.Millisecond) // polling a port: nothing to wait on
	}
}

// stop stops the broker gracefully; without persistence it forgets every
// session and retained message.
func (b *broker) stop() {
	if b.cmd == nil {
		return
	}
	b.cmd.Process.Signal(syscall.SIGTERM)
	b.cmd.Wait()
	b.cmd = nil
}
