package pushdrv

import (
	"time"

	"github.com/officegate/officegate/devices"
)

// The terminal's clock (zkpush doc.go, §5): a PUSH terminal sets its clock
// from the Date header of every reply, in the zone the handshake's TimeZone
// names. The gateway rounds the header to the second (dateOf), so right
// after a reply the terminal's clock is the gateway's plus that reply's
// skew (within ±500 ms), less the reply's way across the LAN. Between
// replies it free-runs; a terminal in contact is answered every Delay
// (10 s), far too briefly for a quartz clock to drift by a second.
//
// So a punch's clock is judged by when the terminal recorded it, by its
// own clock: within a contact — from the first answer after a silence
// (less the second the record's time truncates) to the last answer plus
// offlineAfter — the clock was the gateway's, and the punch is synced.
// Outside every contact this gateway saw (a backlog recorded while the
// terminal was cut off, or before this gateway process first answered it)
// nothing measured the clock, and the punch is unknown. A punch recorded
// later than it arrived is flagged drifted, with that difference as
// clock_offset_ms, by the gateway's envelope builder.

// maxContacts bounds the contact periods kept: enough for a terminal that
// came and went a few times while holding a backlog.
const maxContacts = 16

// contact is a period during which the terminal was answered at least every
// offlineAfter, by the gateway's clock.
type contact struct{ from, to time.Time }

// answeredAt records a 200 reply written at now with the Date date.
// Called with d.mu held.
func (d *Driver) answeredAtLocked(now, date time.Time) {
	d.skew = date.Sub(now)
	if n := len(d.contacts); n > 0 && now.Sub(d.contacts[n-1].to) <= offlineAfter {
		d.contacts[n-1].to = now
		return
	}
	if len(d.contacts) == maxContacts {
		d.contacts = append(d.contacts[:0], d.contacts[1:]...)
	}
	d.contacts = append(d.contacts, contact{from: now, to: now})
}

// clockAt judges the clock of a record the terminal stamped t (its wall
// clock, in the configured zone).
func (d *Driver) clockAt(t time.Time) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.contacts {
		if !t.Before(c.from.Add(-time.Second)) && !t.After(c.to.Add(offlineAfter)) {
			return devices.ClockSynced
		}
	}
	return devices.ClockUnknown
}

// clockNowLocked is the terminal's clock as the status says it: synced,
// off by the last reply's skew, while it is in contact; unknown otherwise.
func (d *Driver) clockNowLocked() (string, time.Duration) {
	if n := len(d.contacts); n > 0 && d.now().Sub(d.contacts[n-1].to) < offlineAfter {
		return devices.ClockSynced, d.skew
	}
	return devices.ClockUnknown, 0
}
