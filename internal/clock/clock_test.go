package clock_test

import (
	"testing"
	"time"

	"github.com/officegate/officegate/internal/clock"
)

func TestSystemTimer(t *testing.T) {
	c := clock.Or(nil)
	before := c.Now()
	tm := c.NewTimer(time.Millisecond)
	at := <-tm.C()
	if at.Before(before) {
		t.Errorf("timer fired at %v, before it was made (%v)", at, before)
	}
	tm.Reset(time.Hour)
	tm.Stop()
	select {
	case v := <-tm.C():
		t.Errorf("a stopped timer fired at %v", v)
	default:
	}
}

func TestSystemAfterFunc(t *testing.T) {
	var c clock.Clock = clock.System{}
	af, ok := c.(clock.AfterFuncer)
	if !ok {
		t.Fatal("the system clock has no AfterFunc")
	}
	fired := make(chan struct{})
	tm := af.AfterFunc(time.Hour, func() { close(fired) })
	tm.Reset(time.Millisecond)
	<-fired
	tm.Stop()
}
