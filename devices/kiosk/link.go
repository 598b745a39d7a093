package kiosk

import "github.com/officegate/officegate/devices"

// Link is a kiosk's firmware on the firmware-bridge link: its events are
// published as they come, under kiosk.*, and only its own driver writes its
// display.
var Link = devices.LinkKind{
	Name:     Kind,
	Prefix:   "kiosk.",
	Internal: []string{CmdDisplay},
}
