package fwemu

import (
	"reflect"
	"testing"

	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/internal/testvectors"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

func TestPanelApplication(t *testing.T) {
	o := termOpts(t.TempDir())
	o.Kind = msg.KindRoomPanel
	e := newTerm(t, o)
	if got := e.Panel(); got != (PanelState{}) {
		t.Fatalf("a new panel shows %+v", got)
	}
	wantOK(t, do(t, e, "panel_display", map[string]any{"line": "Aurora · busy until 11:00", "font": "large"}),
		"map[line:Aurora · busy until 11:00]")
	wantOK(t, do(t, e, "panel_led", map[string]any{"state": "occupied"}), "map[state:occupied]")
	for _, bad := range []struct {
		name string
		args map[string]any
		text string
	}{
		{"panel_display", nil, "line"},
		{"panel_display", map[string]any{"line": uint64(7)}, "line"},
		{"panel_display", map[string]any{"line": string(make([]byte, MaxPanelLine+1))}, "at most 128 bytes"},
		{"panel_led", map[string]any{"state": "red"}, "state red"},
		{"panel_led", nil, "state"},
	} {
		wantStatus(t, do(t, e, bad.name, bad.args), msg.StatusError, bad.text)
	}
	want := PanelState{Line: "Aurora · busy until 11:00", LED: "occupied", Updates: 2}
	if got := e.Panel(); got != want || e.PanelLine() != want.Line || e.PanelLED() != want.LED {
		t.Fatalf("panel shows %+v, want %+v (refused commands change nothing)", got, want)
	}
	// RAM: the next boot shows nothing until the gateway sends it again.
	e2 := newTerm(t, o)
	if got := e2.Panel(); got != (PanelState{}) {
		t.Fatalf("after a restart the panel shows %+v", got)
	}
}

func TestPanelCommandsOnlyOnPanels(t *testing.T) {
	e := newTerm(t, termOpts(t.TempDir())) // an attendance terminal
	for _, name := range []string{"panel_display", "panel_led"} {
		wantStatus(t, do(t, e, name, map[string]any{"line": "x", "state": "available"}), msg.StatusUnsupported, name)
	}
}

// TestPanelEventBodies: the events a panel records, generated or pressed,
// have the bodies PROTOCOL.md §9.4 specifies, as its vectors show them.
func TestPanelEventBodies(t *testing.T) {
	vs, err := testvectors.Load("../testvectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	vector := map[string]*msg.Event{}
	for _, v := range vs {
		if v.Name != "event-panel-button" && v.Name != "event-panel-occupancy" {
			continue
		}
		w, err := v.Hex("wire")
		if err != nil {
			t.Fatal(err)
		}
		f, err := frame.Decode(w)
		if err != nil {
			t.Fatalf("vector %s: %v", v.Name, err)
		}
		m, err := msg.Decode(f)
		if err != nil {
			t.Fatalf("vector %s: %v", v.Name, err)
		}
		ev := m.(*msg.Event)
		vector[ev.Kind] = ev
	}
	if len(vector) != 2 || vector[PanelEventButton] == nil || vector[PanelEventOccupancy] == nil {
		t.Fatalf("want the vectors of %q and %q, have %v", PanelEventButton, PanelEventOccupancy, vector)
	}
	// What the emulator sends for the vectors' presses, after the link's
	// round trip through CBOR.
	for kind, data := range map[string]map[string]any{PanelEventButton: PanelButton(1), PanelEventOccupancy: PanelOccupancy(false)} {
		if got := roundTrip(t, kind, data); !reflect.DeepEqual(got, vector[kind].Data) {
			t.Errorf("%s body %v, the vector has %v", kind, got, vector[kind].Data)
		}
	}

	o := termOpts(t.TempDir())
	o.Kind, o.Capacity = msg.KindRoomPanel, 1000
	e := newTerm(t, o)
	if _, err := e.EmitN(300); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, ev := range e.evs {
		data := roundTrip(t, ev.Kind, ev.Data)
		want, ok := vector[ev.Kind]
		if !ok {
			t.Fatalf("a panel generated a %q event", ev.Kind)
		}
		if !sameKeys(data, want.Data) {
			t.Fatalf("generated %s body %v: keys differ from the vector's %v", ev.Kind, data, want.Data)
		}
		switch ev.Kind {
		case PanelEventButton:
			if n, _ := data["button"].(uint64); n < 1 || n > 32 {
				t.Fatalf("generated button %v: not 1–32", data["button"])
			}
		case PanelEventOccupancy:
			if s := data["state"]; s != "occupied" && s != "vacant" {
				t.Fatalf("generated occupancy state %v", s)
			}
		}
		seen[ev.Kind]++
	}
	if seen[PanelEventButton] == 0 || seen[PanelEventOccupancy] == 0 {
		t.Fatalf("300 generated events: %v, want both kinds", seen)
	}
}

// roundTrip returns data as the gateway decodes it from an EVENT.
func roundTrip(t *testing.T, kind string, data map[string]any) map[string]any {
	t.Helper()
	b, err := msg.Marshal(&msg.Event{ID: msg.EventID{Boot: 1, Seq: 1}, Kind: kind, Time: 1, Data: data})
	if err != nil {
		t.Fatal(err)
	}
	m, err := msg.Unmarshal(frame.TypeEvent, b)
	if err != nil {
		t.Fatal(err)
	}
	return m.(*msg.Event).Data
}

func sameKeys(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}
