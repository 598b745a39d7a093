package kiosk

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Bounds of the invite cache and of its fields (doc.go, "Commands").
const (
	MaxInvites  = 10000 // a large office's invites for weeks; the state file stays a few MB
	MaxVisits   = 10000 // today's visits (invites and approved walk-ins)
	MaxNameLen  = 64    // characters, for name, host and company
	MaxIDLen    = 64    // bytes of invite_id
	MaxTokenLen = 512   // bytes of a clear token: the scanner's longest line by default
	// MinTokenLen is the shortest clear token: a token is a bearer secret at
	// an unattended kiosk, and six characters of a 32-letter alphabet are
	// already only 30 bits; random bytes on a line make printable runs
	// shorter than this every few hundred bytes (doc.go, "Scans").
	MinTokenLen = 6
	// expiredGrace is how long an expired invite is kept after valid_until, so
	// that a late visitor's scan is rejected as "expired", not "unknown".
	expiredGrace = 24 * time.Hour
)

// Rejection reasons of visitor.scan_rejected.
const (
	ReasonUnknown     = "unknown"
	ReasonExpired     = "expired"
	ReasonNotYetValid = "not_yet_valid"
	ReasonRevoked     = "revoked"
)

// Check-in methods.
const (
	MethodQR       = "qr"
	MethodApproved = "approved"
	MethodCommand  = "command" // checkout by visitor.checkout
)

// errBadArg is wrapped by every refusal of a field (command argument or state
// file record); the text names the key.
var errBadArg = errors.New("kiosk: invalid argument")

// Invite is one invitation in the cache. Its token is known only as a hash.
type Invite struct {
	ID         string    `json:"invite_id"`
	TokenHash  string    `json:"token_hash"`
	Name       string    `json:"name"`
	Host       string    `json:"host"`
	Company    string    `json:"company,omitempty"`
	ValidFrom  time.Time `json:"valid_from"`
	ValidUntil time.Time `json:"valid_until"`
	Revoked    bool      `json:"revoked,omitempty"`
}

// Visit is a check-in of today, open until CheckedOut is set.
type Visit struct {
	ID         string    `json:"invite_id"` // the invite's id, or the approved walk-in's
	TokenHash  string    `json:"token_hash"`
	Name       string    `json:"name"`
	Host       string    `json:"host"`
	Company    string    `json:"company,omitempty"`
	Method     string    `json:"method"` // MethodQR or MethodApproved
	CheckedIn  time.Time `json:"checked_in"`
	CheckedOut time.Time `json:"checked_out,omitzero"`
}

func (v *Visit) open() bool { return v.CheckedOut.IsZero() }

// cache is the invite cache and today's visits. Not safe for concurrent use:
// the Kiosk guards it.
type cache struct {
	invites map[string]*Invite // by invite id
	byHash  map[string]string  // token hash → invite id
	visits  map[string]*Visit  // by invite id
}

func newCache() *cache {
	return &cache{invites: map[string]*Invite{}, byHash: map[string]string{}, visits: map[string]*Visit{}}
}

// lookup finds the invite of a token hash and says why it cannot be used now
// ("" when it can).
func (c *cache) lookup(hash string, now time.Time) (*Invite, string) {
	id, ok := c.byHash[hash]
	if !ok {
		return nil, ReasonUnknown
	}
	inv := c.invites[id]
	switch {
	case inv.Revoked:
		return inv, ReasonRevoked
	case now.Before(inv.ValidFrom):
		return inv, ReasonNotYetValid
	case !now.Before(inv.ValidUntil):
		return inv, ReasonExpired
	}
	return inv, ""
}

// openVisit returns today's open visit of a token hash, if any.
func (c *cache) openVisit(hash string, now time.Time) *Visit {
	for _, v := range c.visits {
		if v.TokenHash == hash && v.open() && sameDay(v.CheckedIn, now) {
			return v
		}
	}
	return nil
}

// upsert adds or replaces inv, after pruning. It reports whether it was new.
// A token hash held by another invite that is still usable is an error; one
// held by a revoked or expired invite is taken over (the old invite goes).
func (c *cache) upsert(inv Invite, now time.Time) (bool, error) {
	c.prune(now)
	if other, ok := c.byHash[inv.TokenHash]; ok && other != inv.ID {
		if _, why := c.lookup(inv.TokenHash, now); why == "" || why == ReasonNotYetValid {
			return false, fmt.Errorf("%w: token_hash: already the token of invite %q (revoke it first)", errBadArg, other)
		}
		c.remove(other)
	}
	old, exists := c.invites[inv.ID]
	if !exists && len(c.invites) >= MaxInvites {
		return false, fmt.Errorf("kiosk: invite cache full: %d invites (revoke some, or wait for them to expire)", MaxInvites)
	}
	if exists {
		delete(c.byHash, old.TokenHash)
	}
	c.invites[inv.ID] = &inv
	c.byHash[inv.TokenHash] = inv.ID
	return !exists, nil
}

func (c *cache) remove(id string) {
	if inv, ok := c.invites[id]; ok {
		delete(c.byHash, inv.TokenHash)
		delete(c.invites, id)
	}
}

// prune drops invites expired for longer than expiredGrace and visits of
// earlier days.
func (c *cache) prune(now time.Time) {
	for id, inv := range c.invites {
		if now.Sub(inv.ValidUntil) > expiredGrace {
			c.remove(id)
		}
	}
	for id, v := range c.visits {
		if !sameDay(v.CheckedIn, now) {
			delete(c.visits, id)
		}
	}
}

// checkIn records an open visit, replacing an earlier visit under the same id.
func (c *cache) checkIn(v Visit, now time.Time) error {
	c.prune(now)
	if _, ok := c.visits[v.ID]; !ok && len(c.visits) >= MaxVisits {
		return fmt.Errorf("kiosk: %d visits today: no room for another", MaxVisits)
	}
	c.visits[v.ID] = &v
	return nil
}

// sorted returns the invites and visits in id order, for the state file.
func (c *cache) sorted() ([]Invite, []Visit) {
	invs := make([]Invite, 0, len(c.invites))
	for _, id := range slices.Sorted(maps.Keys(c.invites)) {
		invs = append(invs, *c.invites[id])
	}
	vs := make([]Visit, 0, len(c.visits))
	for _, id := range slices.Sorted(maps.Keys(c.visits)) {
		vs = append(vs, *c.visits[id])
	}
	return invs, vs
}

// sameDay reports whether t falls on now's calendar day in now's zone.
func sameDay(t, now time.Time) bool {
	y1, m1, d1 := t.In(now.Location()).Date()
	y2, m2, d2 := now.Date()
	return y1 == y2 && m1 == m2 && d1 == d2
}

// cleanText trims s and checks it is valid UTF-8 of at most max characters
// without control or format characters (which could start a printer command
// or hide text in a log).
func cleanText(s string, max int) (string, error) {
	if !utf8.ValidString(s) {
		return "", errors.New("not valid UTF-8")
	}
	for _, r := range s {
		if unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) {
			return "", fmt.Errorf("control or format character %U", r)
		}
	}
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n > max {
		return "", fmt.Errorf("%d characters, at most %d", n, max)
	}
	return s, nil
}

// checkID checks an invite or scan id: 1–64 bytes of A-Z a-z 0-9 . _ : -.
func checkID(s string) error {
	if len(s) == 0 || len(s) > MaxIDLen {
		return fmt.Errorf("%d bytes, want 1 to %d", len(s), MaxIDLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return fmt.Errorf("byte 0x%02x at %d is not in [A-Za-z0-9._:-]", c, i)
		}
	}
	return nil
}

// checkHash checks a token hash: 64 lower-case hex digits (devices.KeyedHash).
func checkHash(s string) error {
	if len(s) != 64 {
		return fmt.Errorf("%d characters, want 64 lower-case hex digits", len(s))
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return fmt.Errorf("byte 0x%02x at %d is not a lower-case hex digit", c, i)
		}
	}
	return nil
}

// checkInvite checks every field of inv, naming the key at fault.
func checkInvite(inv Invite) error {
	if err := checkID(inv.ID); err != nil {
		return fmt.Errorf("%w: invite_id %q: %v", errBadArg, inv.ID, err)
	}
	if err := checkHash(inv.TokenHash); err != nil {
		return fmt.Errorf("%w: invite %q: token_hash: %v", errBadArg, inv.ID, err)
	}
	for _, f := range []struct{ key, v string }{{"name", inv.Name}, {"host", inv.Host}, {"company", inv.Company}} {
		c, err := cleanText(f.v, MaxNameLen)
		if err == nil && c != f.v {
			err = errors.New("white space at an end")
		}
		if err == nil && c == "" && f.key != "company" {
			err = errors.New("empty")
		}
		if err != nil {
			return fmt.Errorf("%w: invite %q: %s: %v", errBadArg, inv.ID, f.key, err)
		}
	}
	if inv.ValidFrom.IsZero() || inv.ValidUntil.IsZero() || !inv.ValidFrom.Before(inv.ValidUntil) {
		return fmt.Errorf("%w: invite %q: valid_from %s is not before valid_until %s", errBadArg, inv.ID,
			inv.ValidFrom.Format(time.RFC3339), inv.ValidUntil.Format(time.RFC3339))
	}
	return nil
}
