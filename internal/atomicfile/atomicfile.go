// Package atomicfile replaces files so a crash leaves the old content or the new, never a mix.
//
// The steps are temp file, fdatasync, rename, fsync of the directory. It sits
// at the module's root so every layer (the journal's metadata, gateway,
// provisioning, devices, the emulated firmware) shares one implementation.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// TempSuffix ends the name of every temporary file WriteFile creates, so an
// owner can recognise leftovers of a crash.
const TempSuffix = ".tmp"

// Durability is how much of a replacement is on disk when Write returns.
// Every level keeps the all-or-nothing property: a reader sees the old file
// or the new one (for Unsynced, possibly a new one with lost content, which
// is why only a file whose reader checks a checksum may use it).
type Durability int

const (
	// Durable: the content and the rename survive a crash.
	Durable Durability = iota
	// ContentOnly: the content is synced, the rename is not; a crash may
	// bring back the previous file. For state that is rewritten often and
	// whose loss only repeats work (a delivered cursor).
	ContentOnly
	// Unsynced: neither is synced. For a cache its reader checks and
	// rebuilds when damaged.
	Unsynced
)

// WriteFile replaces path with data, durably. The new file has mode perm from
// its creation on (it never exists with wider permissions).
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return Write(path, data, perm, Durable)
}

// Write replaces path with data with durability d. The new file has mode perm
// from its creation on.
func Write(path string, data []byte, perm os.FileMode, d Durability) error {
	dir, name := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	// CreateTemp makes the file 0600; Chmod only ever narrows or keeps that
	// for the modes callers use, so a secret is never briefly world-readable.
	tmp, err := os.CreateTemp(dir, name+".*"+TempSuffix)
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("atomicfile: chmod %s: %w", tmp.Name(), err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("atomicfile: write %s: %w", tmp.Name(), err)
	}
	if d != Unsynced {
		// fdatasync is enough: the file is new, so its size is the only
		// metadata a read needs, and fdatasync writes that.
		if err := fdatasync(tmp); err != nil {
			return fmt.Errorf("atomicfile: fsync %s: %w", tmp.Name(), err)
		}
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("atomicfile: close %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("atomicfile: rename to %s: %w", path, err)
	}
	ok = true
	if d != Durable {
		return nil
	}
	return SyncDir(dir)
}

// SyncDir makes the directory entries of dir durable (a rename or removal).
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("atomicfile: open dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("atomicfile: fsync dir %s: %w", dir, err)
	}
	return nil
}

// RemoveTemps removes what a crash inside WriteFile(filepath.Join(dir, name))
// can leave behind: temporary files that never became name. They are never
// the truth (the rename is the commit), so removing them loses nothing.
func RemoveTemps(dir, name string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	removed := false
	for _, e := range ents {
		n := e.Name()
		if e.Type().IsRegular() && strings.HasPrefix(n, name+".") && strings.HasSuffix(n, TempSuffix) {
			if err := os.Remove(filepath.Join(dir, n)); err != nil {
				return fmt.Errorf("atomicfile: %w", err)
			}
			removed = true
		}
	}
	if removed {
		return SyncDir(dir)
	}
	return nil
}
