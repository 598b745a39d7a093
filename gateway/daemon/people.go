package daemon

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/gateway/intake"
	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/provisioning/admin"
	"github.com/officegate/officegate/provisioning/people"
)

// HeldDir is where the sinks keep the records they hold for people the
// directory does not map yet, under the state directory (gateway/sinks,
// "Held records").
const HeldDir = "held"

// peopleDir is the directory the person directory's file lives in: the
// registry's.
func (w *wiring) peopleDir() string {
	if p := w.o.Provisioning; p != nil && p.Dir != "" {
		return p.Dir
	}
	return filepath.Join(w.o.StateDir, "registry")
}

// openPeople opens the person directory (provisioning/people): the sinks
// map people through it, the admin service manages it.
func (w *wiring) openPeople(context.Context, *group) error {
	d, err := people.Open(w.peopleDir(), people.Options{CardKey: w.o.CardKey})
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	w.people, w.g.People = d, d
	return nil
}

// siteCardKey makes sure card numbers are hashed: without a configured key
// (Options.CardKey) the gateway uses the site key in its state directory,
// made at the first start (devices.LoadOrCreateKey) and kept across
// restarts, so a card's hash stays the same. No clear card number leaves
// the gateway.
func (w *wiring) siteCardKey() error {
	if w.o.CardKey != nil {
		return nil
	}
	path := filepath.Join(w.o.StateDir, devices.SiteKeyFile)
	key, created, err := devices.LoadOrCreateKey(path, nil)
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	if created {
		w.log.Info().Str("file", path).Msg("made the site card key: card numbers travel as card_hash under it; give it to the back ends that must match cards")
	}
	w.o.CardKey = key
	return nil
}

// heldAlarm raises a device.alarm (other) on the device of a person's first
// held record: a punch waits for someone to import that person.
func (w *wiring) heldAlarm(ctx context.Context, h sinks.Held) error {
	detail, ok := h.AlarmDetail()
	if !ok {
		return nil
	}
	return w.in.Note(ctx, h.Device, "device.alarm", map[string]any{"alarm": "other", "detail": detail})
}

// Forgetter is what the daemon gives the admin service to erase a person
// beyond the directory: every kiosk's invite cache (invites and visits
// naming them as host) and the sinks' held records of them; it lists what
// remains in the journal until its retention passes.
func (w *wiring) forgetPerson(_ context.Context, keys []string) ([]admin.Erased, []string, error) {
	var (
		erased []admin.Erased
		errs   []error
	)
	for id, d := range w.drivers {
		f, ok := d.(interface {
			ForgetHost(keys ...string) (int, int, error)
		})
		if !ok {
			continue
		}
		inv, vis, err := f.ForgetHost(keys...)
		erased = append(erased, admin.Erased{Where: "kiosk " + id + " invites", Count: inv},
			admin.Erased{Where: "kiosk " + id + " visits today", Count: vis})
		if err != nil {
			errs = append(errs, fmt.Errorf("kiosk %s: %w", id, err))
		}
	}
	for _, r := range w.runners {
		n, err := r.ForgetHeld(keys...)
		erased = append(erased, admin.Erased{Where: "sink " + r.Name() + " held records", Count: n})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return erased, sinks.Remains(w.streams, intake.StreamControl, intake.StreamRecords, intake.StreamVisitors), errors.Join(errs...)
}
