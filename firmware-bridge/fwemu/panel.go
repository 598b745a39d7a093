package fwemu

import (
	"context"
	"fmt"

	"github.com/officegate/officegate/firmware-bridge/msg"
)

// MaxPanelLine bounds a panel's display line in bytes: the panel firmware's
// line buffer. The longest line the gateway's room driver composes (a
// 32-byte room name and " · booked 10:00–11:00 · please check in") is
// about 80 bytes.
const MaxPanelLine = 128

// A meeting-room panel's events and their bodies (PROTOCOL.md §9.4).
const (
	PanelEventButton    = "button"    // {"button": n}: key n (1–32) pressed
	PanelEventOccupancy = "occupancy" // {"state": "occupied"|"vacant"}: the panel's own sensor changed
)

// PanelButton is the body of a press of key n (§9.4): {"button": n}.
func PanelButton(n uint64) map[string]any { return map[string]any{"button": n} }

// PanelOccupancy is the body of a change of the panel's own occupancy
// sensor (§9.4): {"state": "occupied"} or {"state": "vacant"}.
func PanelOccupancy(occupied bool) map[string]any {
	if occupied {
		return map[string]any{"state": "occupied"}
	}
	return map[string]any{"state": "vacant"}
}

// PanelLEDStates are the states panel_led takes: the room's LED states.
var PanelLEDStates = []string{"available", "pending", "occupied", "offline"}

// PanelState is what a meeting-room panel shows. It lives in RAM, as on a
// real panel: a boot (Reboot) clears it, and the gateway sends it again.
type PanelState struct {
	Line    string // the display line; "" until panel_display
	LED     string // one of PanelLEDStates; "" until panel_led
	Updates uint64 // panel_display and panel_led commands taken in this boot
}

// panelCommand returns the handler of a panel command, nil for another name
// or on a device that is not a meeting-room panel. Link names, as for the
// terminal: the gateway's "panel.display" is "panel_display" here.
func (e *Emulator) panelCommand(name string) CommandFunc {
	if e.opts.Kind == msg.KindKiosk && name == "kiosk_display" {
		return e.panelDisplay // a kiosk's own panel: the welcome line (PanelLine)
	}
	if e.opts.Kind != msg.KindRoomPanel {
		return nil
	}
	switch name {
	case "panel_display":
		return e.panelDisplay
	case "panel_led":
		return e.panelLED
	}
	return nil
}

// panelDisplay shows args["line"]. Unknown args are ignored, as the
// terminal's commands do.
func (e *Emulator) panelDisplay(_ context.Context, args map[string]any) (map[string]any, error) {
	line, ok := args["line"].(string)
	// CBOR text is valid UTF-8 (the link refuses anything else).
	if !ok || len(line) > MaxPanelLine {
		return nil, fmt.Errorf("line %v: want text of at most %d bytes", args["line"], MaxPanelLine)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.panel.Line = line
	e.panel.Updates++
	return map[string]any{"line": line}, nil
}

// panelLED lights the status LED in args["state"].
func (e *Emulator) panelLED(_ context.Context, args map[string]any) (map[string]any, error) {
	state, _ := args["state"].(string)
	known := false
	for _, s := range PanelLEDStates {
		known = known || s == state
	}
	if !known {
		return nil, fmt.Errorf("state %v: want one of %v", args["state"], PanelLEDStates)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.panel.LED = state
	e.panel.Updates++
	return map[string]any{"state": state}, nil
}

// Panel returns what a meeting-room panel shows.
func (e *Emulator) Panel() PanelState { e.mu.Lock(); defer e.mu.Unlock(); return e.panel }

// PanelLine returns the panel's display line.
func (e *Emulator) PanelLine() string { return e.Panel().Line }

// PanelLED returns the panel's LED state.
func (e *Emulator) PanelLED() string { return e.Panel().LED }
