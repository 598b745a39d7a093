package room_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/officegate/officegate/devices/room"
)

// savedState returns the bytes of a state file with a schedule, a check-in,
// a presence, a suggestion and an override.
func savedState(t *testing.T) []byte {
	t.Helper()
	g := newRig(t)
	g.schedule(9, booking("b1", at(1, 0), at(2, 0)), booking("b2", at(2, 0), at(3, 0)), booking("b3", at(3, 0), at(4, 0)))
	g.tick(at(1, 11)) // suggests b1
	if err := g.r.Motion(at(1, 56)); err != nil {
		t.Fatal(err)
	}
	if _, err := g.r.CheckIn(at(2, 59), room.SourceCommand); err != nil {
		t.Fatal(err)
	}
	if err := g.r.SetLED(at(2, 59), "occupied", at(3, 30)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(g.path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestStateFileDamage(t *testing.T) {
	good := savedState(t)
	for _, c := range []struct {
		name   string
		damage func([]byte) []byte
	}{
		{"empty", func([]byte) []byte { return nil }},
		{"truncated", func(b []byte) []byte { return b[:len(b)/2] }},
		{"zeroed sector", func(b []byte) []byte { b = bytes.Clone(b); copy(b[len(b)/3:], make([]byte, 64)); return b }},
		{"trailing data", func(b []byte) []byte { return append(bytes.Clone(b), "{}"...) }},
		{"unknown field", func(b []byte) []byte { return bytes.Replace(b, []byte(`"present"`), []byte(`"presence"`), 1) }},
		{"other format", func(b []byte) []byte {
			return bytes.Replace(b, []byte("officegate.room.state"), []byte("officegate.room.stat"), 1)
		}},
		{"future version", func(b []byte) []byte { return bytes.Replace(b, []byte(`"version": 1,`), []byte(`"version": 2,`), 1) }},
		{"check-in of an unknown booking", func(b []byte) []byte { return bytes.Replace(b, []byte(`"b3": {`), []byte(`"b9": {`), 1) }},
		{"overlapping schedule", func(b []byte) []byte {
			return bytes.Replace(b, []byte("T11:00:00Z\",\n\t\t\t\t\"end\""), []byte("T10:30:00Z\",\n\t\t\t\t\"end\""), 1)
		}},
		{"bad check-in source", func(b []byte) []byte { return bytes.Replace(b, []byte(`"command"`), []byte(`"app"`), 1) }},
		{"bad override", func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"state": "occupied"`), []byte(`"state": "blue"`), 1)
		}},
	} {
		bad := c.damage(good)
		if bytes.Equal(bad, good) {
			t.Errorf("%s: the damage changed nothing", c.name)
			continue
		}
		path := filepath.Join(t.TempDir(), "room.json")
		if err := os.WriteFile(path, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := room.Open(room.Config{StatePath: path}, nil)
		if !errors.Is(err, room.ErrCorrupt) {
			t.Errorf("%s: Open = %v, want ErrCorrupt", c.name, err)
		}
		if after, _ := os.ReadFile(path); !bytes.Equal(after, bad) {
			t.Errorf("%s: the damaged file was rewritten", c.name)
		}
	}
	path := filepath.Join(t.TempDir(), "room.json")
	os.WriteFile(path, good, 0o600)
	if _, err := room.Open(room.Config{StatePath: path}, nil); err != nil {
		t.Fatalf("undamaged: %v", err)
	}
}

func TestStateFileMissingIsNewRoom(t *testing.T) {
	g := newRig(t)
	if g.r.Schedule().Version != 0 {
		t.Fatal("a new room has a schedule")
	}
	if _, err := os.Stat(g.path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("opening wrote a file: %v", err)
	}
	g.schedule(1)
	entries, _ := os.ReadDir(filepath.Dir(g.path))
	if len(entries) != 1 || entries[0].Name() != "room.json" {
		t.Errorf("directory after a save: %v (a temporary file left?)", entries)
	}
}

func TestSaveFailureRefusesChange(t *testing.T) {
	dir := t.TempDir()
	g := openRig(t, filepath.Join(dir, "sub", "room.json")) // the directory does not exist
	if err := g.r.SetSchedule(t0, room.Schedule{Version: 1}); err == nil {
		t.Fatal("a schedule that could not be saved was accepted")
	}
	if g.r.Schedule().Version != 0 {
		t.Error("the unsaved schedule is in force")
	}
}
