package connect_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/connect"
)

// TestDedupWindow: keys survive a reopen, a torn tail is cut (the keys
// before it kept), and keys older than the window are forgotten and their
// files deleted.
func TestDedupWindow(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	k := func(id string) [16]byte { return connect.Key("attendance.punch", "gw", id) }

	d, err := connect.OpenDedup(dir, 48*time.Hour, clock)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Add([][16]byte{k("a"), k("b")}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(30 * time.Hour)
	if err := d.Add([][16]byte{k("c")}); err != nil {
		t.Fatal(err)
	}
	d.Close()

	// A kill mid-append: half a key at the end of the newest file.
	files, _ := filepath.Glob(filepath.Join(dir, "*.ids"))
	if len(files) != 2 {
		t.Fatalf("dedup files %v, want one per hour written", files)
	}
	newest := files[len(files)-1]
	f, _ := os.OpenFile(newest, os.O_APPEND|os.O_WRONLY, 0)
	f.Write(make([]byte, 7))
	f.Close()

	d, err = connect.OpenDedup(dir, 48*time.Hour, clock)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b", "c"} {
		if !d.Seen(k(id)) {
			t.Errorf("key %s forgotten across the reopen", id)
		}
	}
	if d.Seen(k("d")) || d.Seen(connect.Key("result", "gw", "a")) {
		t.Error("a key never added is seen (an event's id and a result's are different keys)")
	}
	if fi, _ := os.Stat(newest); fi.Size()%16 != 0 {
		t.Errorf("torn tail not cut: %d bytes", fi.Size())
	}
	// a and b leave the window; c stays.
	now = now.Add(20 * time.Hour)
	if err := d.Add([][16]byte{k("e")}); err != nil {
		t.Fatal(err)
	}
	if d.Seen(k("a")) || d.Seen(k("b")) || !d.Seen(k("c")) || !d.Seen(k("e")) {
		t.Errorf("after 50 h with a 48 h window: a %v b %v c %v e %v, want false false true true",
			d.Seen(k("a")), d.Seen(k("b")), d.Seen(k("c")), d.Seen(k("e")))
	}
	if d.Len() != 2 {
		t.Errorf("%d keys remembered, want 2", d.Len())
	}
	d.Close()
	files, _ = filepath.Glob(filepath.Join(dir, "*.ids"))
	if len(files) != 2 {
		t.Errorf("dedup files %v after expiry, want the two within the window", files)
	}
	if _, err := connect.OpenDedup(dir, 30*time.Minute, clock); err == nil {
		t.Error("a window under an hour accepted")
	}
}
