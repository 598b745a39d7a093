package provisioning

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

// ByHardwareID returns the device with hardware id hw.
func (r *Registry) ByHardwareID(hw string) (Device, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.st.devices[hw]
	if !ok {
		return Device{}, fmt.Errorf("%w: hardware id %q", ErrNotFound, hw)
	}
	return d.clone(), nil
}

// Get returns the device holding device id id: the one not retired, or else
// the retired one updated last (a device id outlives the units that held it).
func (r *Registry) Get(id string) (Device, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := r.st.byID(id, true)
	if d == nil {
		return Device{}, fmt.Errorf("%w: device id %q", ErrNotFound, id)
	}
	return d.clone(), nil
}

// List returns every device, sorted by hardware id.
func (r *Registry) List() []Device {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Device, 0, len(r.st.devices))
	for _, hw := range r.st.sortedHW() {
		out = append(out, r.st.devices[hw].clone())
	}
	return out
}

// Preapprovals returns the manifest lines still waiting for their device,
// in the order they are tried.
func (r *Registry) Preapprovals() []Preapproval {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.st.pre)
}

// byID finds the live holder of a device id, or with retired also the retired
// holder updated last.
func (s *state) byID(id string, retired bool) *Device {
	var last *Device
	for _, d := range s.devices {
		if d.DeviceID != id || d.State == StatePending {
			continue
		}
		if d.State != StateRetired {
			return d
		}
		if retired && (last == nil || d.Updated.After(last.Updated) || d.Updated.Equal(last.Updated) && d.HardwareID > last.HardwareID) {
			last = d
		}
	}
	return last
}

// taken says who, if anyone, already uses s as a device id or name (live
// devices and preapprovals), other than the device with hardware id self.
func (st *state) taken(s, self string) string {
	for _, d := range st.devices {
		if d.HardwareID == self || d.State == StatePending || d.State == StateRetired {
			continue
		}
		if d.DeviceID == s || d.Name == s {
			return fmt.Sprintf("device %q (hardware id %q)", d.DeviceID, d.HardwareID)
		}
	}
	for _, p := range st.pre {
		if p.Name == s {
			return fmt.Sprintf("the preapproval of %q", p.Pattern)
		}
	}
	return ""
}

// Pending records a HELLO from hardware id hw (PROTOCOL.md §6.1). An
// unknown unit becomes pending; a pending one has its reported facts
// refreshed. Then, if a preapproval or a rule of the open enrollment window
// matches the pending device, it is approved in the same write. A device in
// any other state is returned unchanged. Nothing is written when nothing
// changed, so repeated HELLOs cost nothing.
func (r *Registry) Pending(hw string, kind msg.Kind, model, port, firmware string) (Device, error) {
	var out Device
	err := r.update(func(s *state, now time.Time) (bool, error) {
		changed, err := r.pendingLocked(s, now, hw, kind, model, port, firmware)
		out = s.devices[hw].clone()
		return changed, err
	})
	if err != nil {
		return Device{}, err
	}
	return out, nil
}

func (r *Registry) pendingLocked(s *state, now time.Time, hw string, kind msg.Kind, model, port, firmware string) (bool, error) {
	if err := CheckHardwareID(hw); err != nil {
		return false, err
	}
	for _, f := range []struct{ what, v string }{{"model", model}, {"port", port}, {"firmware", firmware}} {
		if err := checkText(f.what, f.v, 0, maxText); err != nil {
			return false, fmt.Errorf("hardware id %q: %w", hw, err)
		}
	}
	d, known := s.devices[hw]
	if known && d.State != StatePending {
		return false, nil
	}
	changed := false
	if !known {
		d = &Device{HardwareID: hw, State: StatePending, Created: now}
		s.devices[hw] = d
		changed = true
	}
	if d.Kind != kind || d.Model != model || d.Port != port || d.Firmware != firmware {
		d.Kind, d.Model, d.Port, d.Firmware, d.Updated = kind, model, port, firmware, now
		changed = true
	}
	approved, err := r.autoApprove(s, now, d)
	return changed || approved, err
}

// autoApprove approves the pending device d by the first matching
// preapproval, else by the open window's first matching rule.
func (r *Registry) autoApprove(s *state, now time.Time, d *Device) (bool, error) {
	for i := range s.pre {
		p := s.pre[i]
		if !p.matches(d) {
			continue
		}
		s.pre = slices.Delete(s.pre, i, i+1) // used up: it names one device
		if err := r.approveLocked(s, now, d, p.Name, p.Name, p.Room, p.Profile); err != nil {
			// Cannot happen for a preapproval Import checked (its name is
			// reserved); should it, the device stays pending, the line kept.
			s.pre = slices.Insert(s.pre, i, p)
			r.logf("provisioning: preapproval %q for %q matches hardware id %q but %v; it stays pending", p.Pattern, p.Name, d.HardwareID, err)
			return false, nil
		}
		return true, nil
	}
	rule := r.win.match(now, d)
	if rule == nil {
		return false, nil
	}
	name, err := r.ruleName(s, rule, d)
	if err != nil {
		r.logf("provisioning: rule %q matches hardware id %q but %v; it stays pending", rule.Name, d.HardwareID, err)
		return false, nil
	}
	if err := r.approveLocked(s, now, d, name, name, rule.Room, rule.Profile); err != nil {
		return false, err
	}
	return true, nil
}

// ruleName expands the rule's template for d, counting {n} up to a free name.
func (r *Registry) ruleName(s *state, rule *Rule, d *Device) (string, error) {
	for n := 1; n <= maxN; n++ {
		name, err := expand(rule.Name, d, rule.Room, n)
		if err != nil {
			return "", err
		}
		if err := CheckDeviceID(name); err != nil {
			return "", err
		}
		who := s.taken(name, d.HardwareID)
		if who == "" {
			return name, nil
		}
		if !hasCounter(rule.Name) {
			return "", fmt.Errorf("%w: name %q is used by %s", ErrConflict, name, who)
		}
	}
	return "", fmt.Errorf("%w: template %q: %d names all in use", ErrConflict, rule.Name, maxN)
}

func (r *Registry) logf(format string, args ...any) {
	if r.opts.Logf != nil {
		r.opts.Logf(format, args...)
	}
}

// approveLocked makes the pending device d active, awaiting its key.
func (r *Registry) approveLocked(s *state, now time.Time, d *Device, id, name, room, profile string) error {
	if d.State != StatePending {
		return fmt.Errorf("%w: hardware id %q is %s, not pending", ErrState, d.HardwareID, d.State)
	}
	if name == "" {
		name = id
	}
	if err := checkAssign(id, name, room, profile); err != nil {
		return fmt.Errorf("hardware id %q: %w", d.HardwareID, err)
	}
	for _, v := range []string{id, name} {
		if who := s.taken(v, d.HardwareID); who != "" {
			return fmt.Errorf("%w: %q is used by %s", ErrConflict, v, who)
		}
	}
	// No key yet: the device and the link agree one at its next HELLO
	// (PROTOCOL.md §6.7), and SetKey stores it.
	d.DeviceID, d.Name, d.Room, d.Profile = id, name, room, profile
	d.State, d.KeyRef, d.Updated = StateActive, "", now
	return nil
}

func checkAssign(id, name, room, profile string) error {
	if err := CheckDeviceID(id); err != nil {
		return err
	}
	for _, f := range []struct{ what, v string }{{"name", name}, {"room", room}, {"profile", profile}} {
		if err := checkText(f.what, f.v, 0, maxText); err != nil {
			return err
		}
	}
	return nil
}

// Approve makes the pending device hw active under device id id (name
// defaults to id) and returns the identity the link needs from now on:
// keying, until the device and the link agree its key (SetKey).
func (r *Registry) Approve(hw, id, name, room, profile string) (link.Identity, error) {
	var out link.Identity
	err := r.update(func(s *state, now time.Time) (bool, error) {
		d, ok := s.devices[hw]
		if !ok {
			return false, fmt.Errorf("%w: hardware id %q has not said HELLO", ErrNotFound, hw)
		}
		if err := r.approveLocked(s, now, d, id, name, room, profile); err != nil {
			return false, err
		}
		out = r.identity(s, d)
		return true, nil
	})
	return out, err
}

// identity is what the link is told about an active device: enrolled with
// its key, or keying while it has none (PROTOCOL.md §6.7).
func (r *Registry) identity(s *state, d *Device) link.Identity {
	id := link.Identity{Enrollment: link.Keying, DeviceID: d.DeviceID, Retry: keyingRetry}
	if k, ok := s.keys[d.KeyRef]; ok && d.KeyRef != "" {
		id.Enrollment, id.Retry = link.Enrolled, 0
		id.Key = &link.Key{Epoch: k.Epoch, Secret: append([]byte(nil), k.Secret...)}
	}
	if r.opts.Config != nil {
		id.Config = r.opts.Config(d.clone())
	}
	return id
}

// live returns the device not retired holding device id id.
func live(s *state, id string) (*Device, error) {
	d := s.byID(id, false)
	if d == nil {
		return nil, fmt.Errorf("%w: device id %q", ErrNotFound, id)
	}
	return d, nil
}

// Rename gives the device id a new name; its device id (and so its topics)
// stays.
func (r *Registry) Rename(id, name string) error {
	return r.update(func(s *state, now time.Time) (bool, error) {
		d, err := live(s, id)
		if err != nil {
			return false, err
		}
		if err := checkText("name", name, 1, maxText); err != nil {
			return false, fmt.Errorf("device id %q: %w", id, err)
		}
		if d.Name == name {
			return false, nil
		}
		if who := s.taken(name, d.HardwareID); who != "" {
			return false, fmt.Errorf("%w: name %q is used by %s", ErrConflict, name, who)
		}
		d.Name, d.Updated = name, now
		return true, nil
	})
}

// setState moves device id from one of the states in from to to.
func (r *Registry) setState(id string, to State, from ...State) error {
	return r.update(func(s *state, now time.Time) (bool, error) {
		d, err := live(s, id)
		if err != nil {
			return false, err
		}
		if d.State == to {
			return false, nil
		}
		if !slices.Contains(from, d.State) {
			return false, fmt.Errorf("%w: device id %q is %s; cannot make it %s", ErrState, id, d.State, to)
		}
		d.State, d.Updated = to, now
		if to == StateRetired {
			delete(s.keys, d.KeyRef)
			d.KeyRef = ""
		}
		return true, nil
	})
}

// Disable refuses the device from its next HELLO on, keeping its key, id and
// settings for Enable.
func (r *Registry) Disable(id string) error { return r.setState(id, StateDisabled, StateActive) }

// Enable lets a disabled device in again.
func (r *Registry) Enable(id string) error { return r.setState(id, StateActive, StateDisabled) }

// Retire refuses the device for good and destroys its key. Its record stays,
// for history and so that its hardware id is told "retired".
func (r *Registry) Retire(id string) error {
	return r.setState(id, StateRetired, StateActive, StateDisabled)
}

// Replace hands device id old over to the unit with hardware id hw: the new
// unit takes the old one's device id, name, room and profile (and so its
// topics and configuration), keying (it agrees a key of its own at its next
// HELLO); the old unit is retired and
// its key destroyed. hw may be pending (it said HELLO) or unknown (it will be
// enrolled when it does); it must be of the old unit's kind. The old device
// may already be retired if no other unit took its id since.
func (r *Registry) Replace(old, hw string) (link.Identity, error) {
	var out link.Identity
	err := r.update(func(s *state, now time.Time) (bool, error) {
		o := s.byID(old, true)
		if o == nil {
			return false, fmt.Errorf("%w: device id %q", ErrNotFound, old)
		}
		if o.HardwareID == hw {
			return false, fmt.Errorf("%w: hardware id %q already is device %q", ErrState, hw, old)
		}
		n, known := s.devices[hw]
		switch {
		case !known:
			if err := CheckHardwareID(hw); err != nil {
				return false, err
			}
			n = &Device{HardwareID: hw, State: StatePending, Kind: o.Kind, Model: o.Model, Port: o.Port, Created: now}
			s.devices[hw] = n
		case n.State != StatePending:
			return false, fmt.Errorf("%w: hardware id %q is %s; only a pending or new unit can replace %q", ErrState, hw, n.State, old)
		case n.Kind != o.Kind:
			return false, fmt.Errorf("%w: hardware id %q is a %s, device %q a %s", ErrState, hw, n.Kind, old, o.Kind)
		}
		if o.State != StateRetired {
			delete(s.keys, o.KeyRef)
			o.State, o.KeyRef, o.Updated = StateRetired, "", now
		}
		if err := r.approveLocked(s, now, n, o.DeviceID, o.Name, o.Room, o.Profile); err != nil {
			return false, err
		}
		out = r.identity(s, n)
		return true, nil
	})
	return out, err
}

// Seen records that hw was heard at at. The time reaches the disk at the
// next write, and at the latest once the copy on disk is SeenEvery old, so a
// chatty device does not wear the flash.
func (r *Registry) Seen(hw string, at time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seenLocked(hw, utc(at))
}

func (r *Registry) seenLocked(hw string, at time.Time) error {
	d, ok := r.st.devices[hw]
	if !ok {
		return fmt.Errorf("%w: hardware id %q", ErrNotFound, hw)
	}
	if !at.After(d.LastSeen) {
		return nil
	}
	d.LastSeen = at // in place: the committed state is only ever read under mu
	if at.Sub(r.seenAt[hw]) < r.opts.SeenEvery {
		return nil
	}
	return r.commit(r.st.clone())
}

// SetWindow opens (or with a zero Window, closes) the enrollment window. The
// window lives in memory only: a gateway restart closes it, the safe side.
// Devices already pending that a rule matches are approved at once.
func (r *Registry) SetWindow(w Window) error {
	if err := w.Check(); err != nil {
		return err
	}
	w.Rules = slices.Clone(w.Rules)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.win = w
	return r.updateLocked(func(s *state, now time.Time) (bool, error) {
		changed := false
		for _, hw := range s.sortedHW() {
			if d := s.devices[hw]; d.State == StatePending {
				ok, err := r.autoApprove(s, now, d)
				if err != nil {
					return false, err
				}
				changed = changed || ok
			}
		}
		return changed, nil
	})
}

// Window returns the enrollment window.
func (r *Registry) Window() Window {
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.win
	w.Rules = slices.Clone(w.Rules)
	return w
}

// observe refreshes what an enrolled device reports in its HELLO.
func observe(d *Device, port, firmware, model string, hash []byte, now time.Time) bool {
	if len(hash) == 0 {
		hash = nil
	}
	if d.Port == port && d.Firmware == firmware && d.Model == model && bytes.Equal(d.ConfigHash, hash) {
		return false
	}
	d.Port, d.Firmware, d.Model, d.Updated = port, firmware, model, now
	d.ConfigHash = append([]byte(nil), hash...)
	if len(hash) == 0 {
		d.ConfigHash = nil
	}
	return true
}

// keyingRetry is the wait told to an approved device that cannot agree a
// key (it offered none).
const keyingRetry = 30 * time.Second

// SetKey implements link.KeyStore: it stores the key the link agreed with
// the active (or disabled) device hw (PROTOCOL.md §6.7), replacing any key
// it had, durably before it returns.
func (r *Registry) SetKey(_ context.Context, hw string, k link.Key) error {
	if len(k.Secret) != frame.KeyLen || k.Epoch == 0 {
		return fmt.Errorf("%w: key for %q: %d bytes, epoch %d", ErrInvalid, hw, len(k.Secret), k.Epoch)
	}
	return r.update(func(s *state, now time.Time) (bool, error) {
		d, ok := s.devices[hw]
		if !ok {
			return false, fmt.Errorf("%w: hardware id %q", ErrNotFound, hw)
		}
		if d.State != StateActive && d.State != StateDisabled {
			return false, fmt.Errorf("%w: hardware id %q is %s: no key for it", ErrState, hw, d.State)
		}
		ref, err := r.newRef(s)
		if err != nil {
			return false, err
		}
		delete(s.keys, d.KeyRef)
		s.keys[ref] = link.Key{Epoch: k.Epoch, Secret: append([]byte(nil), k.Secret...)}
		d.KeyRef, d.Updated = ref, now
		return true, nil
	})
}

// Reject forgets the pending unit hw: its record goes, so it is no longer
// listed. It holds no key and no device id, so nothing else changes; if it
// says HELLO again it is pending again (a unit cannot be kept from asking,
// only from being let in). Any state but pending is ErrState.
func (r *Registry) Reject(hw string) error {
	return r.update(func(s *state, now time.Time) (bool, error) {
		d, ok := s.devices[hw]
		if !ok {
			return false, fmt.Errorf("%w: hardware id %q", ErrNotFound, hw)
		}
		if d.State != StatePending {
			return false, fmt.Errorf("%w: hardware id %q is %s; only a pending unit can be rejected", ErrState, hw, d.State)
		}
		delete(s.devices, hw)
		return true, nil
	})
}
