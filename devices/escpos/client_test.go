package escpos_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/officegate/officegate/devices/escpos"
	"github.com/officegate/officegate/devices/escpos/escpossim"
	"github.com/officegate/officegate/devices/serialport"
)

// The gateway's serial port is a Conn.
var _ escpos.Conn = (*serialport.Port)(nil)

// hang is how long a test waits for something that should happen at once before calling
// it a hang. It detects hangs; it does not measure speed.
const hang = 10 * time.Second

var badge = escpos.Badge{Title: "访客", Name: "张伟", Company: "Acme", Host: "Li Na", QR: "OG1-7Q4X9K2M",
	Date: time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)}

// rig is a client on a real serial port opened on an emulated printer's PTY.
type rig struct {
	printer *escpossim.Printer
	client  *escpos.Client
}

func newRig(t *testing.T) *rig {
	t.Helper()
	p, err := escpossim.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	port, err := serialport.Open(serialport.Config{Name: p.Path(), Baud: 9600})
	if err != nil {
		t.Fatal(err)
	}
	// A short answer timeout keeps the silent cases quick; it is not asserted on.
	c, err := escpos.NewClient(port, &escpos.ClientOptions{AnswerTimeout: 200 * time.Millisecond})
	if err != nil {
		port.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rig{printer: p, client: c}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	t.Cleanup(cancel)
	return ctx
}

func TestPrintPrinted(t *testing.T) {
	r := newRig(t)
	ctx := ctxFor(t)
	for range 2 {
		o, err := r.client.Print(ctx, badge)
		if o != escpos.Printed || err != nil {
			t.Fatalf("Print: %s, %v", o, err)
		}
	}
	want, err := escpos.AppendBadge(nil, badge, nil)
	if err != nil {
		t.Fatal(err)
	}
	jobs := r.printer.Jobs()
	if len(jobs) != 2 || !bytes.Equal(jobs[0], want) || !bytes.Equal(jobs[1], want) {
		t.Fatalf("printer received %d jobs % X; want twice % X", len(jobs), jobs, want)
	}
	// 2 status requests of 4 before and after each job.
	if n := r.printer.Requests(); n != 16 {
		t.Errorf("%d status requests; want 16", n)
	}
}

func TestPrintRefused(t *testing.T) {
	for _, tc := range []struct {
		state escpossim.State
		want  escpos.Outcome
		err   error
	}{
		{escpossim.State{PaperEnd: true}, escpos.PaperEnd, escpos.ErrNotReady},
		{escpossim.State{CoverOpen: true}, escpos.CoverOpen, escpos.ErrNotReady},
		{escpossim.State{CutterError: true}, escpos.Failed, escpos.ErrNotReady},
		{escpossim.State{Silent: true}, escpos.Offline, escpos.ErrNoAnswer},
	} {
		r := newRig(t)
		r.printer.SetState(tc.state)
		o, err := r.client.Print(ctxFor(t), badge)
		if o != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("%+v: %s, %v; want %s, %v", tc.state, o, err, tc.want, tc.err)
		}
		if jobs, part := r.printer.Jobs(), r.printer.Partial(); len(jobs) != 0 || len(part) != 0 {
			t.Errorf("%+v: the printer received % X % X", tc.state, jobs, part)
		}
	}
}

func TestPoll(t *testing.T) {
	r := newRig(t)
	ctx := ctxFor(t)
	for _, tc := range []struct {
		state escpossim.State
		want  escpos.Status
	}{
		{escpossim.State{}, escpos.Status{Online: true}},
		{escpossim.State{PaperNearEnd: true}, escpos.Status{Online: true, PaperNearEnd: true}},
		{escpossim.State{PaperEnd: true}, escpos.Status{PaperStop: true, PaperNearEnd: true, PaperEnd: true}},
		{escpossim.State{CoverOpen: true}, escpos.Status{CoverOpen: true}},
		{escpossim.State{CutterError: true}, escpos.Status{Error: true, CutterError: true}},
	} {
		r.printer.SetState(tc.state)
		s, err := r.client.Poll(ctx)
		if err != nil {
			t.Errorf("%+v: %v", tc.state, err)
			continue
		}
		s.Raw = [4]byte{}
		if s != tc.want {
			t.Errorf("%+v: %+v; want %+v", tc.state, s, tc.want)
		}
	}
}

// A printer that falls silent and comes back is polled correctly again: nothing late
// from one poll passes for the next one's answers.
func TestPollSilentThenBack(t *testing.T) {
	r := newRig(t)
	ctx := ctxFor(t)
	r.printer.SetState(escpossim.State{Silent: true})
	if _, err := r.client.Poll(ctx); !errors.Is(err, escpos.ErrNoAnswer) {
		t.Fatalf("silent printer: %v; want ErrNoAnswer", err)
	}
	r.printer.SetState(escpossim.State{CoverOpen: true})
	s, err := r.client.Poll(ctx)
	if err != nil || !s.CoverOpen || s.Online {
		t.Fatalf("printer back with cover open: %+v, %v", s, err)
	}
}

// Pulling the cable in the middle of a job fails the print, and nothing is stuck: later
// calls fail at once and Close returns.
func TestPrintUnpluggedMidJob(t *testing.T) {
	r := newRig(t)
	ctx := ctxFor(t)
	r.printer.UnplugAfter(20)
	o, err := r.client.Print(ctx, badge)
	if o != escpos.Failed || err == nil {
		t.Fatalf("Print: %s, %v; want %s and an error", o, err, escpos.Failed)
	}
	if err := r.printer.Wait(ctx, func(_ [][]byte, unplugged bool) bool { return unplugged }); err != nil {
		t.Fatal(err)
	}
	if got := r.printer.Partial(); len(got) != 20 || len(r.printer.Jobs()) != 0 {
		t.Errorf("printer holds %d bytes and %d jobs; want 20 bytes of one job", len(got), len(r.printer.Jobs()))
	}
	if _, err := r.client.Poll(ctx); !errors.Is(err, serialport.ErrUnplugged) {
		t.Errorf("Poll after unplug: %v; want ErrUnplugged", err)
	}
	if o, err := r.client.Print(ctx, badge); o != escpos.Failed || err == nil {
		t.Errorf("Print after unplug: %s, %v", o, err)
	}
	done := make(chan error, 1)
	go func() { done <- r.client.Close() }()
	select {
	case <-done:
	case <-time.After(hang):
		t.Fatal("Close hangs after an unplug")
	}
}

func TestPrintInvalidBadge(t *testing.T) {
	r := newRig(t)
	o, err := r.client.Print(ctxFor(t), escpos.Badge{Name: "Ada 😀"})
	if o != escpos.Failed || !errors.Is(err, escpos.ErrUnprintable) {
		t.Errorf("Print: %s, %v", o, err)
	}
	if n := r.printer.Requests(); n != 0 {
		t.Errorf("%d status requests for a badge refused before sending", n)
	}
}

func TestCancelled(t *testing.T) {
	r := newRig(t)
	r.printer.SetState(escpossim.State{Silent: true})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.client.Poll(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Poll: %v; want context.Canceled", err)
	}
}

// stuckConn takes no write until it is closed, as a printer that holds the line does.
type stuckConn struct {
	once   sync.Once
	closed chan struct{}
}

func (c *stuckConn) Read([]byte) (int, error)  { <-c.closed; return 0, io.EOF }
func (c *stuckConn) Write([]byte) (int, error) { <-c.closed; return 0, errors.New("closed") }
func (c *stuckConn) Close() error              { c.once.Do(func() { close(c.closed) }); return nil }

// A write the line never takes is abandoned at the write timeout by closing the Conn.
func TestWriteTimeoutCloses(t *testing.T) {
	conn := &stuckConn{closed: make(chan struct{})}
	c, err := escpos.NewClient(conn, &escpos.ClientOptions{WriteTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	o, err := c.Print(ctxFor(t), badge)
	if o != escpos.Failed || !errors.Is(err, escpos.ErrClosed) {
		t.Errorf("Print: %s, %v; want %s, ErrClosed", o, err, escpos.Failed)
	}
	if _, err := c.Poll(ctxFor(t)); !errors.Is(err, escpos.ErrClosed) {
		t.Errorf("Poll after: %v; want ErrClosed", err)
	}
}

// The emulated printer answers one poll's four requests from one state, as
// a printer answers them back to back: paper taken out and put back while
// polls run never reads as a fault of neither state. (A state changed
// between two of the answers once made a kiosk test see "offline": the
// paper-end offline bit of DLE EOT 1 without the paper-end bits after it.)
func TestPollAnswersOneState(t *testing.T) {
	r := newRig(t)
	// Answers may come late while the state churns; only their content is
	// asserted here, so the client waits as long as the test may.
	port, err := serialport.Open(serialport.Config{Name: r.printer.Path(), Baud: 9600})
	if err != nil {
		t.Fatal(err)
	}
	c, err := escpos.NewClient(port, &escpos.ClientOptions{AnswerTimeout: hang})
	if err != nil {
		port.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r.client.Close()
	ctx := ctxFor(t)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for paperEnd := true; ; paperEnd = !paperEnd {
			select {
			case <-stop:
				return
			default:
			}
			r.printer.SetState(escpossim.State{PaperEnd: paperEnd})
			runtime.Gosched() // let the printer answer between changes
		}
	}()
	defer func() { close(stop); <-done }()
	for i := range 150 {
		st, err := c.Poll(ctx)
		if err != nil {
			t.Fatalf("poll %d: %v", i, err)
		}
		if o := escpos.Classify(st); o != escpos.PaperEnd && o != escpos.Printed {
			t.Fatalf("poll %d: %+v reads as %s, a state the printer was never in", i, st, o)
		}
	}
}
