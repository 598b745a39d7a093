package serialport

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/officegate/officegate/internal/clock"
	"github.com/officegate/officegate/internal/testkit"
)

// fakeClock lets time pass only when the Supervisor waits, and at once: tests see every
// delay it chose without waiting for any.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time       // guarded by mu
	waits []time.Duration // guarded by mu
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) clock.Timer {
	t := &firedTimer{c: c, ch: make(chan time.Time, 1)}
	t.Reset(d)
	return t
}

// firedTimer fires as soon as it is armed, the time it waited passed.
type firedTimer struct {
	c  *fakeClock
	ch chan time.Time
}

func (t *firedTimer) C() <-chan time.Time { return t.ch }

func (t *firedTimer) Reset(d time.Duration) {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.c.waits = append(t.c.waits, d)
	t.c.now = t.c.now.Add(d)
	select {
	case t.ch <- t.c.now:
	default:
	}
}

func (t *firedTimer) Stop() {}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// sequence returns a Rand that yields rs in turn, cycling.
func sequence(rs ...float64) func() float64 {
	var mu sync.Mutex
	i := 0
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		r := rs[i%len(rs)]
		i++
		return r
	}
}

// runSupervisor starts s.Run and returns a channel closed when it returns.
func runSupervisor(ctx context.Context, s *Supervisor, session Session) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx, session)
	}()
	return done
}

// echoSession hands each new port to the test, then reads from it until it fails.
func echoSession(ports chan<- *Port, got chan<- string) Session {
	return func(ctx context.Context, p *Port) error {
		select {
		case ports <- p:
		case <-ctx.Done():
			return nil
		}
		b := make([]byte, 64)
		for {
			n, err := p.Read(b)
			if err != nil {
				return err
			}
			select {
			case got <- string(b[:n]):
			case <-ctx.Done():
				return nil
			}
		}
	}
}

// The whole hot-plug story: open, talk, unplug, retry with backoff while away, re-plug,
// talk again, stop promptly — one Run, no restart.
func TestSupervisorRecoversFromReplug(t *testing.T) {
	testkit.NoLeaks(t)
	link := byIDLink(t)
	d1 := plug(t, link)
	var rec recorder
	s, err := NewSupervisor(Config{Name: link}, &SupervisorOpts{
		Backoff: Backoff{Min: time.Millisecond, Max: 20 * time.Millisecond},
		OnEvent: rec.record,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ports, got := make(chan *Port), make(chan string)
	done := runSupervisor(ctx, s, echoSession(ports, got))

	talk := func(d *device, p *Port, in, out string) {
		t.Helper()
		d.send(t, in)
		if s := await(t, "bytes at the session", got); s != in {
			t.Errorf("session got %q; want %q", s, in)
		}
		if _, err := p.Write([]byte(out)); err != nil {
			t.Fatal(err)
		}
		if s := d.readN(t, len(out)); s != out {
			t.Errorf("device got %q; want %q", s, out)
		}
	}
	p1 := await(t, "first session", ports)
	talk(d1, p1, "hello", "ack1")

	d1.unplug(link)
	eventually(t, "unplug reported", func() bool { return rec.count(Unplugged, 0) == 1 })
	away := len(rec.snapshot())
	eventually(t, "three open attempts while away", func() bool { return rec.count(OpenFailed, away) >= 3 })

	d2 := plug(t, link)
	p2 := await(t, "second session", ports)
	if p2.Path() != d2.slave {
		t.Errorf("re-opened %q; want the new device %q", p2.Path(), d2.slave)
	}
	talk(d2, p2, "again", "ack2")

	start := time.Now()
	cancel()
	await(t, "Run to return", done)
	t.Logf("Run returned %v after cancel with a Read blocked", time.Since(start))

	evs := rec.snapshot()
	if evs[0].State != Opened || evs[len(evs)-1].State != Stopped || rec.count(Opened, 0) != 2 {
		t.Errorf("events %v; want opened … opened … stopped", evs)
	}
	for _, e := range evs {
		if e.Name != link {
			t.Errorf("event %v names %q; want %q", e.State, e.Name, link)
		}
		switch e.State {
		case Unplugged:
			if !errors.Is(e.Err, ErrUnplugged) {
				t.Errorf("unplugged event error %v", e.Err)
			}
		case OpenFailed:
			if !errors.Is(e.Err, fs.ErrNotExist) || e.Delay <= 0 || e.Delay > 20*time.Millisecond {
				t.Errorf("open-failed event %+v; want ErrNotExist and a delay in (0, 20ms]", e)
			}
		}
	}
}

func TestSupervisorStopsWhileBackingOff(t *testing.T) {
	testkit.NoLeaks(t)
	var rec recorder
	s, err := NewSupervisor(Config{Name: filepath.Join(t.TempDir(), "ttyUSB0")}, &SupervisorOpts{
		Backoff: Backoff{Min: time.Hour, Max: time.Hour},
		OnEvent: rec.record,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := runSupervisor(ctx, s, func(context.Context, *Port) error { return nil })
	eventually(t, "first attempt", func() bool { return rec.count(OpenFailed, 0) == 1 })
	start := time.Now()
	cancel()
	await(t, "Run to return", done)
	t.Logf("Run returned %v after cancel during an hour's backoff", time.Since(start))
	if evs := rec.snapshot(); len(evs) != 2 || evs[1].State != Stopped {
		t.Errorf("events %v; want open-failed, stopped", evs)
	}
}

// With time and jitter injected, the delays are exactly the backoff schedule.
func TestSupervisorBackoffSchedule(t *testing.T) {
	testkit.NoLeaks(t)
	b := Backoff{Min: 100 * time.Millisecond, Max: time.Second}
	rs := []float64{0, 0.5, 0.25, 0.999, 0.1, 0.75}
	clock := &fakeClock{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var rec recorder
	s, err := NewSupervisor(Config{Name: filepath.Join(t.TempDir(), "ttyUSB0")}, &SupervisorOpts{
		Backoff: b, Clock: clock, Rand: sequence(rs...),
		OnEvent: func(e Event) {
			rec.record(e)
			if rec.count(OpenFailed, 0) == len(rs) {
				cancel()
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	await(t, "Run to return", runSupervisor(ctx, s, nil))

	evs := rec.snapshot()
	if len(evs) != len(rs)+1 || evs[len(rs)].State != Stopped {
		t.Fatalf("events %v; want %d open-failed then stopped", evs, len(rs))
	}
	for i, r := range rs {
		want := b.Delay(i, r)
		if e := evs[i]; e.State != OpenFailed || e.Attempt != i+1 || e.Delay != want {
			t.Errorf("event %d = %v attempt %d delay %v; want open-failed attempt %d delay %v",
				i, e.State, e.Attempt, e.Delay, i+1, want)
		}
		if clock.waits[i] != want {
			t.Errorf("wait %d = %v; want %v", i, clock.waits[i], want)
		}
	}
}

// A device that opens and fails at once keeps backing off; one whose session lasted
// longer than the longest delay starts the schedule again.
func TestSupervisorFlappingKeepsBackingOff(t *testing.T) {
	testkit.NoLeaks(t)
	d := newDevice(t)
	b := Backoff{Min: 100 * time.Millisecond, Max: time.Second}
	clock := &fakeClock{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var rec recorder
	s, err := NewSupervisor(Config{Name: d.slave}, &SupervisorOpts{
		Backoff: b, Clock: clock, Rand: sequence(0), OnEvent: rec.record,
	})
	if err != nil {
		t.Fatal(err)
	}
	errProtocol := errors.New("protocol error")
	sessions := 0
	session := func(ctx context.Context, p *Port) error {
		sessions++
		switch sessions {
		case 4:
			clock.advance(b.Max) // a long, healthy session
		case 6:
			cancel()
			return nil
		}
		return errProtocol
	}
	await(t, "Run to return", runSupervisor(ctx, s, session))

	var attempts []int
	for _, e := range rec.snapshot() {
		if e.State == SessionEnded {
			if !errors.Is(e.Err, errProtocol) || e.Delay != b.Delay(e.Attempt-1, 0) {
				t.Errorf("event %+v; want the session's error and the scheduled delay", e)
			}
			attempts = append(attempts, e.Attempt)
		}
	}
	if want := []int{1, 2, 3, 1, 2}; !slices.Equal(attempts, want) {
		t.Errorf("attempts %v; want %v", attempts, want)
	}
}

func TestNewSupervisorRejects(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		opts *SupervisorOpts
		is   error
	}{
		{Config{Name: "/dev/ttyUSB0", Baud: 115201}, nil, ErrBadBaud},
		{Config{Name: "/dev/ttyUSB0"}, &SupervisorOpts{Backoff: Backoff{Min: time.Second}}, ErrBadConfig},
	} {
		if _, err := NewSupervisor(tc.cfg, tc.opts); !errors.Is(err, tc.is) {
			t.Errorf("NewSupervisor(%+v, %+v) = %v; want %v", tc.cfg, tc.opts, err, tc.is)
		}
	}
}

// TestOneClock: a Supervisor takes the module's clock (internal/clock), the
// one a link takes, so one fake drives both.
func TestOneClock(t *testing.T) {
	var c Clock = clock.System{}
	tm := c.NewTimer(0)
	defer tm.Stop()
	<-tm.C()
}
