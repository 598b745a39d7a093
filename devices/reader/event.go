package reader

import (
	"strconv"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/wiegand"
)

// event builds the event of frame f read at wall time at (doc.go §Events).
func (r *Reader) event(f wiegand.Frame, at time.Time) devices.Event {
	e := devices.Event{Device: r.id, Time: at, Clock: devices.ClockSynced}
	if f.Format == wiegand.PIN {
		// How many keys, never which: a PIN is a secret even from the gateway.
		e.Type = TypeRead
		e.Data = map[string]any{"pin_entered": true, "keys": len(f.Keys)}
		return e
	}
	key, val := r.card(f)
	name := formatName(f.Format)
	if r.set.punch {
		e.Type = TypePunch
		e.Data = map[string]any{
			"credential": "card",
			"state":      "unknown", // a reader has no in/out key: the back end decides
			key:          val,
			"raw":        map[string]any{"format": name, "bits": f.Bits},
		}
		return e
	}
	e.Type = TypeRead
	e.Data = map[string]any{key: val, "format": name, "bits": f.Bits}
	return e
}

// card returns the data key and value that carry f's card: "card" and its text, or
// "card_hash" and the hex HMAC of the text when a key is configured.
func (r *Reader) card(f wiegand.Frame) (string, string) {
	text := r.cardText(f)
	if r.set.key == nil {
		return "card", text
	}
	return "card_hash", devices.KeyedHash(r.set.key, text)
}

// cardText is the text of f's card (doc.go §Card text and hashing).
func (r *Reader) cardText(f wiegand.Frame) string {
	if r.set.numberText || f.Format == wiegand.W34Number {
		return strconv.FormatUint(f.Payload(), 10)
	}
	return strconv.FormatUint(f.Facility, 10) + ":" + strconv.FormatUint(f.Card, 10)
}
