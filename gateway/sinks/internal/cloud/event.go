package cloud

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ErrNotPunch is an attendance.punch whose body cannot be read (the
// envelope is the contract's, so this is a bug or a damaged record).
var ErrNotPunch = errors.New("cloud: unreadable punch")

// envelope is the part of the contract's event envelope (MQTT.md §4) the
// platform sinks read.
type envelope struct {
	ID            string          `json:"id"`
	Type          string          `json:"type"`
	Device        string          `json:"device"`
	Time          string          `json:"time"`
	Clock         string          `json:"clock"`
	ClockOffsetMS *int64          `json:"clock_offset_ms"`
	Data          json.RawMessage `json:"data"`
}

// Punch is what a platform learns of an attendance.punch: who (by the
// keys the person directory knows) and when. Nothing else of the event —
// in particular no card number, no raw codes, nothing biometric — ever
// leaves through these sinks.
type Punch struct {
	ID       string    // the event id
	Device   string    // the device id
	Person   string    // the terminal's person id; "" for a card punch at a reader
	CardHash string    // the keyed card hash, when the site hashes cards
	HasCard  bool      // a clear card number was in the event (never sent: it only explains an unmapped punch)
	At       time.Time // the punch instant, corrected by clock_offset_ms when the gateway measured one
	State    string    // in, out, … (MQTT.md §5.1)
}

// Key is what the person directory is asked for: the person id, else the
// card hash; "" when the punch names neither (a clear card number only).
func (p Punch) Key() string {
	if p.Person != "" {
		return p.Person
	}
	return p.CardHash
}

// ParsePunch reads an attendance.punch envelope (MQTT.md §4, §5.1).
func ParsePunch(payload []byte) (Punch, error) {
	var e envelope
	if err := json.Unmarshal(payload, &e); err != nil {
		return Punch{}, fmt.Errorf("%w: %v", ErrNotPunch, err)
	}
	var d struct {
		Person   string `json:"person"`
		Card     string `json:"card"`
		CardHash string `json:"card_hash"`
		State    string `json:"state"`
	}
	if len(e.Data) > 0 {
		if err := json.Unmarshal(e.Data, &d); err != nil {
			return Punch{}, fmt.Errorf("%w: event %s: data: %v", ErrNotPunch, e.ID, err)
		}
	}
	at, err := instant(e)
	if err != nil {
		return Punch{}, fmt.Errorf("%w: event %s: %v", ErrNotPunch, e.ID, err)
	}
	return Punch{ID: e.ID, Device: e.Device, Person: d.Person, CardHash: d.CardHash, HasCard: d.Card != "",
		At: at, State: d.State}, nil
}

// instant is the event's time, less the device clock's measured offset
// (MQTT.md §4: "The true instant is time − clock_offset_ms").
func instant(e envelope) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, e.Time)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: %v", e.Time, err)
	}
	if e.Clock == "drifted" && e.ClockOffsetMS != nil {
		t = t.Add(-time.Duration(*e.ClockOffsetMS) * time.Millisecond)
	}
	return t, nil
}
