package daemon_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/gateway/console"
	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/gateway/uplink"
)

// TestConsoleStage: with [console] the gateway serves the console over
// HTTPS with a self-signed certificate it made in its state directory and
// keeps across restarts (the fingerprint a browser pinned stays); a login
// and a refused action reach MQTT as console.audit events that keep the
// contract.
func TestConsoleStage(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	b := mqtttest.Start(t, nil)
	dir := t.TempDir()
	users := filepath.Join(dir, "users")
	if err := console.AddUser(users, "vic", console.Viewer, "viewer password"); err != nil {
		t.Fatal(err)
	}
	audits := newCollector(t, b.URL, "officegate/gw-c/devices/console/events/console.audit")
	var fingerprints []string
	for run := 0; run < 2; run++ {
		urls := make(chan string, 1)
		o := daemon.Options{
			Gateway: "gw-c", StateDir: filepath.Join(dir, "gw"),
			Uplink:       uplink.Options{Broker: b.URL, ClientID: "officegate-gw-c"},
			Provisioning: &daemon.Provisioning{},
			Console:      &daemon.Console{Listen: "127.0.0.1:0", TLS: true, UsersFile: users, OnURL: func(u string) { urls <- u }},
			Log:          zerolog.Nop(),
		}
		stop := runGatewayStoppable(t, o)
		base := <-urls
		if !strings.HasPrefix(base, "https://127.0.0.1:") {
			t.Fatalf("console at %s", base)
		}
		var seen [32]byte
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
			InsecureSkipVerify: true, // self-signed: the test pins the fingerprint below instead
			VerifyConnection: func(cs tls.ConnectionState) error {
				seen = sha256.Sum256(cs.PeerCertificates[0].Raw)
				return nil
			}}}}
		get := func(path string) string {
			resp, err := c.Get(base + strings.TrimPrefix(path, "/"))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return string(body)
		}
		post := func(path string, form url.Values) int {
			resp, err := c.PostForm(base+strings.TrimPrefix(path, "/"), form)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		tok := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
		m := tok.FindStringSubmatch(get("/login"))
		if m == nil {
			t.Fatal("no login form")
		}
		if st := post("/login", url.Values{"csrf": {m[1]}, "user": {"vic"}, "password": {"viewer password"}}); st != http.StatusOK {
			t.Fatalf("login: %d", st)
		}
		page := get("/devices")
		if !strings.Contains(page, "vic") {
			t.Fatalf("not logged in:\n%s", page)
		}
		csrf := tok.FindStringSubmatch(page)[1]
		if st := post("/enrollment/approve", url.Values{"csrf": {csrf}, "hardware_id": {"HW-X"}, "id": {"x"}}); st != http.StatusForbidden {
			t.Fatalf("a viewer's approve: %d", st)
		}
		fingerprints = append(fingerprints, fmt.Sprintf("%x", seen))
		stop()
	}
	if fingerprints[0] != fingerprints[1] {
		t.Fatalf("the self-signed certificate changed across a restart: %s, %s", fingerprints[0], fingerprints[1])
	}
	if _, err := os.Stat(filepath.Join(dir, "gw", "console-key.pem")); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 60*time.Second, "four audit events", func() bool {
		audits.mu.Lock()
		defer audits.mu.Unlock()
		return len(audits.msgs) >= 4
	})
	evs := eventsOf(t, audits, "console") // each checked against the contract
	var got []string
	seen := map[string]bool{}
	for _, e := range evs {
		if seen[e.ID] {
			continue // at least once across the restart: consumers deduplicate by id
		}
		seen[e.ID] = true
		got = append(got, fmt.Sprintf("%v %v %v", e.Data["action"], e.Data["outcome"], e.Data["user"]))
	}
	want := "login ok vic|device.approve refused vic|login ok vic|device.approve refused vic"
	if strings.Join(got, "|") != want {
		t.Fatalf("audit events %q, want %q", got, want)
	}
}

// runGatewayStoppable is runGateway with a stop the test calls itself.
func runGatewayStoppable(t *testing.T, o daemon.Options) (stop func()) {
	t.Helper()
	ready := make(chan struct{})
	o.Ready = func(*daemon.Gateway) { close(ready) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- daemon.Run(ctx, o) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("gateway did not start: %v", err)
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}
