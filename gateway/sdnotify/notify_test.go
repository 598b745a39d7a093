package sdnotify_test

import (
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/sdnotify"
)

// socket is a fake systemd: a unixgram listener collecting datagrams.
type socket struct {
	path string
	ch   chan string
}

func listen(t *testing.T) *socket {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	s := &socket{path: path, ch: make(chan string, 1024)}
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

// next returns the next datagram, failing after d.
func (s *socket) next(t *testing.T, d time.Duration) string {
	t.Helper()
	select {
	case m := <-s.ch:
		return m
	case <-time.After(d):
		t.Fatalf("no datagram within %v", d)
		return ""
	}
}

func TestNotify(t *testing.T) {
	s := listen(t)
	n, err := sdnotify.New(s.path)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(sdnotify.Ready, sdnotify.Status("two\nlines")); err != nil {
		t.Fatal(err)
	}
	if got, want := s.next(t, 5*time.Second), "READY=1\nSTATUS=two lines"; got != want {
		t.Fatalf("datagram %q, want %q", got, want)
	}
}

func TestNotifyAbstract(t *testing.T) {
	name := "@officegate-test-" + strings.ReplaceAll(t.TempDir(), "/", "-")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	n, err := sdnotify.New(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(sdnotify.Watchdog); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	k, err := c.Read(buf)
	if err != nil || string(buf[:k]) != "WATCHDOG=1" {
		t.Fatalf("read %q, %v; want WATCHDOG=1", buf[:k], err)
	}
}

func TestNotifyOutsideSystemd(t *testing.T) {
	n, err := sdnotify.New("")
	if n != nil || err != nil {
		t.Fatalf("New(\"\") = %v, %v; want nil, nil", n, err)
	}
	if err := n.Notify(sdnotify.Ready); err != nil {
		t.Fatalf("nil Notifier: %v", err)
	}
	if _, err := sdnotify.New("relative/path"); err == nil {
		t.Fatal("a relative NOTIFY_SOCKET was accepted")
	}
	gone, _ := sdnotify.New(filepath.Join(t.TempDir(), "nobody"))
	if err := gone.Notify(sdnotify.Ready); err == nil {
		t.Fatal("notify to a missing socket reported success")
	}
}

func TestWatchdogInterval(t *testing.T) {
	for _, tc := range []struct {
		usec, pid string
		want      time.Duration
		err       bool
		otherPID  bool
	}{
		{"", "", 0, false, false},
		{"60000000", "", time.Minute, false, false},
		{"60000000", "42", time.Minute, false, false},
		{"60000000", "43", 0, true, true},
		{"0", "", 0, true, false},
		{"-5", "", 0, true, false},
		{"1m", "", 0, true, false},
		{"60000000", "x", 0, true, false},
	} {
		got, err := sdnotify.WatchdogInterval(tc.usec, tc.pid, 42)
		if got != tc.want || (err != nil) != tc.err || errors.Is(err, sdnotify.ErrWatchdogPID) != tc.otherPID {
			t.Errorf("WatchdogInterval(%q, %q) = %v, %v; want %v, error %v", tc.usec, tc.pid, got, err, tc.want, tc.err)
		}
	}
}
