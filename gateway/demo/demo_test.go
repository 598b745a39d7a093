package demo_test

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/demo"
)

// TestScriptedMorning runs the demo long enough for its scripts to finish
// (the room's release suggestion comes about 15 s in) and checks that the
// live view showed the reception's and the meeting room's events, that the
// badge preview is a PNG, and that the demo left no goroutine behind.
func TestScriptedMorning(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the demo runs in real time")
	}
	before := runtime.NumGoroutine()
	var out bytes.Buffer
	badges := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := demo.Run(ctx, demo.Options{Duration: 25 * time.Second, Out: &out, BadgeDir: badges, Version: "test"}); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	s := out.String()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("demo output:\n%s", s)
		}
	})
	for _, want := range []string{
		`zk-lobby\s+attendance\.punch`,
		`zk-side\s+attendance\.punch`,
		`kiosk-lobby\s+visitor\.checked_in\s+王芳 .*\(qr\)`,
		`kiosk-lobby\s+visitor\.scan_rejected\s+scan rejected: unknown`,
		`kiosk-lobby\s+visitor\.checked_in\s+Tom Chen .*\(approved\)`,
		`kiosk-lobby\s+visitor\.checked_in\s+Daniel Weber .*\(qr\)`,
		`kiosk-lobby\s+visitor\.checked_out\s+王芳`,
		`kiosk-lobby\s+badge\.print_result\s+badge printed for invite inv-wang-fang`,
		`kiosk-lobby\s+door\.state\s+open`,
		`panel-3f-aurora\s+room\.button\s+button 1 pressed`,
		`room-aurora\s+room\.checkin\s+checked in to bk-standup .* via panel`,
		`room-aurora\s+room\.led\s+LED red \(occupied\)`,
		`room-aurora\s+room\.occupancy\s+occupied`,
		`room-aurora\s+room\.occupancy\s+vacant, last motion`,
		`room-aurora\s+room\.release_suggested\s+release bk-review`,
		`PANEL  panel-3f-aurora\s+shows occupied\s+Aurora · busy until`,
		`received \d+ events \(\d+ unique ids\), \d+ command results`,
	} {
		if !regexp.MustCompile(want).MatchString(s) {
			t.Errorf("the demo's output lacks %s", want)
		}
	}
	// Nobody came to the design review: once its release is suggested the
	// room is free on the panel, on its LED and in room.led, to the end.
	if rel := regexp.MustCompile(`room-aurora\s+room\.release_suggested`).FindStringIndex(s); rel != nil {
		if !regexp.MustCompile(`room-aurora\s+room\.led\s+LED green \(available\), was pending`).MatchString(s[rel[1]:]) {
			t.Errorf("no room.led available after the release suggestion")
		}
		if led := lastMatch(s, `room-aurora\s+room\.led\s+(.*)`); !strings.HasPrefix(led, "LED green (available)") {
			t.Errorf("the room's last room.led is %q, want available", led)
		}
		if p := lastMatch(s, `PANEL  panel-3f-aurora\s+shows (.*)`); !regexp.MustCompile(`^available\s+Aurora · free`).MatchString(p) {
			t.Errorf("after the release suggestion the panel shows %q, want available, free", p)
		}
	}
	if strings.Contains(s, "script stopped") || strings.Contains(s, "door.state             forced") {
		t.Errorf("a script went wrong")
	}
	path := filepath.Join(badges, demo.BadgePreview)
	if !strings.Contains(s, "badge preview: "+path) {
		t.Errorf("the demo did not say where the badge preview is")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("badge preview: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 384 || b.Dy() < 100 {
		t.Errorf("badge preview is %v, want 384 dots wide (58 mm) and a badge tall", b)
	}

	// Everything the demo started has stopped: its goroutines are gone, give
	// or take the runtime's own settling.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before the demo, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond) // polling the count; nothing to wait on
	}
}

// lastMatch returns the first group of the last match of expr in s.
func lastMatch(s, expr string) string {
	all := regexp.MustCompile(expr).FindAllStringSubmatch(s, -1)
	if len(all) == 0 {
		return ""
	}
	return all[len(all)-1][1]
}
