package fwemu

import (
	"testing"

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
