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
