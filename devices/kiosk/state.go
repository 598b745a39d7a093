package kiosk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/officegate/officegate/internal/atomicfile"
)

// ErrCorrupt is wrapped by the error for a state file whose content is not a
// kiosk's state (doc.go, "State file"). The kiosk refuses to start on it: an
// invite cache silently reset would turn every invited visitor away.
var ErrCorrupt = errors.New("kiosk: state file corrupt")

// stateFormat and stateVersion open every state file.
const (
	stateFormat  = "officegate.kiosk.state"
	stateVersion = 1
)

// maxStateSize bounds what load reads: 10 000 invites and 10 000 visits of
// at most ~900 bytes each.
const maxStateSize = 32 << 20

// state is the state file's JSON object.
type state struct {
	Format  string   `json:"format"`
	Version int      `json:"version"`
	Invites []Invite `json:"invites"`
	Visits  []Visit  `json:"visits"`
}

// encode returns the state file's bytes for c.
func encode(c *cache) ([]byte, error) {
	invs, vs := c.sorted()
	b, err := json.Marshal(state{Format: stateFormat, Version: stateVersion, Invites: invs, Visits: vs})
	if err != nil {
		return nil, fmt.Errorf("kiosk: encode state: %w", err)
	}
	return append(b, '\n'), nil
}

// decode parses a state file and checks it against every rule of "State
// file"; any failure wraps ErrCorrupt.
func decode(b []byte) (*cache, error) {
	var s state
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the state object", ErrCorrupt)
	}
	if s.Format != stateFormat || s.Version != stateVersion {
		return nil, fmt.Errorf("%w: format %q version %d, want %q version %d", ErrCorrupt, s.Format, s.Version, stateFormat, stateVersion)
	}
	if s.Invites == nil || s.Visits == nil {
		return nil, fmt.Errorf("%w: invites or visits missing", ErrCorrupt)
	}
	if len(s.Invites) > MaxInvites || len(s.Visits) > MaxVisits {
		return nil, fmt.Errorf("%w: %d invites and %d visits, at most %d and %d", ErrCorrupt, len(s.Invites), len(s.Visits), MaxInvites, MaxVisits)
	}
	c := newCache()
	for _, inv := range s.Invites {
		if err := checkInvite(inv); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		if _, dup := c.invites[inv.ID]; dup {
			return nil, fmt.Errorf("%w: invite %q twice", ErrCorrupt, inv.ID)
		}
		if other, dup := c.byHash[inv.TokenHash]; dup {
			return nil, fmt.Errorf("%w: invites %q and %q have the same token_hash", ErrCorrupt, other, inv.ID)
		}
		c.invites[inv.ID] = &inv
		c.byHash[inv.TokenHash] = inv.ID
	}
	for _, v := range s.Visits {
		if err := checkVisit(v); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		if _, dup := c.visits[v.ID]; dup {
			return nil, fmt.Errorf("%w: visit %q twice", ErrCorrupt, v.ID)
		}
		c.visits[v.ID] = &v
	}
	return c, nil
}

// checkVisit checks a visit record as checkInvite checks an invite.
func checkVisit(v Visit) error {
	inv := Invite{ID: v.ID, TokenHash: v.TokenHash, Name: v.Name, Host: v.Host, Company: v.Company,
		ValidFrom: v.CheckedIn, ValidUntil: v.CheckedIn.Add(1)}
	if err := checkInvite(inv); err != nil {
		return fmt.Errorf("visit: %w", err)
	}
	if v.Method != MethodQR && v.Method != MethodApproved {
		return fmt.Errorf("%w: visit %q: method %q", errBadArg, v.ID, v.Method)
	}
	if !v.CheckedOut.IsZero() && v.CheckedOut.Before(v.CheckedIn) {
		return fmt.Errorf("%w: visit %q: checked out before it checked in", errBadArg, v.ID)
	}
	return nil
}

// load reads the state file at path; a missing file is an empty cache.
func load(path string) (*cache, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return newCache(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("kiosk: load state: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStateSize+1))
	if err != nil {
		return nil, fmt.Errorf("kiosk: load state %s: %w", path, err)
	}
	if len(b) > maxStateSize {
		return nil, fmt.Errorf("kiosk: load state %s: %w: larger than %d bytes", path, ErrCorrupt, maxStateSize)
	}
	c, err := decode(b)
	if err != nil {
		return nil, fmt.Errorf("kiosk: load state %s: %w", path, err)
	}
	return c, nil
}

// save replaces the state file at path with c atomically: a temporary file in
// the same directory, fsync'd, renamed over path, and the directory fsync'd
// so the rename itself survives a power cut.
func save(path string, c *cache) error {
	b, err := encode(c)
	if err != nil {
		return err
	}
	return writeFile(path, b)
}

// writeFile is save's write: temp file, fsync, rename, fsync the directory
// (internal/atomicfile). The file holds visitor names: owner only.
func writeFile(path string, b []byte) error {
	if err := atomicfile.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("kiosk: save state %s: %w", path, err)
	}
	return nil
}
