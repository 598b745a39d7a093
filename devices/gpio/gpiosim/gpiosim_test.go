package gpiosim_test

import (
	"context"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/officegate/officegate/devices/gpio/gpiosim"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestResetLevels(t *testing.T) {
	for num, want := range map[int]gpio.Level{0: gpio.High, 8: gpio.High, 9: gpio.Low, 27: gpio.Low} {
		p := gpiosim.NewPin("p", num, nil)
		if p.Level() != want || p.IsOutput() {
			t.Errorf("GPIO%d at reset: %s, output %v", num, p.Level(), p.IsOutput())
		}
	}
}

func TestClockFiresInOrder(t *testing.T) {
	c := gpiosim.NewClock(t0)
	late, _ := c.Timer(2 * time.Second)
	early, _ := c.Timer(time.Second)
	_, stop := c.Timer(time.Second)
	stop()
	if c.Timers() != 2 {
		t.Fatalf("%d timers", c.Timers())
	}
	c.Advance(time.Second)
	if got := <-early; !got.Equal(t0.Add(time.Second)) {
		t.Errorf("early fired at %v", got)
	}
	select {
	case <-late:
		t.Fatal("late fired early")
	default:
	}
	c.Advance(time.Hour)
	<-late
	if now, _ := c.Timer(0); !(<-now).Equal(t0.Add(time.Hour + time.Second)) {
		t.Error("Timer(0) did not fire at once")
	}
}

func TestWaitForEdge(t *testing.T) {
	c := gpiosim.NewClock(t0)
	p := gpiosim.NewPin("button", 17, c)
	if p.WaitForEdge(time.Second) {
		t.Fatal("edge reported before In asked for edges")
	}
	if err := p.In(gpio.PullNoChange, gpio.RisingEdge); err != nil {
		t.Fatal(err)
	}
	p.Drive(gpio.High)
	if !p.WaitForEdge(0) || p.WaitForEdge(0) {
		t.Fatal("a pending rising edge is reported exactly once")
	}
	p.Drive(gpio.Low) // falling: not asked for
	if p.WaitForEdge(0) {
		t.Fatal("falling edge reported")
	}
	done := make(chan bool)
	go func() { done <- p.WaitForEdge(time.Second) }()
	if err := p.WaitIdle(ctx(t)); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Second)
	if <-done {
		t.Fatal("timeout reported as an edge")
	}
	go func() { done <- p.WaitForEdge(-1) }()
	if err := p.WaitIdle(ctx(t)); err != nil {
		t.Fatal(err)
	}
	p.Drive(gpio.High)
	if !<-done {
		t.Fatal("edge missed")
	}
	if got := len(p.History()); got != 3 {
		t.Errorf("%d changes, want 3 (High, Low, High)", got)
	}
}

func TestOutputHistoryAndDrive(t *testing.T) {
	c := gpiosim.NewClock(t0)
	p := gpiosim.NewPin("relay", 4, c)
	p.Out(gpio.High) // same level as the reset pull-up: still a change, it now drives
	c.Advance(time.Second)
	p.Out(gpio.High)
	p.Out(gpio.Low)
	h := p.History()
	if len(h) != 2 || !h[0].Output || h[0].Level != gpio.High || h[1].Level != gpio.Low || !h[1].Time.Equal(t0.Add(time.Second)) {
		t.Fatalf("history %+v", h)
	}
	if err := p.Drive(gpio.High); err == nil {
		t.Fatal("Drive on an output accepted")
	}
}

func TestBoard(t *testing.T) {
	b := gpiosim.NewBoard(nil)
	a, err := b.Open("GPIO17")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := b.Pin("17")
	if a != gpio.PinIO(p) || a.Name() != "GPIO17" {
		t.Fatal("Open and Pin disagree")
	}
	for _, bad := range []string{"GPIO28", "LED", "-1", ""} {
		if _, err := b.Open(bad); err == nil {
			t.Errorf("Open(%q) accepted", bad)
		}
	}
}
