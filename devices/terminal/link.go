package terminal

import (
	"fmt"

	"github.com/officegate/officegate/devices"
)

// TypePunch is the contract's type of a punch.
const TypePunch = "attendance.punch"

// Link is the attendance terminal as a kind of device on the firmware-bridge
// link: its punches (replays included) and its commands.
var Link = devices.LinkKind{
	Name:         "terminal",
	Prefix:       "attendance.",
	Events:       map[string]devices.EventRule{TypePunch: LinkPunch},
	Commands:     Commands,
	CheckCommand: CheckCommand,
	ResultData:   ResultData,
}

// LinkPunch is the rule of a punch from the link: a punch sent again at an
// attendance.fetch ("replay": {"boot", "seq"}) is published under the id it
// had the first time, so consumers that have it drop it; the body is mapped
// by Punch. A punch HR cannot use (no person, a replay naming nothing before
// it) is flagged, not dropped: the error becomes an alarm that says what was
// wrong, not what the terminal sent (its record could hold a card number this
// site publishes only hashed).
func LinkPunch(e devices.LinkEvent) (devices.Event, error) {
	ev := e.Event
	boot, seq := ev.Source.Boot, ev.Source.Seq
	if r, ok := ev.Data["replay"]; ok {
		if seq > uint64(^uint32(0)) {
			return ev, fmt.Errorf("unusable replayed punch (boot %d, seq %d): seq beyond the link's 32 bits", boot, seq)
		}
		ob, os, err := ReplayOf(r, boot, uint32(seq))
		if err != nil {
			return ev, fmt.Errorf("unusable replayed punch (boot %d, seq %d): %v", boot, seq, err)
		}
		d := make(map[string]any, len(ev.Data))
		for k, v := range ev.Data {
			if k != "replay" {
				d[k] = v
			}
		}
		ev.Data, ev.Source.Boot, ev.Source.Seq = d, ob, uint64(os)
	}
	p, err := Punch(ev.Data, e.CardKey)
	if err != nil {
		return ev, fmt.Errorf("unusable %s event (boot %d, seq %d): %v", e.Name, ev.Source.Boot, ev.Source.Seq, err)
	}
	ev.Data = p
	return ev, nil
}
