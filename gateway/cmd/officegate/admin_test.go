package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/provisioning"
	"github.com/officegate/officegate/provisioning/admin"
	"github.com/officegate/officegate/provisioning/admin/admintest"
	"github.com/officegate/officegate/provisioning/rollout"
	"github.com/officegate/officegate/provisioning/rollout/rollouttest"
)

var t0 = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

// adminDaemon serves an admin service on a temp socket until the test ends: a
// registry with term-1 (active, online), kiosk-1 (active, never seen) and
// TERM-0002 (pending).
func adminDaemon(t *testing.T) (socket string, reg *provisioning.Registry) {
	t.Helper()
	return adminDaemonWith(t, nil)
}

// adminDaemonWith is adminDaemon with the service's Deps changed by mod.
func adminDaemonWith(t *testing.T, mod func(*admin.Deps)) (socket string, reg *provisioning.Registry) {
	t.Helper()
	now := func() time.Time { return t0 }
	reg, err := provisioning.OpenWith(t.TempDir(), provisioning.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		hw   string
		kind msg.Kind
	}{{"TERM-0001", msg.KindAttendance}, {"KIOSK-0001", msg.KindKiosk}, {"TERM-0002", msg.KindAttendance}} {
		if _, err := reg.Pending(p.hw, p.kind, "OG-EMU-1", "", "1.0.0"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := reg.Approve("TERM-0001", "term-1", "Lobby terminal", "lobby", "lobby"); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Approve("KIOSK-0001", "kiosk-1", "", "reception", ""); err != nil {
		t.Fatal(err)
	}
	links := &admintest.Links{}
	links.SetStatus("/dev/officegate/term1", link.Status{Online: true, HardwareID: "TERM-0001", Firmware: "1.2.0", LastSeen: t0.Add(-3 * time.Second)})
	deps := admin.Deps{Registry: reg, Links: links, Now: now, Profiles: map[string][]byte{"lobby": {0xa0}}}
	if mod != nil {
		mod(&deps)
	}
	svc, err := admin.New(deps)
	if err != nil {
		t.Fatal(err)
	}
	socket = filepath.Join(t.TempDir(), "admin.sock")
	ln, err := admin.Listen(socket, os.Getgid())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.ServeListener(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return socket, reg
}

// cli runs the binary's entry function in-process and returns its output
// and the exit code main would give.
func cli(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	switch {
	case err == nil:
	case errors.Is(err, errUsage):
		code = 2
	default:
		code = 1
		errb.WriteString("officegate: " + err.Error() + "\n") // as main prints it
	}
	return out.String(), errb.String(), code
}

func TestDevicesList(t *testing.T) {
	sock, _ := adminDaemon(t)
	out, errs, code := cli(t, "devices", "list", "--socket", sock)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("want a header and 3 rows:\n%s", out)
	}
	header := lines[0]
	cols := []string{"DEVICE", "NAME", "KIND", "ROOM", "STATE", "ONLINE", "FIRMWARE", "LAST SEEN", "HARDWARE ID"}
	for _, c := range cols {
		if !strings.Contains(header, c) {
			t.Fatalf("header lacks %s: %q", c, header)
		}
	}
	// Aligned: every row's cell starts where its column's title does.
	want := [][]string{
		{"kiosk-1", "kiosk-1", "kiosk", "reception", "active", "no", "1.0.0", "never", "KIOSK-0001"},
		{"term-1", "Lobby terminal", "attendance", "lobby", "active", "yes", "1.2.0", "3s ago", "TERM-0001"},
		{"-", "-", "attendance", "-", "pending", "no", "1.0.0", "never", "TERM-0002"},
	}
	for i, row := range want {
		line := lines[i+1]
		for j, cell := range row {
			at := strings.Index(header, cols[j])
			if !strings.HasPrefix(line[at:], cell) {
				t.Errorf("row %d column %s: %q, want %q\n%s", i, cols[j], line[at:], cell, out)
			}
		}
	}

	out, _, code = cli(t, "devices", "list", "--json", "--socket", sock)
	var l admin.DeviceList
	if err := json.Unmarshal([]byte(out), &l); code != 0 || err != nil || len(l.Devices) != 3 || !l.Devices[1].Online {
		t.Fatalf("--json: exit %d, %v:\n%s", code, err, out)
	}
}

func TestDevicesCommands(t *testing.T) {
	sock, reg := adminDaemon(t)
	out, errs, code := cli(t, "devices", "approve", "TERM-0002", "--id", "term-2", "--room", "floor 2", "--socket", sock)
	if code != 0 || !strings.Contains(out, "approved TERM-0002 as term-2") {
		t.Fatalf("approve: exit %d\n%s%s", code, out, errs)
	}
	if d, err := reg.Get("term-2"); err != nil || d.State != provisioning.StateActive || d.Room != "floor 2" {
		t.Fatalf("registry after approve: %+v %v", d, err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"devices", "show", "term-2"}, "state:        active (no link key yet)"},
		{[]string{"devices", "rename", "term-2", "Floor two"}, `term-2 is now named "Floor two"`},
		{[]string{"devices", "disable", "term-2"}, "term-2 (TERM-0002) is disabled"},
		{[]string{"devices", "enable", "term-2"}, "term-2 (TERM-0002) is active"},
		{[]string{"devices", "replace", "term-2", "TERM-0003"}, "term-2 is now the unit TERM-0003"},
		{[]string{"devices", "retire", "term-2"}, "term-2 (TERM-0003) is retired"},
		{[]string{"enroll", "--for", "10m", "--kind", "terminal", "--hw-pattern", "TERM-*", "--room", "floor 3"}, "enrollment window open until"},
		{[]string{"enroll", "status"}, "kind attendance, hardware id TERM-* → name {kind}-{n}, room \"floor 3\""},
		{[]string{"enroll", "close"}, "enrollment window closed"},
		{[]string{"config", "push", "lobby"}, "1 device(s)\n  term-1 "},
	} {
		out, errs, code := cli(t, append(c.args, "--socket", sock)...)
		if code != 0 || !strings.Contains(out, c.want) {
			t.Errorf("%v: exit %d, want %q in:\n%s%s", c.args, code, c.want, out, errs)
		}
	}
	// Failures: the daemon's reason, exit 1; bad usage, exit 2.
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"devices", "show", "nope"}, 1, `"nope" is neither a device id nor a hardware id`},
		{[]string{"devices", "approve", "TERM-0001", "--id", "x"}, 1, "is active, not pending"},
		{[]string{"config", "push", "nope"}, 1, "no such profile"},
		{[]string{"enroll", "--for", "48h"}, 1, "at most 24h"},
		{[]string{"devices", "approve", "TERM-0009"}, 2, "--id is required"},
		{[]string{"devices", "rename", "term-1"}, 2, "want ID NAME"},
		{[]string{"devices", "fly"}, 2, `unknown command "devices fly"`},
		{[]string{"devices", "list", "--colour"}, 2, "flag provided but not defined: -colour"},
		{[]string{"enroll", "--kind", "kiosk"}, 2, "--for is required"},
	} {
		_, errs, code := cli(t, append(c.args, "--socket", sock)...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, want %d and %q in:\n%s", c.args, code, c.code, c.want, errs)
		}
	}
}

func TestDevicesImport(t *testing.T) {
	sock, reg := adminDaemon(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "floor2.csv")
	os.WriteFile(bad, []byte(provisioning.ManifestHeader+`
TERM-0002,term-2,attendance,floor 2,
TERM-0003,Bad Name!,attendance,,
TERM-0004,term-4,toaster,,
TERM-0005,term-2,attendance,,
`), 0o600)
	_, errs, code := cli(t, "devices", "import", bad, "--socket", sock)
	if code != 1 {
		t.Fatalf("bad manifest: exit %d\n%s", code, errs)
	}
	for _, l := range []string{":3: ", ":4: ", ":5: "} {
		if !strings.Contains(errs, bad+l) {
			t.Errorf("line %s not named:\n%s", l, errs)
		}
	}
	if !strings.Contains(errs, "nothing applied") {
		t.Errorf("no summary:\n%s", errs)
	}
	if d, _ := reg.ByHardwareID("TERM-0002"); d.State != provisioning.StatePending {
		t.Fatalf("a rejected manifest applied something: %+v", d)
	}
	good := filepath.Join(dir, "ok.csv")
	os.WriteFile(good, []byte(provisioning.ManifestHeader+"\nTERM-0002,term-2,attendance,floor 2,\nTERM-01*,term-10,attendance,,\n"), 0o600)
	out, errs, code := cli(t, "devices", "import", good, "--socket", sock)
	if code != 0 || !strings.Contains(out, "1 approved, 1 waiting for their device") {
		t.Fatalf("good manifest: exit %d\n%s%s", code, out, errs)
	}
	if _, _, code := cli(t, "devices", "import", filepath.Join(dir, "missing.csv"), "--socket", sock); code != 1 {
		t.Fatalf("missing file: exit %d", code)
	}
}

func TestSocketFlagAnywhere(t *testing.T) {
	sock, _ := adminDaemon(t)
	for _, args := range [][]string{
		{"--socket", sock, "devices", "list"},
		{"devices", "--socket=" + sock, "list"},
		{"devices", "list", "--socket", sock},
		{"devices", "show", "--socket", sock, "term-1"},
	} {
		if out, errs, code := cli(t, args...); code != 0 || !strings.Contains(out, "term-1") {
			t.Errorf("%v: exit %d\n%s%s", args, code, out, errs)
		}
	}
	if _, errs, code := cli(t, "devices", "--socket"); code != 2 || !strings.Contains(errs, "--socket needs a path") {
		t.Errorf("--socket without a path: exit %d\n%s", code, errs)
	}
}

func TestDaemonNotRunning(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "admin.sock")
	_, errs, code := cli(t, "devices", "list", "--socket", sock)
	if code != 1 || !strings.Contains(errs, "the officegate daemon is not running (no socket at "+sock+")") || !strings.Contains(errs, "systemctl start officegate") {
		t.Fatalf("exit %d:\n%s", code, errs)
	}
}

func TestFirmwareRolloutCLI(t *testing.T) {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	devs := map[string]*rollouttest.Device{"term-1": rollouttest.New("1.0.0"), "kiosk-1": rollouttest.New("1.0.0")}
	devs["kiosk-1"].FailTestBoot(true)
	o, err := rollout.New(rollout.Config{Dir: t.TempDir(), PublicKey: key.Public().(ed25519.PublicKey),
		Fleet:     rollout.FleetFunc(func(id string) (rollout.Device, error) { return devs[id], nil }),
		Probation: time.Millisecond, Poll: time.Millisecond, BootTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	fwDir := t.TempDir()
	sock, _ := adminDaemonWith(t, func(d *admin.Deps) { d.Rollouts, d.Images = o, rollout.Images{Dir: fwDir} })
	img := rollouttest.Image("2.0.0", 3000, func(sha []byte) []byte { return ed25519.Sign(key, msg.FirmwareSigningInput(sha)) })
	os.WriteFile(filepath.Join(fwDir, "fw.bin"), img.Data, 0o600)
	os.WriteFile(filepath.Join(fwDir, "fw.bin"+rollout.SigSuffix), img.Signature, 0o600)
	path := "fw.bin" // a name in the daemon's firmware directory, whatever this shell's directory

	out, errs, code := cli(t, "firmware", "rollout", path, "--version", "2.0.0", "--devices", "term-1", "--wait", "--socket", sock)
	if code != 0 || !strings.Contains(out, "rollout ") || !strings.Contains(out, "[####################] 1/1 done · term-1 confirmed") {
		t.Fatalf("rollout: exit %d\n%s%s", code, out, errs)
	}
	// A canary that fails its test boot halts the rollout: reported, exit 1.
	// An absolute path under the firmware directory names the same file.
	out, errs, code = cli(t, "firmware", "rollout", filepath.Join(fwDir, path), "--version", "2.0.0", "--devices", "kiosk-1,term-1", "--wait", "--socket", sock)
	if code != 1 || !strings.Contains(out, "kiosk-1 rolled_back") || !strings.Contains(errs, "halted") {
		t.Fatalf("rolled back canary: exit %d\n%s%s", code, out, errs)
	}
	out, errs, code = cli(t, "firmware", "status", "--socket", sock)
	if code != 0 || strings.Count(out, "\n") != 2 {
		t.Fatalf("status: exit %d\n%s%s", code, out, errs)
	}
	if _, errs, code := cli(t, "firmware", "rollout", path, "--socket", sock); code != 2 || !strings.Contains(errs, "--version and --devices are required") {
		t.Fatalf("usage: exit %d\n%s", code, errs)
	}
}
