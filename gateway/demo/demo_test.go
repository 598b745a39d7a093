package demo_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
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
	out := &syncBuffer{}
	badges := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// While the demo runs, a newcomer logs in to the console it printed.
	consoleSeen := make(chan error, 1)
	go func() { consoleSeen <- useConsole(ctx, out) }()
	if err := demo.Run(ctx, demo.Options{Duration: 25 * time.Second, Out: out, BadgeDir: badges, Version: "test", Console: "127.0.0.1:0"}); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	s := out.String()
	if err := <-consoleSeen; err != nil {
		t.Errorf("the demo's console: %v", err)
	}
	// Who receives each event is its line's tag, and no Go syntax leaks.
	for _, want := range []string{
		`HR\s+t-lobby-1\s+attendance\.punch`,
		`FRONT DESK\s+kiosk-lobby\s+visitor\.checked_in`,
		`FACILITIES\s+room-aurora\s+room\.led`,
		`\n\n\d\d:\d\d:\d\d\.\d{3}  DEMO ▶ `,
	} {
		if !regexp.MustCompile(want).MatchString(s) {
			t.Errorf("the demo's output lacks %s", want)
		}
	}
	if strings.Contains(s, "map[") {
		t.Errorf("Go map syntax in the demo's output")
	}
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

// syncBuffer is the demo's output, read while the demo writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer // guarded by mu
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// useConsole waits for the console line in out, then logs in with the
// printed login and reads the devices page: the demo's devices are there.
func useConsole(ctx context.Context, out *syncBuffer) error {
	line := regexp.MustCompile(`web console is at (http://127\.0\.0\.1:\d+/) — log in as (\S+) / (\S+)`)
	var m []string
	for m == nil {
		if m = line.FindStringSubmatch(out.String()); m != nil {
			break
		}
		select {
		case <-ctx.Done():
			return errors.New("no console line printed")
		case <-time.After(50 * time.Millisecond): // polling the output; nothing to wait on
		}
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := c.Get(m[1] + "login")
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	tok := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(string(body))
	if tok == nil {
		return errors.New("no login form")
	}
	resp, err = c.PostForm(m[1]+"login", url.Values{"csrf": {tok[1]}, "user": {m[2]}, "password": {m[3]}, "next": {"/devices"}})
	if err != nil {
		return err
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, d := range []string{"t-lobby-1", "kiosk-lobby", "room-aurora"} {
		if !strings.Contains(string(body), `data-device="`+d+`"`) {
			return fmt.Errorf("device %s not on the devices page after logging in (%d)", d, resp.StatusCode)
		}
	}
	return nil
}

// lastMatch returns the first group of the last match of expr in s.
func lastMatch(s, expr string) string {
	all := regexp.MustCompile(expr).FindAllStringSubmatch(s, -1)
	if len(all) == 0 {
		return ""
	}
	return all[len(all)-1][1]
}
