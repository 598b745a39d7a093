package roomdrv

import (
	"fmt"

	"github.com/officegate/officegate/devices"
)

// PanelLink is the meeting-room panel as a kind of device on the
// firmware-bridge link: its event bodies (PROTOCOL.md §9.4) and the commands
// only its room driver sends it.
var PanelLink = devices.LinkKind{
	Name:     "panel",
	Prefix:   "room.",
	Events:   map[string]devices.EventRule{PanelButton: linkPanelEvent, PanelOccupancy: linkPanelEvent},
	Internal: []string{PanelDisplay, PanelLED},
}

// linkPanelEvent publishes a panel's body as PROTOCOL.md §9.4 specifies it;
// one that breaks it is flagged, as an unusable punch is.
func linkPanelEvent(e devices.LinkEvent) (devices.Event, error) {
	ev := e.Event
	data, _ := devices.Redact(ev.Data)
	p, _, err := PanelData(ev.Type, data)
	if err != nil {
		return ev, fmt.Errorf("unusable %s event (boot %d, seq %d): %v", e.Name, ev.Source.Boot, ev.Source.Seq, err)
	}
	ev.Data = p
	return ev, nil
}
