package devices_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/officegate/officegate/devices"
)

// The site card key is made once, 0600, and read back the same on every
// later start; a key others may read, or a short one, is refused.
func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), devices.SiteKeyFile)
	k1, created, err := devices.LoadOrCreateKey(path, nil)
	if err != nil || !created || len(k1) != 64 {
		t.Fatalf("first: %d bytes, created %v, %v", len(k1), created, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v; want 0600", fi.Mode(), err)
	}
	k2, created, err := devices.LoadOrCreateKey(path, nil)
	if err != nil || created || !bytes.Equal(k1, k2) {
		t.Fatalf("second: created %v, same %v, %v", created, bytes.Equal(k1, k2), err)
	}
	other := filepath.Join(t.TempDir(), devices.SiteKeyFile)
	k3, _, err := devices.LoadOrCreateKey(other, nil)
	if err != nil || bytes.Equal(k1, k3) {
		t.Fatalf("another site's key: same %v, %v", bytes.Equal(k1, k3), err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := devices.LoadOrCreateKey(path, nil); err == nil || !strings.Contains(err.Error(), "0644") {
		t.Fatalf("a world-readable key: %v", err)
	}
	short := filepath.Join(t.TempDir(), devices.SiteKeyFile)
	os.WriteFile(short, []byte("short\n"), 0o600)
	if _, _, err := devices.LoadOrCreateKey(short, nil); err == nil {
		t.Fatal("a short key was accepted")
	}
}
