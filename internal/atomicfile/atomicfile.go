// Package atomicfile replaces files so that a crash leaves the old content or
// the new. A crash never leaves a mix or an empty file: it writes a temp file,
// fsyncs it, renames it and fsyncs the directory. It sits at the module's root
// so every layer (gateway, provisioning, devices) shares one implementation.
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

// WriteFile replaces path with data. The new file has mode perm from its
// creation on (it never exists with wider permissions).
func WriteFile(path string, data []byte, perm os.FileMode) error {
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
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("atomicfile: fsync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("atomicfile: close %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("atomicfile: rename to %s: %w", path, err)
	}
	ok = true
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
