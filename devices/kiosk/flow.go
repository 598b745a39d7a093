package kiosk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/door"
	"github.com/officegate/officegate/devices/escpos"
	"github.com/officegate/officegate/devices/scanner"
)

// handleScan decides a scan (doc.go, "Flow"): the token is hashed first and
// its clear text goes no further than this line.
func (k *Kiosk) handleScan(ctx context.Context, sc scanner.Scan) {
	k.lastScan.Store(sc.Time.UnixNano())
	hash, badge := badgeHash(sc.Text)
	if !badge {
		hash = devices.KeyedHash(k.set.key, sc.Text)
	}
	at := sc.Time
	k.mu.Lock()
	if v := k.cache.openVisit(hash, at); v != nil {
		v.CheckedOut = at
		k.cnt.checkedOut.Add(1) // before the event: whoever sees it sees the count
		k.out.put(checkedOut(*v, at, MethodQR))
		k.disp.show("Goodbye, %s", v.Name)
		seq, b, err := k.snapshot()
		k.mu.Unlock()
		k.persist(seq, b, err)
		return
	}
	inv, why := k.cache.lookup(hash, at)
	if badge && why == "" {
		// A badge only checks its visitor out: it is printed, not invited,
		// and its hash is no secret (events carry it).
		inv, why = nil, ReasonUnknown
	}
	if why != "" {
		p := pendingScan{id: k.newScanID(), hash: hash, at: at}
		data := map[string]any{"token_hash": hash, "reason": why, "pending_approval": true, "scan_id": p.id}
		if inv != nil {
			p.inviteID = inv.ID
			data["invite_id"] = inv.ID
		}
		k.pending = append(k.pending, p)
		if len(k.pending) > maxPending {
			k.pending = append(k.pending[:0], k.pending[len(k.pending)-maxPending:]...)
		}
		k.cnt.scansRejected.Add(1)
		k.out.put(devices.Event{Type: TypeScanRejected, Time: at, Data: data})
		k.disp.show("Please wait: the front desk will help you")
		k.mu.Unlock()
		return
	}
	v := Visit{ID: inv.ID, TokenHash: hash, Name: inv.Name, Host: inv.Host, Company: inv.Company, Method: MethodQR, CheckedIn: at}
	k.checkIn(ctx, v, "")
}

// checkIn records v, emits visitor.checked_in, releases the door and queues
// the badge. k.mu must be held; checkIn releases it. The door goes first: a
// slow or missing printer never keeps a valid visitor waiting.
func (k *Kiosk) checkIn(ctx context.Context, v Visit, scanID string) {
	if err := k.cache.checkIn(v, v.CheckedIn); err != nil {
		// The visitor is valid: admit them; only a later scan-out is lost.
		k.log.Error().Err(err).Str("invite_id", v.ID).Msg("kiosk: visit not recorded")
	}
	data := map[string]any{"invite_id": v.ID, "token_hash": v.TokenHash, "name": v.Name, "host": v.Host, "method": v.Method}
	if v.Company != "" {
		data["company"] = v.Company
	}
	if scanID != "" {
		data["scan_id"] = scanID
	}
	k.cnt.checkedIn.Add(1) // before the event: whoever sees it sees the count
	k.out.put(devices.Event{Type: TypeCheckedIn, Time: v.CheckedIn, Data: data})
	k.disp.show("Welcome, %s · %s is on the way", v.Name, v.Host)
	d := k.door
	seq, b, err := k.snapshot()
	k.mu.Unlock()
	if d != nil {
		k.release(ctx, d)
	}
	if k.jobs != nil {
		job := badgeJob{inviteID: v.ID, badge: escpos.Badge{Title: k.set.location, Name: v.Name, Company: v.Company, Host: v.Host,
			Date: v.CheckedIn, QR: BadgePrefix + v.TokenHash}}
		select {
		case k.jobs <- job:
		default:
			k.printed(job, escpos.Failed, fmt.Errorf("badge queue full (%d waiting)", maxBadgeQueue))
		}
	}
	k.persist(seq, b, err)
}

// release pulses the door for a check-in. A strike already released (a pulse
// running, held_open mode) lets the visitor in anyway; locked mode keeps the
// door shut, which is what lockdown means.
func (k *Kiosk) release(ctx context.Context, d *door.Door) {
	err := d.Pulse(ctx, k.set.pulse)
	switch {
	case err == nil:
		k.cnt.doorReleased.Add(1)
	case errors.Is(err, door.ErrBusy):
		k.cnt.doorBusy.Add(1)
	default:
		k.cnt.doorRefused.Add(1)
		k.log.Warn().Err(err).Msg("kiosk: door not released for a check-in")
	}
}

// approve checks in the visitor of a rejected scan (visitor.approve).
func (k *Kiosk) approve(ctx context.Context, scanID, inviteID, name, host, company string) (string, error) {
	now := k.now()
	k.mu.Lock()
	var p *pendingScan
	for i := range k.pending {
		if k.pending[i].id == scanID {
			p = &k.pending[i]
		}
	}
	switch {
	case p == nil:
		k.mu.Unlock()
		return "", fmt.Errorf("kiosk: visitor.approve: scan_id %q: no such rejected scan (approval window closed or never rejected)", scanID)
	case p.approved:
		k.mu.Unlock()
		return "", fmt.Errorf("kiosk: visitor.approve: scan_id %q: already approved", scanID)
	case now.Sub(p.at) > k.set.approveTimeout:
		k.mu.Unlock()
		return "", fmt.Errorf("kiosk: visitor.approve: scan_id %q: approval window closed (%v after the scan, approve_timeout %v)",
			scanID, now.Sub(p.at).Round(time.Millisecond), k.set.approveTimeout)
	}
	if inviteID == "" {
		inviteID = p.inviteID
	}
	if inviteID == "" {
		inviteID = "walkin-" + scanID
	}
	p.approved = true
	k.cnt.approved.Add(1)
	v := Visit{ID: inviteID, TokenHash: p.hash, Name: name, Host: host, Company: company, Method: MethodApproved, CheckedIn: now}
	k.checkIn(ctx, v, scanID)
	return inviteID, nil
}

// checkout ends today's open visit of an invite (visitor.checkout).
func (k *Kiosk) checkout(inviteID string) error {
	now := k.now()
	k.mu.Lock()
	v, ok := k.cache.visits[inviteID]
	if !ok || !v.open() || !sameDay(v.CheckedIn, now) {
		k.mu.Unlock()
		return fmt.Errorf("kiosk: visitor.checkout: invite_id %q is not checked in today", inviteID)
	}
	v.CheckedOut = now
	k.out.put(checkedOut(*v, now, MethodCommand))
	k.cnt.checkedOut.Add(1)
	seq, b, err := k.snapshot()
	k.mu.Unlock()
	k.persist(seq, b, err) // the visitor has left whether or not the disk took it
	return nil
}

func checkedOut(v Visit, at time.Time, method string) devices.Event {
	return devices.Event{Type: TypeCheckedOut, Time: at, Data: map[string]any{
		"invite_id": v.ID, "token_hash": v.TokenHash, "name": v.Name, "method": method}}
}

// BadgePrefix starts the QR code printed on a visitor's badge: the prefix
// and the visit's token_hash. Scanned at the kiosk, a badge checks its
// visitor out (never in); the clear token is never printed.
const BadgePrefix = "OGB1:"

// badgeHash recognises a badge's QR code and returns the token hash it holds.
func badgeHash(text string) (string, bool) {
	h, ok := strings.CutPrefix(text, BadgePrefix)
	if !ok || len(h) != 64 {
		return "", false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", false
		}
	}
	return h, true
}
