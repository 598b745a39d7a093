// Package sdnotify tells systemd how the gateway is doing over $NOTIFY_SOCKET
// (sd_notify(3)). It sends READY once the pipeline runs, STOPPING at shutdown,
// and watchdog pings only while the pipeline makes progress.
//
// The protocol is one datagram of newline-separated VAR=VALUE assignments to
// a unix datagram socket whose path systemd passes in NOTIFY_SOCKET (a leading
// '@' names an abstract socket). It is small enough not to need a library.
package sdnotify

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// States understood by systemd (sd_notify(3)).
const (
	Ready    = "READY=1"
	Stopping = "STOPPING=1"
	Watchdog = "WATCHDOG=1"
)

// Status is a STATUS= line: free text `systemctl status` shows.
func Status(text string) string {
	// One line: a newline would start a new assignment.
	return "STATUS=" + strings.ReplaceAll(text, "\n", " ")
}

// Notifier sends states to systemd. A nil *Notifier (no NOTIFY_SOCKET: not
// started by systemd) accepts every call and sends nothing.
type Notifier struct {
	addr *net.UnixAddr // immutable
}

// New returns a Notifier for the socket named in NOTIFY_SOCKET, or nil when
// socket is empty. Only main reads the environment.
func New(socket string) (*Notifier, error) {
	if socket == "" {
		return nil, nil
	}
	name := socket
	switch {
	case strings.HasPrefix(socket, "@"):
		name = "\x00" + socket[1:] // abstract namespace
	case !strings.HasPrefix(socket, "/"):
		return nil, fmt.Errorf("sdnotify: NOTIFY_SOCKET %q: not an absolute path or abstract name", socket)
	}
	return &Notifier{addr: &net.UnixAddr{Name: name, Net: "unixgram"}}, nil
}

// Notify sends one datagram holding the states, one per line. Each call dials
// afresh: a datagram socket is cheap and systemd may have been re-executed.
func (n *Notifier) Notify(states ...string) error {
	if n == nil {
		return nil
	}
	c, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("sdnotify: %w", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(strings.Join(states, "\n"))); err != nil {
		return fmt.Errorf("sdnotify: send %q: %w", states, err)
	}
	return nil
}

// ErrWatchdogPID means WATCHDOG_PID names another process: the watchdog
// settings were inherited, not meant for us.
var ErrWatchdogPID = errors.New("sdnotify: WATCHDOG_PID is another process")

// WatchdogInterval is the watchdog timeout from WATCHDOG_USEC and WATCHDOG_PID
// (sd_watchdog_enabled(3)); 0 when no watchdog is set. Ping at half of it.
func WatchdogInterval(usec, pid string, self int) (time.Duration, error) {
	if usec == "" {
		return 0, nil
	}
	if pid != "" {
		p, err := strconv.Atoi(pid)
		if err != nil {
			return 0, fmt.Errorf("sdnotify: WATCHDOG_PID %q: %w", pid, err)
		}
		if p != self {
			return 0, fmt.Errorf("%w (%d, not %d)", ErrWatchdogPID, p, self)
		}
	}
	us, err := strconv.ParseUint(usec, 10, 63)
	if err != nil || us == 0 {
		return 0, fmt.Errorf("sdnotify: WATCHDOG_USEC %q: not a positive number of microseconds", usec)
	}
	return time.Duration(us) * time.Microsecond, nil
}
