package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/gateway/console"
	"github.com/officegate/officegate/provisioning"
	"github.com/officegate/officegate/provisioning/admin"
	"github.com/officegate/officegate/provisioning/admin/admintest"
)

// TestDevicesPaged: 500 units are 10 pages of 50; the search and the state
// filter narrow them; a page past the end shows the last.
func TestDevicesPaged(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < 498; i++ { // with the fixture's two: 500
		if _, err := f.reg.Pending(fmt.Sprintf("HW-%04d", i), msg.KindAttendance, "OG-T", "/dev/ttyUSB1", "1.0"); err != nil {
			t.Fatal(err)
		}
	}
	c := f.client("")
	c.login("vic")
	rows := regexp.MustCompile(`<tr data-device="`)
	_, body, _ := c.do("GET", "/devices", nil)
	if n := len(rows.FindAllString(body, -1)); n != 50 || !strings.Contains(body, "500 devices") || !strings.Contains(body, "page 1 of 10") {
		t.Fatalf("first page: %d rows\n%s", n, body)
	}
	_, body, _ = c.do("GET", "/devices?page=99", nil)
	if n := len(rows.FindAllString(body, -1)); n != 50 || !strings.Contains(body, "page 10 of 10") || strings.Contains(body, `id="next"`) {
		t.Fatalf("past the end: %d rows", n)
	}
	_, body, _ = c.do("GET", "/devices?q=hw-012", nil)
	if n := len(rows.FindAllString(body, -1)); n != 10 {
		t.Fatalf("search hw-012: %d rows", n)
	}
	_, body, _ = c.do("GET", "/devices?state=active", nil)
	if n := len(rows.FindAllString(body, -1)); n != 1 || !strings.Contains(body, `data-device="term-1"`) {
		t.Fatalf("active: %d rows", n)
	}
	// The live part alone, as the page's script asks for it.
	req, _ := http.NewRequest("GET", f.srv.URL+"/devices?page=2", nil)
	req.Header.Set("X-Partial", "1")
	resp, err := c.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("partial: %d", resp.StatusCode)
	}
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestIdleTimeout: a session unused for the idle time ends; one used
// within it lives on; a removed user is out at once.
func TestIdleTimeout(t *testing.T) {
	dir := t.TempDir()
	reg, err := provisioning.Open(filepath.Join(dir, "registry"))
	if err != nil {
		t.Fatal(err)
	}
	svc, _ := admin.New(admin.Deps{Registry: reg, Links: &admintest.Links{}})
	clk := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	users := writeUsers(t, dir)
	s, err := console.New(console.Options{Listen: "127.0.0.1:0", UsersFile: users, StateDir: dir, Admin: svc,
		Hub: console.NewHub(time.UTC, clk.now), Now: clk.now, Idle: 10 * time.Minute, Log: zerolog.Nop(),
		Audit: func(context.Context, map[string]any) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	f := &fixture{t: t, srv: srv}
	c := f.client("")
	c.login("ada")
	clk.add(9 * time.Minute)
	if st, _, _ := c.do("GET", "/devices", nil); st != 200 {
		t.Fatalf("within the idle time: %d", st)
	}
	clk.add(9 * time.Minute) // 18 min after login, 9 after the last use
	if st, _, _ := c.do("GET", "/devices", nil); st != 200 {
		t.Fatalf("used 9 min ago: %d", st)
	}
	clk.add(11 * time.Minute)
	if st, _, h := c.do("GET", "/devices", nil); st != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login") {
		t.Fatalf("idle 11 min: %d %s", st, h.Get("Location"))
	}
	c.login("ada")
	if err := console.RemoveUser(users, "ada"); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := c.do("GET", "/devices", nil); st != http.StatusSeeOther {
		t.Fatalf("a removed user still in: %d", st)
	}
	if st, _, _ := c.do("POST", "/enrollment/close", url.Values{"csrf": {c.csrf}}); st != http.StatusUnauthorized {
		t.Fatalf("a removed user's post: %d", st)
	}
}
