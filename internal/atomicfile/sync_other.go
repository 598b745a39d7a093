//go:build !linux

package atomicfile

import "os"

func fdatasync(f *os.File) error { return f.Sync() }
