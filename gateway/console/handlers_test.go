package console_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/gateway/console"
	"github.com/officegate/officegate/provisioning"
	"github.com/officegate/officegate/provisioning/admin"
	"github.com/officegate/officegate/provisioning/admin/admintest"
	"github.com/officegate/officegate/provisioning/people"
)

// fixture is a console over a real registry and admin service, served by
// httptest, with one user of each role.
type fixture struct {
	t        *testing.T
	srv      *httptest.Server
	handler  http.Handler // the console's, as srv serves it
	reg      *provisioning.Registry
	hub      *console.Hub
	cmds     *commander
	sinks    *sinkDouble
	mu       sync.Mutex
	audits   []map[string]any // guarded by mu
	lockouts int              // guarded by mu
}

// commander answers door.pulse ok and records what it ran.
type commander struct {
	mu  sync.Mutex
	got []string
}

func (c *commander) DeviceCommand(_ context.Context, device, name string, args map[string]any) admin.CommandResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, device+" "+name)
	return admin.CommandResult{Status: "ok"}
}

const password = "correct horse battery"

// writeUsers writes a users file with one user of each role, hashed at
// bcrypt's lowest cost: the tests log in hundreds of times, under -race.
// The file format takes any cost; the console's own writes use BcryptCost.
func writeUsers(t *testing.T, dir string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	users := filepath.Join(dir, "users")
	body := fmt.Sprintf("vic viewer %s\notto operator %s\nada admin %s\n", h, h, h)
	if err := os.WriteFile(users, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return users
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	reg, err := provisioning.Open(filepath.Join(dir, "registry"))
	if err != nil {
		t.Fatal(err)
	}
	for _, hw := range []string{"HW-T1", "HW-T2"} {
		if _, err := reg.Pending(hw, msg.KindAttendance, "OG-T", "/dev/ttyUSB0", "1.0"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := reg.Approve("HW-T1", "term-1", "Lobby", "1F", ""); err != nil {
		t.Fatal(err)
	}
	dir2 := filepath.Join(dir, "people")
	dirp, err := people.Open(dir2, people.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, reg: reg, cmds: &commander{}, sinks: &sinkDouble{}}
	svc, err := admin.New(admin.Deps{Registry: reg, Links: &admintest.Links{}, Devices: f.cmds, People: dirp, Sinks: f.sinks})
	if err != nil {
		t.Fatal(err)
	}
	users := writeUsers(t, dir)
	f.hub = console.NewHub(time.UTC, nil)
	s, err := console.New(console.Options{Listen: "127.0.0.1:0", UsersFile: users, StateDir: dir, Gateway: "gw-t",
		Admin: svc, Hub: f.hub, Log: zerolog.Nop(),
		Audit: func(_ context.Context, d map[string]any) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.audits = append(f.audits, d)
			return nil
		},
		OnLockout: func() { f.mu.Lock(); f.lockouts++; f.mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	f.handler = s.Handler()
	f.srv = httptest.NewServer(f.handler)
	t.Cleanup(f.srv.Close)
	return f
}

// client is one browser: a cookie jar, no redirects followed unless asked.
type client struct {
	f    *fixture
	c    *http.Client
	csrf string
}

func (f *fixture) client(lang string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{f: f, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *client) do(method, path string, form url.Values) (int, string, http.Header) {
	c.f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, c.f.srv.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.c.Do(req)
	if err != nil {
		c.f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := csrfRE.FindStringSubmatch(string(b)); m != nil {
		c.csrf = m[1]
	}
	return resp.StatusCode, html.UnescapeString(string(b)), resp.Header
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (c *client) login(name string) {
	c.f.t.Helper()
	c.do("GET", "/login", nil)
	st, body, h := c.do("POST", "/login", url.Values{"csrf": {c.csrf}, "user": {name}, "password": {password}, "next": {"/"}})
	if st != http.StatusSeeOther || h.Get("Location") != "/" {
		c.f.t.Fatalf("login %s: %d %s", name, st, body)
	}
	c.do("GET", "/", nil) // the session's CSRF token
}

func (f *fixture) lastAudit() map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.audits) == 0 {
		return nil
	}
	return f.audits[len(f.audits)-1]
}

var pages = []string{"/", "/devices", "/devices/term-1", "/enrollment", "/firmware", "/reception", "/rooms", "/events", "/people", "/sinks"}

// TestAuthRequired: every page sends a visitor without a session to the
// login page, and every action is refused with a message.
func TestAuthRequired(t *testing.T) {
	f := newFixture(t)
	c := f.client("")
	for _, p := range pages {
		st, _, h := c.do("GET", p, nil)
		if st != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login?next=") {
			t.Errorf("GET %s without a session: %d → %q", p, st, h.Get("Location"))
		}
	}
	for _, p := range actions {
		st, body, _ := c.do("POST", p, url.Values{})
		if st != http.StatusUnauthorized || !strings.Contains(body, "log in again") {
			t.Errorf("POST %s without a session: %d", p, st)
		}
	}
}

var actions = []string{"/devices/term-1/command", "/devices/term-1/push", "/devices/term-1/rename", "/devices/term-1/retire",
	"/devices/term-1/replace", "/enrollment/approve", "/enrollment/reject", "/enrollment/window", "/enrollment/close",
	"/enrollment/import", "/firmware/rollout", "/reception/approve", "/people/import", "/people/remove", "/sinks/replay", "/logout"}

// TestPagesRender: each page renders for a viewer, in both languages,
// with the strict CSP and no inline script.
func TestPagesRender(t *testing.T) {
	f := newFixture(t)
	f.hub.Add(console.Event{ID: "e1", Type: "visitor.checked_in", Device: "kiosk-1", Received: time.Now(),
		Data: map[string]any{"invite_id": "inv-1", "name": "王芳", "host": "Li", "method": "qr"}})
	f.hub.Add(console.Event{ID: "e2", Type: "room.led", Device: "room-a", Received: time.Now(), Data: map[string]any{"state": "occupied"}})
	for _, lang := range []string{"en", "zh-CN"} {
		c := f.client(lang)
		c.login("vic")
		c.do("GET", "/lang/"+lang, nil)
		for _, p := range pages {
			st, body, h := c.do("GET", p, nil)
			if st != http.StatusOK {
				t.Errorf("%s %s: %d\n%s", lang, p, st, body)
				continue
			}
			if !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") || strings.Contains(body, "<script>") || strings.Contains(body, " onclick=") {
				t.Errorf("%s %s: CSP %q or inline script", lang, p, h.Get("Content-Security-Policy"))
			}
			if lang == "zh-CN" && !strings.Contains(body, "概览") {
				t.Errorf("%s: not in Chinese", p)
			}
		}
	}
}

// TestRoles: a viewer cannot pulse a door or approve a unit; an operator
// can pulse but not open an enrollment window; each refusal is audited.
func TestRoles(t *testing.T) {
	f := newFixture(t)
	v := f.client("")
	v.login("vic")
	st, body, _ := v.do("POST", "/devices/term-1/command", url.Values{"csrf": {v.csrf}, "name": {"door.pulse"}})
	if st != http.StatusForbidden || !strings.Contains(body, "your role (viewer) may not do this; it needs operator") {
		t.Fatalf("viewer pulse: %d %s", st, body)
	}
	if a := f.lastAudit(); a["outcome"] != "refused" || a["user"] != "vic" || a["action"] != "device.command" {
		t.Fatalf("audit of the refusal: %v", a)
	}
	if len(f.cmds.got) != 0 {
		t.Fatalf("a viewer's pulse reached the device: %v", f.cmds.got)
	}
	o := f.client("")
	o.login("otto")
	st, _, h := o.do("POST", "/devices/term-1/command", url.Values{"csrf": {o.csrf}, "name": {"door.pulse"}, "duration_ms": {"1500"}})
	if st != http.StatusSeeOther || h.Get("Location") != "/devices/term-1" || len(f.cmds.got) != 1 {
		t.Fatalf("operator pulse: %d %v", st, f.cmds.got)
	}
	if _, body, _ := o.do("GET", "/devices/term-1", nil); !strings.Contains(body, "door.pulse on term-1: ok") {
		t.Fatalf("no result on the page:\n%s", body)
	}
	if a := f.lastAudit(); a["outcome"] != "ok" || a["user"] != "otto" || a["target"] != "term-1 door.pulse" {
		t.Fatalf("audit of the pulse: %v", a)
	}
	if st, _, _ := o.do("POST", "/enrollment/window", url.Values{"csrf": {o.csrf}, "for": {"10m"}}); st != http.StatusForbidden {
		t.Fatalf("operator opened a window: %d", st)
	}
}

// TestCSRF: a form post without the session's token, with another
// session's, or from another origin is refused and changes nothing.
func TestCSRF(t *testing.T) {
	f := newFixture(t)
	a, b := f.client(""), f.client("")
	a.login("ada")
	b.login("ada")
	for name, form := range map[string]url.Values{
		"no token":    {"hardware_id": {"HW-T2"}, "id": {"term-2"}},
		"other token": {"csrf": {b.csrf}, "hardware_id": {"HW-T2"}, "id": {"term-2"}},
	} {
		st, body, _ := a.do("POST", "/enrollment/approve", form)
		if st != http.StatusForbidden || !strings.Contains(body, "not sent by the console") {
			t.Errorf("%s: %d", name, st)
		}
	}
	req, _ := http.NewRequest("POST", f.srv.URL+"/enrollment/approve", strings.NewReader(url.Values{"csrf": {a.csrf}, "hardware_id": {"HW-T2"}, "id": {"term-2"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://evil.example")
	if resp, err := a.c.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin post: %v %v", resp.StatusCode, err)
	}
	if d, _ := f.reg.ByHardwareID("HW-T2"); d.State != provisioning.StatePending {
		t.Fatalf("a forged post approved the unit: %v", d.State)
	}
}

// TestBadInput: bad values get a clear message on the page and a 4xx.
func TestBadInput(t *testing.T) {
	f := newFixture(t)
	c := f.client("")
	c.login("ada")
	for _, e := range []struct {
		path string
		form url.Values
		code int
		want string
	}{
		{"/enrollment/approve", url.Values{"hardware_id": {"HW-T2"}, "id": {"Bad Id!"}}, 400, "Failed:"},
		{"/enrollment/approve", url.Values{"hardware_id": {"HW-NOPE"}, "id": {"t-9"}}, 404, "HW-NOPE"},
		{"/enrollment/reject", url.Values{"hardware_id": {"HW-T1"}}, 409, "only a pending unit"},
		{"/enrollment/window", url.Values{"for": {"forever"}}, 400, `window length "forever"`},
		{"/enrollment/window", url.Values{"for": {"48h"}, "kind": {"terminal"}}, 400, "at most 24h"},
		{"/enrollment/import", url.Values{}, 400, "choose a manifest file"},
		{"/devices/term-1/command", url.Values{"name": {"door.pulse"}, "duration_ms": {"99999"}}, 400, "want 100 to 10000 ms"},
		{"/devices/term-1/command", url.Values{"name": {"rm.rf"}}, 400, `no such command "rm.rf"`},
		{"/devices/nope/rename", url.Values{"name": {"x"}}, 404, "nope"},
		{"/devices/term-1/retire", url.Values{"confirm": {"wrong"}}, 400, "type its id to confirm"},
		{"/devices/term-1/push", url.Values{}, 400, "has no configuration profile"},
		{"/firmware/rollout", url.Values{"version": {"2"}}, 400, "choose the firmware image"},
		{"/reception/approve", url.Values{"kiosk": {"k"}, "scan_id": {"1"}}, 400, "name and host"},
	} {
		e.form.Set("csrf", c.csrf)
		st, body, _ := c.do("POST", e.path, e.form)
		if st != e.code || !strings.Contains(body, e.want) {
			t.Errorf("POST %s %v: %d, want %d with %q\n%s", e.path, e.form, st, e.code, e.want, errLine(body))
		}
	}
	if st, body, _ := c.do("GET", "/devices/nope", nil); st != 404 || !strings.Contains(body, `"nope" is neither a device id nor a hardware id`) {
		t.Errorf("GET /devices/nope: %d %s", st, errLine(body))
	}
}

func errLine(body string) string {
	if m := regexp.MustCompile(`<p class="error"[^>]*>([^<]*)`).FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return "(no error shown)"
}

// TestLoginLockout: five wrong passwords lock the name out, even the right
// password then; the lock-out is counted; the session cookie is strict.
func TestLoginLockout(t *testing.T) {
	f := newFixture(t)
	c := f.client("")
	for i := 0; i < 5; i++ {
		c.do("GET", "/login", nil)
		st, body, _ := c.do("POST", "/login", url.Values{"csrf": {c.csrf}, "user": {"ada"}, "password": {"wrong password"}})
		if st != http.StatusUnauthorized || !strings.Contains(body, "Wrong user name or password") {
			t.Fatalf("attempt %d: %d", i, st)
		}
	}
	c.do("GET", "/login", nil)
	st, body, _ := c.do("POST", "/login", url.Values{"csrf": {c.csrf}, "user": {"ada"}, "password": {password}})
	if st != http.StatusTooManyRequests || !strings.Contains(body, "Too many failed logins") {
		t.Fatalf("locked out: %d", st)
	}
	f.mu.Lock()
	n := f.lockouts
	f.mu.Unlock()
	if n != 1 {
		t.Fatalf("lockouts counted: %d", n)
	}
	// Another gateway's console: this address is locked out here.
	d := newFixture(t).client("")
	d.do("GET", "/login", nil)
	req, _ := http.NewRequest("POST", d.f.srv.URL+"/login", strings.NewReader(url.Values{"csrf": {d.csrf}, "user": {"vic"}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	u, _ := url.Parse(d.f.srv.URL)
	for _, ck := range d.c.Jar.Cookies(u) {
		req.AddCookie(ck)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var set string
	for _, v := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(v, "og_session=") {
			set = v
		}
	}
	if !strings.Contains(set, "HttpOnly") || !strings.Contains(set, "SameSite=Strict") {
		t.Fatalf("session cookie %q", set)
	}
}
