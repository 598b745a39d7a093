package provisioning

import (
	"context"
	"time"

	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

var (
	_ link.Directory = (*Registry)(nil)
	_ link.Directory = portDirectory{}
)

// Lookup answers the link's question about a HELLO (PROTOCOL.md §6.1) for a
// port the registry does not know; see OnPort.
func (r *Registry) Lookup(ctx context.Context, h *msg.Hello) (link.Identity, error) {
	return r.lookup(h, "")
}

// OnPort returns the link.Directory for the link on serial port port, so
// that the registry learns where each device is plugged in (and rules can
// match on it).
func (r *Registry) OnPort(port string) link.Directory { return portDirectory{r: r, port: port} }

type portDirectory struct {
	r    *Registry
	port string
}

func (p portDirectory) Lookup(ctx context.Context, h *msg.Hello) (link.Identity, error) {
	return p.r.lookup(h, p.port)
}

// lookup maps the registry's states onto the link's (gateway_types.go):
//
//	unknown, pending → recorded pending (and approved if a preapproval or an
//	                   open window's rule matches) → link.Pending, or Enrolled
//	active           → link.Enrolled with its device id, key and config
//	disabled         → link.Pending with Options.DisabledRetry: the link has
//	                   no "disabled" answer; pending is the one that keeps the
//	                   unit retrying, so Enable lets it back within the retry
//	retired          → link.Retired (CLOSE retired, retry 1 h)
//
// An error means the registry could not be written; the link answers BUSY
// and the device asks again.
func (r *Registry) lookup(h *msg.Hello, port string) (link.Identity, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out link.Identity
	err := r.updateLocked(func(s *state, now time.Time) (bool, error) {
		d, known := s.devices[h.HardwareID]
		changed := false
		if known && port == "" {
			port = d.Port // a lookup without a port does not unbind the device
		}
		if !known || d.State == StatePending {
			var err error
			if changed, err = r.pendingLocked(s, now, h.HardwareID, h.Kind, h.Model, port, h.Firmware); err != nil {
				return false, err
			}
			d = s.devices[h.HardwareID]
		} else if d.State == StateActive {
			changed = observe(d, port, h.Firmware, h.Model, h.ConfigHash, now)
		}
		switch d.State {
		case StateActive:
			out = r.identity(s, d)
		case StateDisabled:
			out = link.Identity{Enrollment: link.Pending, Retry: r.opts.DisabledRetry}
		case StateRetired:
			out = link.Identity{Enrollment: link.Retired}
		default:
			// Asked again soon: once approved, the unit should not wait long.
			out = link.Identity{Enrollment: link.Pending, Retry: PendingRetry}
		}
		if changed {
			d.LastSeen = now // this write carries the sighting too
		}
		return changed, nil
	})
	if err != nil {
		return link.Identity{}, err
	}
	// A HELLO is a sign of life of every unit, refused or not.
	return out, r.seenLocked(h.HardwareID, utc(r.opts.Now()))
}

// PendingRetry is how soon a pending unit says HELLO again: a HELLO every
// few seconds costs nothing, and an approval takes effect within it.
const PendingRetry = 5 * time.Second
