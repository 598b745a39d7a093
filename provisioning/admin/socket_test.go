package admin_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/provisioning"
	"github.com/officegate/officegate/provisioning/admin"
)

// serve serves f's service on a socket in a temp dir until the test ends.
func serve(t *testing.T, svc *admin.Service) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "admin.sock")
	ln, err := admin.Listen(path, os.Getgid())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.ServeListener(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("socket file left behind: %v", err)
		}
	})
	return path
}

func TestSocketPermissions(t *testing.T) {
	f := newFixture(t)
	path := serve(t, f.svc)
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket mode %v, want socket 0660", fi.Mode())
	}
	if gid := fi.Sys().(*syscall.Stat_t).Gid; int(gid) != os.Getgid() {
		t.Fatalf("socket group %d, want %d", gid, os.Getgid())
	}
	// A second daemon on the same path is refused, not allowed to steal it.
	if _, err := admin.Listen(path, -1); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Fatalf("second listener: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want the socket only", len(entries))
	}
}

// TestSocketModeUmask: the socket is 0660, owned by the configured group or
// else the process's, under every umask (0 used to leave it 0777, open to
// every local user; the unit's 027 left it 0750, closed to the group). The
// umask is process-wide: this test must not run in parallel with others.
func TestSocketModeUmask(t *testing.T) {
	groups := []int{-1}
	if os.Geteuid() == 0 {
		groups = append(groups, 4242) // root may give it any group
	} else if gs, _ := os.Getgroups(); len(gs) > 0 {
		for _, g := range gs {
			if g != os.Getegid() {
				groups = append(groups, g)
				break
			}
		}
	}
	for _, mask := range []int{0, 0o022, 0o027} {
		for _, gid := range groups {
			t.Run(fmt.Sprintf("umask %03o gid %d", mask, gid), func(t *testing.T) {
				old := syscall.Umask(mask)
				defer syscall.Umask(old)
				dir := t.TempDir()
				path := filepath.Join(dir, "admin.sock")
				ln, err := admin.Listen(path, gid)
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				fi, err := os.Lstat(path)
				if err != nil {
					t.Fatal(err)
				}
				wantGID := gid
				if gid < 0 {
					wantGID = os.Getegid()
				}
				if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o660 {
					t.Errorf("socket mode %v, want socket 0660", fi.Mode())
				}
				if g := int(fi.Sys().(*syscall.Stat_t).Gid); g != wantGID {
					t.Errorf("socket group %d, want %d", g, wantGID)
				}
				if entries, _ := os.ReadDir(dir); len(entries) != 1 {
					t.Errorf("directory holds %d entries, want the socket only", len(entries))
				}
				c, err := net.Dial("unix", path)
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				c.Close()
			})
		}
	}
}

func TestStaleSocket(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "admin.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close() // a daemon killed with its socket file left behind
	if _, err := admin.NewClient(path).List(context.Background()); !errors.Is(err, admin.ErrNotRunning) || !strings.Contains(err.Error(), "nothing listens") {
		t.Fatalf("client on a stale socket: %v", err)
	}
	ln2, err := admin.Listen(path, -1)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	ln2.Close()
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("close left the socket file: %v", err)
	}
	if _, err := admin.NewClient(path).List(context.Background()); !errors.Is(err, admin.ErrNotRunning) || !strings.Contains(err.Error(), "no socket at") {
		t.Fatalf("client without a socket: %v", err)
	}
	// A file that is not a socket is never removed.
	os.WriteFile(path, []byte("precious"), 0o600)
	if _, err := admin.Listen(path, -1); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("regular file: %v", err)
	}
}

func TestSocketRoutes(t *testing.T) {
	f := newFixture(t)
	g, _ := emulated(t, "TERM-0001")
	f.links.SetLink("term-1", "/dev/pts/9", g)
	// A hardware id with a slash and a space travels in the path.
	const oddHW = "ACME/T 7"
	if _, err := f.reg.Pending(oddHW, msg.KindAttendance, "m", "", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	c := admin.NewClient(serve(t, f.svc))
	ctx := context.Background()

	l, err := c.List(ctx)
	if err != nil || len(l.Devices) != 4 {
		t.Fatalf("list: %+v %v", l, err)
	}
	if d, err := c.Show(ctx, "term-1"); err != nil || !d.Online || d.Port != "/dev/pts/9" {
		t.Fatalf("show: %+v %v", d, err)
	}
	if d, err := c.Show(ctx, oddHW); err != nil || d.HardwareID != oddHW {
		t.Fatalf("show by odd hardware id: %+v %v", d, err)
	}
	if d, err := c.Approve(ctx, oddHW, admin.ApproveRequest{ID: "odd-7", Room: "r"}); err != nil || d.DeviceID != "odd-7" {
		t.Fatalf("approve: %+v %v", d, err)
	}
	if d, err := c.Rename(ctx, "odd-7", "Odd one"); err != nil || d.Name != "Odd one" {
		t.Fatalf("rename: %+v %v", d, err)
	}
	for _, a := range []struct{ action, state string }{{"disable", "disabled"}, {"enable", "active"}} {
		if d, err := c.Action(ctx, "odd-7", a.action); err != nil || d.State != a.state {
			t.Fatalf("%s: %+v %v", a.action, d, err)
		}
	}
	if d, err := c.Replace(ctx, "odd-7", "ACME/T 8"); err != nil || d.HardwareID != "ACME/T 8" || d.DeviceID != "odd-7" {
		t.Fatalf("replace: %+v %v", d, err)
	}
	if d, err := c.Action(ctx, "odd-7", "retire"); err != nil || d.State != "retired" {
		t.Fatalf("retire: %+v %v", d, err)
	}
	res, err := c.Import(ctx, []byte(badManifest))
	var ae *admin.Error
	if !errors.Is(err, provisioning.ErrManifest) || !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || len(ae.Problems) < 3 {
		t.Fatalf("bad manifest: %+v %v", res, err)
	}
	if res, err := c.Import(ctx, []byte(provisioning.ManifestHeader+"\nTERM-0002,term-2,attendance,,\n")); err != nil || len(res.Approved) != 1 {
		t.Fatalf("import: %+v %v", res, err)
	}
	w, err := c.Enroll(ctx, 10*time.Minute, []admin.Rule{{Kind: "kiosk", Name: "kiosk-{n}"}})
	if err != nil || !w.Until.Equal(f.clk.Now().Add(10*time.Minute)) {
		t.Fatalf("enroll: %+v %v", w, err)
	}
	if w, err := c.Enrollment(ctx); err != nil || len(w.Rules) != 1 {
		t.Fatalf("enrollment: %+v %v", w, err)
	}
	if err := c.EnrollClose(ctx); err != nil {
		t.Fatal(err)
	}
	if w, err := c.Enrollment(ctx); err != nil || !w.Until.IsZero() {
		t.Fatalf("enrollment after close: %+v %v", w, err)
	}
	if p, err := c.ConfigPush(ctx, "lobby"); err != nil || len(p.Devices) != 1 || p.Devices[0].Outcome != admin.PushApplied {
		t.Fatalf("push: %+v %v", p, err)
	}

	// Errors: status and sentinel by code.
	if _, err := f.reg.Pending("ACME/T 9", msg.KindAttendance, "m", "", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	for _, e := range []struct {
		name   string
		err    error
		status int
		want   error
	}{
		{"show unknown", second(c.Show(ctx, "nope")), 404, provisioning.ErrNotFound},
		{"approve active", second(c.Approve(ctx, "TERM-0001", admin.ApproveRequest{ID: "x"})), 409, provisioning.ErrState},
		{"rename to a taken name", second(c.Rename(ctx, "kiosk-1", "Lobby terminal")), 409, provisioning.ErrConflict},
		{"bad id", second(c.Approve(ctx, "ACME/T 9", admin.ApproveRequest{ID: "Bad!"})), 400, provisioning.ErrInvalid},
		{"window too long", second(c.Enroll(ctx, 25*time.Hour, []admin.Rule{{}})), 400, provisioning.ErrInvalid},
		{"unknown profile", second(c.ConfigPush(ctx, "nope")), 404, admin.ErrNoProfile},
		{"unknown action", second(c.Action(ctx, "term-1", "explode")), 404, nil},
	} {
		var ae *admin.Error
		if !errors.As(e.err, &ae) || ae.Status != e.status || (e.want != nil && !errors.Is(e.err, e.want)) {
			t.Errorf("%s: %v (%+v), want %d %v", e.name, e.err, ae, e.status, e.want)
		}
	}
}

// TestSocketRefusesUnknownFields: a misspelt field must not be ignored.
func TestSocketRefusesUnknownFields(t *testing.T) {
	f := newFixture(t)
	path := serve(t, f.svc)
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
	resp, err := hc.Post("http://x/v1/devices/TERM-0002/approve", "application/json", strings.NewReader(`{"id":"term-2","rom":"r"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 512)
	n, _ := resp.Body.Read(buf)
	b.Write(buf[:n])
	if resp.StatusCode != 400 || !strings.Contains(b.String(), `"invalid"`) || !strings.Contains(b.String(), "rom") {
		t.Fatalf("unknown field: %d %s", resp.StatusCode, b.String())
	}
	if d, _ := f.svc.Show("TERM-0002"); d.State != "pending" {
		t.Fatalf("applied despite the unknown field: %+v", d)
	}
}

// TestClientReplyLimit: an answer longer than admin.MaxReply is an error
// saying so, whatever it holds, never read cut short: not a list padded past
// the bound (which cut is broken JSON), not a valid answer followed by
// padding (which cut would pass as complete).
func TestClientReplyLimit(t *testing.T) {
	const list = `{"time":"2026-12-06T09:00:00Z","devices":[]}`
	dev := `{"hardware_id":"` + strings.Repeat("a", 1000) + `","state":"pending"}`
	devs := strings.Repeat(dev+",", admin.MaxReply/len(dev)+1)
	long := `{"time":"2026-12-06T09:00:00Z","devices":[` + devs + dev + `]}`
	for _, tc := range []struct {
		name, body string
		status     int
	}{
		{"long list", long, http.StatusOK},
		{"padded", list + strings.Repeat(" ", admin.MaxReply), http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "admin.sock")
			ln, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			})}
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ln) }()
			t.Cleanup(func() {
				srv.Close()
				if err := <-done; !errors.Is(err, http.ErrServerClosed) {
					t.Errorf("serve: %v", err)
				}
			})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			got, err := admin.NewClient(path).List(ctx)
			want := fmt.Sprintf("exceeded %d bytes", admin.MaxReply)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("List of an answer over %d bytes: %d devices, error %.300v; want an error saying it %s", admin.MaxReply, len(got.Devices), err, want)
			}
		})
	}
}
