package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/gateway/console"
	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/gateway/sinks/webhook/webhooktest"
	"github.com/officegate/officegate/gateway/uplink"
)

// consoleSession logs user in to the console at base (plain HTTP) and
// returns a GET of a page's text and the session's CSRF token.
func consoleSession(t *testing.T, base, user, password string) (get func(path string) string, csrf string, c *http.Client) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c = &http.Client{Jar: jar, Timeout: time.Minute} // a command waits for its device (admin.CommandWait)
	get = func(path string) string {
		t.Helper()
		resp, err := c.Get(base + strings.TrimPrefix(path, "/"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	tok := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	m := tok.FindStringSubmatch(get("/login"))
	if m == nil {
		t.Fatal("no login form")
	}
	resp, err := c.PostForm(base+"login", url.Values{"csrf": {m[1]}, "user": {user}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	m = tok.FindStringSubmatch(get("/devices"))
	if m == nil {
		t.Fatalf("%s is not logged in", user)
	}
	return get, m[1], c
}

// The overview shows the watchdog's verdict as the gateway's watchdog
// reports it (a stall, with what stalled, not just "on"), and each sink's
// backlog with its oldest undelivered record's age and its failure class.
func TestConsoleOverviewHealth(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	b := mqtttest.Start(t, nil)
	hook := webhooktest.New(nil, false)
	defer hook.Close()
	hook.Down(http.StatusServiceUnavailable, "")
	dir := t.TempDir()
	devs, _ := startTerminals(t, dir, []string{"t-1"})
	users := filepath.Join(dir, "users")
	if err := console.AddUser(users, "vic", console.Viewer, "viewer password"); err != nil {
		t.Fatal(err)
	}
	verdicts := make(chan daemon.WatchdogVerdict)
	urls := make(chan string, 1)
	runGateway(t, daemon.Options{
		Gateway: "gw-o", StateDir: filepath.Join(dir, "gw"),
		Uplink:  uplink.Options{Broker: b.URL, ClientID: "officegate-gw-o"},
		Devices: []daemon.Device{{ID: "t-1", Kind: "terminal", Port: devs[0].Path, Baud: 115200}},
		Sinks: []daemon.Sink{{Name: "hr", Kind: "webhook", Streams: []string{"attendance"},
			Settings: map[string]string{"url": hook.URL}}},
		Provisioning: &daemon.Provisioning{},
		Console:      &daemon.Console{Listen: "127.0.0.1:0", UsersFile: users, OnURL: func(u string) { urls <- u }},
		// The test plays the service manager's watchdog: it reports the
		// verdicts the test hands it, as the binary's reports its checks.
		Watchdog: func(ctx context.Context, g *daemon.Gateway) {
			for {
				select {
				case <-ctx.Done():
					return
				case v := <-verdicts:
					g.SetWatchdog(v)
				}
			}
		},
		Log: zerolog.Nop(),
	})
	get, _, _ := consoleSession(t, <-urls, "vic", "viewer password")
	watchdog := regexp.MustCompile(`(?s)<td id="watchdog">(.*?)</td>`)
	cell := func() string {
		m := watchdog.FindStringSubmatch(get("/"))
		if m == nil {
			t.Fatal("no watchdog on the overview")
		}
		return m[1]
	}
	if c := cell(); !strings.Contains(c, "off: not started by a service manager") {
		t.Fatalf("watchdog before any check: %q", c)
	}
	verdicts <- daemon.WatchdogVerdict{Every: 15 * time.Second, At: time.Now(), Err: errors.New("journal: a commit pending for 12s")}
	waitUntil(t, 10*time.Second, "the stall on the overview", func() bool {
		c := cell()
		return strings.Contains(c, "stalled: pings withheld") && strings.Contains(c, "journal: a commit pending for 12s")
	})
	verdicts <- daemon.WatchdogVerdict{Every: 15 * time.Second, At: time.Now()}
	waitUntil(t, 10*time.Second, "pinging again on the overview", func() bool {
		return strings.Contains(cell(), "pinging: the pipeline makes progress")
	})

	for i := range 2 {
		if _, err := devs[0].Emu.Emit("punch", map[string]any{"user": fmt.Sprintf("%05d", i), "state": uint64(0)}); err != nil {
			t.Fatal(err)
		}
	}
	sink := regexp.MustCompile(`(?s)<td data-sink="hr">(.*?)</td>`)
	waitUntil(t, 30*time.Second, "the sink's backlog, oldest age and failure on the overview", func() bool {
		m := sink.FindStringSubmatch(get("/"))
		if m == nil {
			t.Fatal("no sink hr on the overview")
		}
		last := m[1]
		return strings.Contains(last, "2 records, oldest") && strings.Contains(last, " ago") && strings.Contains(last, "failing: status")
	})
}
