package scanner_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/scanner"
	"github.com/officegate/officegate/devices/serialport"
	"github.com/officegate/officegate/internal/testkit"
)

// hang is how long a test waits for something that should happen at once
// before calling it a hang. It detects hangs; it measures nothing.
const hang = 30 * time.Second

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// device is a fake scanner: the master side of a kernel pty, whose slave the
// Scanner opens through a by-id style link.
type device struct {
	m, s *os.File
}

// plug creates a device and points link at it, as udev does.
func plug(t *testing.T, link string) *device {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Fatalf("pty: %v", err)
	}
	// A read on the master returns only once every slave descriptor is
	// closed, so close the slave first.
	t.Cleanup(func() { s.Close(); m.Close() })
	os.Remove(link)
	if err := os.Symlink(s.Name(), link); err != nil {
		t.Fatal(err)
	}
	return &device{m: m, s: s}
}

// unplug hangs the device up and removes its link, as pulling the USB cable
// does.
func (d *device) unplug(link string) {
	d.m.Close()
	os.Remove(link)
}

func (d *device) send(t *testing.T, s string) {
	t.Helper()
	if _, err := d.m.WriteString(s); err != nil {
		t.Fatalf("device write: %v", err)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hang)
	tick := time.NewTicker(time.Millisecond) // how often to look, not how long anything takes
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", hang, what)
		}
		<-tick.C
	}
}

type rig struct {
	t     *testing.T
	link  string
	sc    *scanner.Scanner
	scans chan scanner.Scan
	stop  func()
}

// start runs a Scanner on a fresh device and waits until it reads it: bytes
// sent before the port is raw would go through the tty's cooked mode
// (CR turned into LF).
func start(t *testing.T, maxLine int) (*rig, *device) {
	t.Helper()
	link := filepath.Join(t.TempDir(), "usb-Newland_HR22_QR_Scanner_0123-if00")
	d := plug(t, link)
	sc, err := scanner.New(scanner.Config{Port: link, MaxLine: maxLine}, &scanner.Opts{
		Now:     func() time.Time { return t0 },
		Backoff: serialport.Backoff{Min: time.Millisecond, Max: 10 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	scans := make(chan scanner.Scan)
	done := make(chan error, 1)
	go func() { done <- sc.Run(ctx, scans) }()
	r := &rig{t: t, link: link, sc: sc, scans: scans}
	var once sync.Once
	r.stop = func() { once.Do(func() { stopRun(t, cancel, done) }) }
	t.Cleanup(r.stop)
	eventually(t, "scanner online", sc.Online)
	return r, d
}

func stopRun(t *testing.T, cancel func(), done <-chan error) {
	t.Helper()
	{
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v, want nil after cancel", err)
			}
		case <-time.After(hang):
			t.Errorf("Run did not return after cancel")
		}
	}
}

func (r *rig) want(texts ...string) {
	r.t.Helper()
	for _, w := range texts {
		select {
		case s := <-r.scans:
			if s.Text != w || !s.Time.Equal(t0) {
				r.t.Fatalf("scan %q at %v, want %q at %v", s.Text, s.Time, w, t0)
			}
		case <-time.After(hang):
			r.t.Fatalf("no scan; want %q", w)
		}
	}
}

func (r *rig) none() {
	r.t.Helper()
	select {
	case s := <-r.scans:
		r.t.Fatalf("unexpected scan %q", s.Text)
	default:
	}
}

func TestScannerEndingsAndSplits(t *testing.T) {
	testkit.NoLeaks(t)
	r, d := start(t, 0)
	d.send(t, "VISIT-1\r\nVISIT-2\rVISIT-3\n")
	r.want("VISIT-1", "VISIT-2", "VISIT-3")
	// Endings and codes split across writes, a CRLF cut between CR and LF.
	for _, part := range []string{"VIS", "IT-4\r", "\nVISIT-5", "\r", "\n", "https://ex", "ample.com/i/9\n"} {
		d.send(t, part)
	}
	r.want("VISIT-4", "VISIT-5", "https://example.com/i/9")
	d.send(t, "\r\n\n")
	d.send(t, "last\n")
	r.want("last")
	if c := r.sc.Counts(); c != (scanner.Counts{Accepted: 7, Empty: 2}) {
		t.Errorf("counts %+v", c)
	}
}

func TestScannerGarbageAndLongLines(t *testing.T) {
	testkit.NoLeaks(t)
	r, d := start(t, 0)
	d.send(t, "\x00\x01\xff\xfe\x1b[0m\x7f\x80\x81junk\r\n")
	d.send(t, strings.Repeat("Q", 10<<10)+"\r\n")
	d.send(t, strings.Repeat("q", scanner.DefaultMaxLine)+"\n")
	d.send(t, "OK-1\r\n")
	r.want(strings.Repeat("q", scanner.DefaultMaxLine), "OK-1")
	r.none()
	if c := r.sc.Counts(); c != (scanner.Counts{Accepted: 2, NonPrintable: 1, TooLong: 1}) {
		t.Errorf("counts %+v", c)
	}
	st := r.sc.Status()
	if !st.Online || !st.LastSeen.Equal(t0) || st.Counters["too_long"] != 1 || st.Counters["non_printable"] != 1 ||
		st.Counters["lines_accepted"] != 2 || st.Counters["port_opened"] != 1 {
		t.Errorf("status %+v", st)
	}
}

func TestScannerUnplugReplug(t *testing.T) {
	testkit.NoLeaks(t)
	r, d := start(t, 0)
	d.send(t, "before\r\n")
	r.want("before")
	d.send(t, "half-a-sc") // the cable comes out mid-scan: never delivered
	d.unplug(r.link)
	eventually(t, "offline after unplug", func() bool { return !r.sc.Online() })
	eventually(t, "open attempts while away", func() bool { return r.sc.Status().Counters["port_open_failed"] >= 2 })

	d2 := plug(t, r.link)
	eventually(t, "online after replug", r.sc.Online)
	d2.send(t, "after\r")
	d2.send(t, "\n")
	r.want("after")
	st := r.sc.Status()
	if st.Counters["port_opened"] != 2 || st.Counters["port_unplugged"] != 1 {
		t.Errorf("counters %v", st.Counters)
	}
	if c := r.sc.Counts(); c.Accepted != 2 || c.Empty != 0 {
		t.Errorf("counts %+v: the LF of the CRLF split across the replug's writes must not count", c)
	}
	r.stop()
	if r.sc.Online() {
		t.Error("online after Run returned")
	}
}

// A receiver that stops reading does not keep Run from stopping.
func TestScannerStopsWithScanPending(t *testing.T) {
	testkit.NoLeaks(t)
	r, d := start(t, 0)
	d.send(t, "never-taken\n")
	eventually(t, "the scan to be read", func() bool { return r.sc.Counts().Accepted == 1 })
	r.stop()
}

func TestScannerConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  scanner.Config
		want string
	}{
		{scanner.Config{}, "empty device name"},
		{scanner.Config{Port: "/dev/ttyACM0", MaxLine: -1}, "max_line -1"},
		{scanner.Config{Port: "/dev/ttyACM0", MaxLine: 1 << 20}, "max_line 1048576"},
		{scanner.Config{Port: "/dev/ttyACM0", Baud: 12345}, "12345"},
	} {
		if _, err := scanner.New(tc.cfg, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error containing %q", tc.cfg, err, tc.want)
		}
	}
	var errBaud error
	_, errBaud = scanner.New(scanner.Config{Port: "/dev/ttyACM0", Baud: 12345}, nil)
	if !errors.Is(errBaud, serialport.ErrBadBaud) {
		t.Errorf("bad baud: %v does not wrap serialport.ErrBadBaud", errBaud)
	}
	cfg := scanner.Config{Port: "/dev/ttyACM0"}
	if err := cfg.Validate(); err != nil || cfg.MaxLine != scanner.DefaultMaxLine || cfg.Baud != serialport.DefaultBaud {
		t.Errorf("defaults: %+v, %v", cfg, err)
	}
}

func TestScannerRunOnce(t *testing.T) {
	testkit.NoLeaks(t)
	r, _ := start(t, 0)
	if err := r.sc.Run(context.Background(), r.scans); !errors.Is(err, scanner.ErrRunning) {
		t.Errorf("second Run = %v", err)
	}
	var _ devices.Statuser = r.sc
}
