package serialport

import (
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// hang is how long a test waits for something that should happen at once before it calls
// it a hang. It detects hangs; it does not measure speed.
const hang = 30 * time.Second

// device is a fake serial device: the master side of a real kernel pty.
type device struct {
	m     *os.File // the device's end
	s     *os.File // a slave descriptor held open for the pty's life
	slave string   // slave path, as a driver would open it
}

func newDevice(t *testing.T) *device {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Fatalf("pty: %v", err)
	}
	// A read on the master ignores deadlines and returns only once every slave
	// descriptor is closed: close the slave first.
	t.Cleanup(func() { s.Close(); m.Close() })
	return &device{m: m, s: s, slave: s.Name()}
}

// plug creates a device and points link at it, as udev does with /dev/serial/by-id.
func plug(t *testing.T, link string) *device {
	t.Helper()
	d := newDevice(t)
	os.Remove(link)
	if err := os.Symlink(d.slave, link); err != nil {
		t.Fatal(err)
	}
	return d
}

// unplug hangs up the device and removes its link, as pulling a USB adapter does.
func (d *device) unplug(link string) {
	d.m.Close()
	os.Remove(link)
}

// readN reads exactly n bytes the port sent to the device.
func (d *device) readN(t *testing.T, n int) string {
	t.Helper()
	type result struct {
		b   []byte
		err error
	}
	c := make(chan result, 1)
	go func() {
		b := make([]byte, n)
		_, err := io.ReadFull(d.m, b)
		c <- result{b, err}
	}()
	select {
	case r := <-c:
		if r.err != nil {
			t.Fatalf("device read: %v", r.err)
		}
		return string(r.b)
	case <-time.After(hang):
		t.Fatalf("device read: nothing after %v", hang)
	}
	return ""
}

func (d *device) send(t *testing.T, s string) {
	t.Helper()
	if _, err := d.m.WriteString(s); err != nil {
		t.Fatalf("device write: %v", err)
	}
}

func byIDLink(t *testing.T) string {
	return filepath.Join(t.TempDir(), "usb-FTDI_FT232R_USB_UART_A10K1234-if00-port0")
}

// eventually waits until cond holds, failing the test after hang.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hang)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", hang, what)
		}
		<-tick.C
	}
}

type readResult struct {
	s   string
	err error
	at  time.Time
}

// readAsync starts one Read and returns where its result will arrive.
func readAsync(p *Port) <-chan readResult {
	c := make(chan readResult, 1)
	go func() {
		b := make([]byte, 64)
		n, err := p.Read(b)
		c <- readResult{string(b[:n]), err, time.Now()}
	}()
	return c
}

func await[T any](t *testing.T, what string, c <-chan T) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(hang):
		t.Fatalf("timed out after %v waiting for %s", hang, what)
	}
	var zero T
	return zero
}

func mustOpen(t *testing.T, cfg Config) *Port {
	t.Helper()
	p, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// recorder keeps the events a Supervisor reports.
type recorder struct {
	mu     sync.Mutex
	events []Event // guarded by mu
}

func (r *recorder) record(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) snapshot() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// count returns how many events in state st came after the first from index.
func (r *recorder) count(st State, from int) int {
	n := 0
	for i, e := range r.snapshot() {
		if i >= from && e.State == st {
			n++
		}
	}
	return n
}
