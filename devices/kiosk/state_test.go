package kiosk_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/internal/atomicfile"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/kiosk"
)

// TestCorruptStateFileStopsStart: a damaged cache is an error at start, never
// silently reset, and the file is left as it was.
func TestCorruptStateFileStopsStart(t *testing.T) {
	r := newRig(t, rigOpts{noPrinter: true}).start()
	r.invite("inv-1", "TOKEN-A", "Alice")
	r.stop()
	path := filepath.Join(r.dir, "state.json")
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, damage := range map[string]func([]byte) []byte{
		"truncated":    func(b []byte) []byte { return b[:len(b)/2] },
		"zeroed":       func(b []byte) []byte { return make([]byte, len(b)) },
		"empty":        func([]byte) []byte { return nil },
		"bad hash":     func(b []byte) []byte { return []byte(strings.Replace(string(b), hash("TOKEN-A"), "xyz", 1)) },
		"unknown key":  func(b []byte) []byte { return []byte(strings.Replace(string(b), `"name"`, `"nom"`, 1)) },
		"wrong format": func(b []byte) []byte { return []byte(strings.Replace(string(b), "officegate.kiosk.state", "x", 1)) },
	} {
		t.Run(name, func(t *testing.T) {
			bad := damage(append([]byte(nil), good...))
			if err := os.WriteFile(path, bad, 0o600); err != nil {
				t.Fatal(err)
			}
			section := "scanner_port = \"/dev/null\"\ninvite_key_file = " + quote(filepath.Join(r.dir, "invite.key")) + "\nstate_file = " + quote(path) + "\n"
			_, err := kiosk.NewWith("kiosk-lobby", devices.Options{Config: tomlSection(section)}, kiosk.With{})
			if !errors.Is(err, kiosk.ErrCorrupt) || !strings.Contains(err.Error(), path) {
				t.Fatalf("NewWith on a %s state file: %v", name, err)
			}
			if after, _ := os.ReadFile(path); string(after) != string(bad) {
				t.Fatal("the damaged file was changed")
			}
		})
	}
}

func TestStateFileFormat(t *testing.T) {
	r := newRig(t, rigOpts{noPrinter: true}).start()
	r.invite("inv-1", "TOKEN-A", "Alice")
	r.scan("TOKEN-A")
	r.sink.wait(t, kiosk.TypeCheckedIn, 1)
	r.stop()
	b, err := os.ReadFile(filepath.Join(r.dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{`"format":"officegate.kiosk.state"`, `"version":1`, `"invite_id":"inv-1"`,
		`"token_hash":"` + hash("TOKEN-A") + `"`, `"method":"qr"`, `"checked_in":"` + t0.Format(time.RFC3339) + `"`} {
		if !strings.Contains(s, want) {
			t.Errorf("state file lacks %s:\n%s", want, s)
		}
	}
	if strings.Contains(s, "TOKEN-A") {
		t.Error("state file holds the clear token")
	}
	// No temporary files left behind.
	ents, _ := os.ReadDir(r.dir)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), atomicfile.TempSuffix) {
			t.Errorf("left %s", e.Name())
		}
	}
}

func quote(s string) string { return `"` + s + `"` }
