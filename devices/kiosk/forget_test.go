package kiosk_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/devices/kiosk"
)

// Forgetting a host removes their invites and today's visits from the
// cache and from the state file on disk, and nothing else.
func TestForgetHost(t *testing.T) {
	r := newRig(t, rigOpts{noPrinter: true}).start()
	r.invite("inv-1", "TOKEN-A", "Alice") // host "Li Na"
	r.mustOK("invite.upsert", map[string]any{"invite_id": "inv-2", "token": "TOKEN-B", "name": "Bob", "host": "E1002",
		"valid_from": t0.Add(-time.Hour).Format(time.RFC3339), "valid_until": t0.Add(8 * time.Hour).Format(time.RFC3339)})
	r.mustOK("invite.upsert", map[string]any{"invite_id": "inv-3", "token": "TOKEN-C", "name": "Carol", "host": "Zhou",
		"valid_from": t0.Add(-time.Hour).Format(time.RFC3339), "valid_until": t0.Add(8 * time.Hour).Format(time.RFC3339)})
	r.scan("TOKEN-A")
	r.sink.wait(t, kiosk.TypeCheckedIn, 1)

	inv, vis, err := r.k.ForgetHost("E1002", "Li Na")
	if err != nil || inv != 2 || vis != 1 {
		t.Fatalf("ForgetHost: %d invites, %d visits, %v; want 2, 1", inv, vis, err)
	}
	state, err := os.ReadFile(filepath.Join(r.dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"Li Na", "E1002", "Alice", "Bob"} {
		if strings.Contains(string(state), gone) {
			t.Fatalf("state file still names %q:\n%s", gone, state)
		}
	}
	if !strings.Contains(string(state), "Carol") {
		t.Fatalf("state file lost another host's invite:\n%s", state)
	}
	r.scan("TOKEN-B")
	if got := r.sink.wait(t, kiosk.TypeScanRejected, 1).Data["reason"]; got != "unknown" {
		t.Fatalf("a forgotten host's invite: %v", got)
	}
	if inv, vis, err := r.k.ForgetHost("E1002"); err != nil || inv+vis != 0 {
		t.Fatalf("second ForgetHost: %d %d %v", inv, vis, err)
	}
}
