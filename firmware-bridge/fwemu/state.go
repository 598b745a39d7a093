package fwemu

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/officegate/officegate/internal/atomicfile"

	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/internal/cbormode"
)

// state is what the device keeps in non-volatile memory (PROTOCOL.md §6.4),
// written as one CBOR file.
type state struct {
	Boot   uint32   `cbor:"1,keyasint"`
	Events [][]byte `cbor:"2,keyasint"` // EVENT bodies as first encoded, oldest first
	Lost   uint64   `cbor:"3,keyasint"` // events dropped because the store was full

	Config     []byte `cbor:"4,keyasint"`
	ConfigHash []byte `cbor:"5,keyasint"`

	Running  image          `cbor:"6,keyasint"` // the image that runs
	Previous image          `cbor:"7,keyasint"` // the one to revert to while testing
	Image    msg.ImageState `cbor:"8,keyasint"`
	Reverted string         `cbor:"9,keyasint"`
	// PendingTest: the spare slot is to be booted once at the next boot.
	PendingTest bool `cbor:"10,keyasint"`
	Slot        slot `cbor:"11,keyasint"`

	// The attendance terminal's application (terminal.go); absent from
	// older state files, which load as an empty table and log.
	Users map[string]User `cbor:"12,keyasint,omitempty"` // by user id
	Log   [][]byte        `cbor:"13,keyasint,omitempty"` // EVENT bodies of logged punches, oldest first
	// Key is the link key agreed at enrollment (PROTOCOL.md §6.7); nil
	// until then, or after ForgetKey (a factory reset of the key).
	Key *storedKey `cbor:"14,keyasint,omitempty"`
}

type image struct {
	Version string `cbor:"1,keyasint"`
	SHA     []byte `cbor:"2,keyasint"`
}

// slot describes the spare slot; its bytes are in the slot file.
type slot struct {
	SHA      []byte `cbor:"1,keyasint"`
	Size     uint32 `cbor:"2,keyasint"`
	Held     uint32 `cbor:"3,keyasint"` // bytes written contiguously from 0 (a lower bound after a crash)
	Version  string `cbor:"4,keyasint"`
	Sig      []byte `cbor:"5,keyasint"`
	Verified bool   `cbor:"6,keyasint"`
}

// loadState reads the state file; a missing file is a factory-new device.
func loadState(path string) (state, error) {
	var st state
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("fwemu: reading state: %w", err)
	}
	if err := cbormode.Trusted.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("fwemu: state file %s: %w", path, err)
	}
	return st, nil
}

// writeAtomic replaces path with b so that a crash at any point leaves
// either the old or the new file (internal/atomicfile).
func writeAtomic(path string, b []byte) error {
	if err := atomicfile.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("fwemu: writing state %s: %w", path, err)
	}
	return nil
}

type storedKey struct {
	Epoch  uint16 `cbor:"1,keyasint"`
	Secret []byte `cbor:"2,keyasint"`
}
