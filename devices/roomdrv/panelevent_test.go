package roomdrv_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/room"
	"github.com/officegate/officegate/devices/roomdrv"
	"github.com/officegate/officegate/internal/testkit"
)

// TestPanelData: the bodies of PROTOCOL.md §9.4 pass, as the contract
// publishes them; anything else is refused, saying what was wrong.
func TestPanelData(t *testing.T) {
	for _, c := range []struct {
		typ  string
		in   map[string]any
		want map[string]any
		err  string
	}{
		{roomdrv.PanelButton, map[string]any{"button": uint64(1)}, map[string]any{"button": 1}, ""},
		{roomdrv.PanelButton, map[string]any{"button": uint64(32), "held_ms": uint64(40)}, map[string]any{"button": 32}, ""},
		{roomdrv.PanelButton, map[string]any{"button": uint64(0)}, nil, "button 0 is not a key number 1–32"},
		{roomdrv.PanelButton, map[string]any{"button": uint64(33)}, nil, "button 33"},
		{roomdrv.PanelButton, map[string]any{"button": "1"}, nil, `button "1"`},
		{roomdrv.PanelButton, map[string]any{}, nil, "button missing"},
		{roomdrv.PanelOccupancy, map[string]any{"state": "occupied"}, map[string]any{"state": "occupied"}, ""},
		{roomdrv.PanelOccupancy, map[string]any{"state": "vacant", "zone": []any{uint64(1)}}, map[string]any{"state": "vacant"}, ""},
		// What the emulated panel sent before §9.4 specified the body.
		{roomdrv.PanelOccupancy, map[string]any{"occupied": false}, nil, "state missing is not"},
		{roomdrv.PanelOccupancy, map[string]any{"state": "maybe"}, nil, `state "maybe"`},
		{roomdrv.PanelOccupancy, map[string]any{"state": nil}, nil, "state null"},
	} {
		got, ok, err := roomdrv.PanelData(c.typ, c.in)
		if !ok {
			t.Errorf("%s %v: not a panel event type", c.typ, c.in)
			continue
		}
		if c.err == "" {
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s %v = %v, %v; want %v", c.typ, c.in, got, err, c.want)
			}
			continue
		}
		if !errors.Is(err, roomdrv.ErrPanelEvent) || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s %v: error %v, want one saying %q", c.typ, c.in, err, c.err)
		}
	}
	if _, ok, err := roomdrv.PanelData("room.other", map[string]any{"x": 1}); ok || err != nil {
		t.Errorf("another type: ok %v, err %v", ok, err)
	}
}

// TestPanelOccupancy: a panel's occupancy report in the body of §9.4 is
// the room's presence; the body the emulated panel used to send is not
// taken, and is counted.
func TestPanelOccupancy(t *testing.T) {
	testkit.NoLeaks(t)
	w := newWorld(t)
	r := w.start(w.baseConfig(), nil)
	r.do(room.CmdScheduleSet, schedule(1, "b1", at(1, 0), at(2, 0)), devices.StatusOK)
	r.want(room.EventLED, map[string]any{"state": "available"})
	r.to(at(1, 2))
	r.want(room.EventLED, map[string]any{"state": "pending"})
	ctx := testkit.Ctx(t, 10*time.Second)

	r.d.PanelEvent(ctx, roomdrv.PanelOccupancy, map[string]any{"occupied": true}, at(1, 2))
	if c := r.d.Status().Counters; c["panel_events"] != 1 || c["panel_events_ignored"] != 1 {
		t.Fatalf("a body without state: counters %v", c)
	}
	r.d.PanelEvent(ctx, roomdrv.PanelOccupancy, map[string]any{"state": "occupied"}, at(1, 3))
	r.d.PanelEvent(ctx, roomdrv.PanelOccupancy, map[string]any{"state": "vacant"}, at(1, 4))
	if c := r.d.Status().Counters; c["panel_events"] != 3 || c["panel_events_ignored"] != 1 {
		t.Fatalf("counters %v", c)
	}
	// Presence in the window: no release suggestion when it closes.
	r.to(at(1, 11))
	r.want(room.EventLED, map[string]any{"state": "occupied"})
	if n := r.count(room.EventReleaseSuggested); n != 0 {
		t.Fatalf("suggested despite the panel's presence:\n%s", r.log())
	}
}
