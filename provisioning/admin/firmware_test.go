package admin_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/provisioning"
	"github.com/officegate/officegate/provisioning/admin"
	"github.com/officegate/officegate/provisioning/rollout"
	"github.com/officegate/officegate/provisioning/rollout/rollouttest"
)

var fwKey = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))

// withFirmware gives f's service an orchestrator over fake devices term-1
// and kiosk-1 and a firmware directory, and writes a signed image (and a
// badly signed one) there; good and bad are their names in it.
func withFirmware(t *testing.T, f *fixture) (o *rollout.Orchestrator, good, bad string) {
	o, good, bad, _ = withFirmwareDir(t, f)
	return o, good, bad
}

func withFirmwareDir(t *testing.T, f *fixture) (o *rollout.Orchestrator, good, bad, dir string) {
	t.Helper()
	devs := map[string]*rollouttest.Device{"term-1": rollouttest.New("1.0.0"), "kiosk-1": rollouttest.New("1.0.0")}
	var err error
	o, err = rollout.New(rollout.Config{Dir: t.TempDir(), PublicKey: fwKey.Public().(ed25519.PublicKey),
		Fleet: rollout.FleetFunc(func(id string) (rollout.Device, error) {
			if d, ok := devs[id]; ok {
				return d, nil
			}
			return nil, fmt.Errorf("no device %q", id)
		}),
		DeferRetry: time.Millisecond, Probation: time.Millisecond, Poll: time.Millisecond, BootTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	dir = filepath.Join(t.TempDir(), "firmware")
	if err := os.Mkdir(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.New(admin.Deps{Registry: f.reg, Links: f.links, Rollouts: o}); err == nil {
		t.Fatal("a service with rollouts and no firmware directory was made")
	}
	svc, err := admin.New(admin.Deps{Registry: f.reg, Links: f.links, Now: f.clk.Now, Rollouts: o, Images: rollout.Images{Dir: dir}})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	write := func(name string, sign func([]byte) []byte) string {
		img := rollouttest.Image("2.0.0", 3000, sign)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, img.Data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p+rollout.SigSuffix, img.Signature, 0o600); err != nil {
			t.Fatal(err)
		}
		return name
	}
	other := ed25519.NewKeyFromSeed(append(make([]byte, ed25519.SeedSize-1), 1))
	good = write("good.bin", func(sha []byte) []byte { return ed25519.Sign(fwKey, msg.FirmwareSigningInput(sha)) })
	bad = write("bad.bin", func(sha []byte) []byte { return ed25519.Sign(other, msg.FirmwareSigningInput(sha)) })
	return o, good, bad, dir
}

func TestFirmwareRollout(t *testing.T) {
	f := newFixture(t)
	if _, err := f.svc.FirmwareRollouts(); !errors.Is(err, admin.ErrNoFirmware) {
		t.Fatalf("without an orchestrator: %v", err)
	}
	if status, _, _ := f.svc.Command(context.Background(), "firmware.rollout", nil); status != devices.StatusUnsupported {
		t.Fatalf("firmware.rollout without an orchestrator: %s", status)
	}
	o, good, bad := withFirmware(t, f)
	c := admin.NewClient(serve(t, f.svc))
	ctx := context.Background()
	for _, e := range []struct {
		name string
		req  admin.RolloutRequest
		want error
	}{
		{"bad signature", admin.RolloutRequest{Image: bad, Version: "2.0.0", Devices: []string{"term-1"}}, provisioning.ErrInvalid},
		{"no image", admin.RolloutRequest{Image: good + ".missing", Version: "2.0.0", Devices: []string{"term-1"}}, provisioning.ErrInvalid},
		{"unknown device", admin.RolloutRequest{Image: good, Version: "2.0.0", Devices: []string{"nope"}}, provisioning.ErrNotFound},
		{"pending device", admin.RolloutRequest{Image: good, Version: "2.0.0", Devices: []string{"TERM-0002"}}, provisioning.ErrNotFound},
		{"no devices", admin.RolloutRequest{Image: good, Version: "2.0.0"}, provisioning.ErrInvalid},
	} {
		if _, err := c.FirmwareRollout(ctx, e.req); !errors.Is(err, e.want) {
			t.Errorf("%s: %v, want %v", e.name, err, e.want)
		}
	}
	rec, err := c.FirmwareRollout(ctx, admin.RolloutRequest{Image: good, Version: "2.0.0", Devices: []string{"term-1", "kiosk-1"}})
	if err != nil || rec.ID == "" || len(rec.Devices) != 2 {
		t.Fatalf("start: %+v %v", rec, err)
	}
	// The same devices again while it runs: a conflict, or it has finished.
	if _, err := c.FirmwareRollout(ctx, admin.RolloutRequest{Image: good, Version: "2.0.0", Devices: []string{"term-1"}}); err != nil && !errors.Is(err, provisioning.ErrConflict) {
		t.Errorf("second rollout: %v", err)
	}
	for _, r := range o.Rollouts() {
		if r.ID() == rec.ID {
			select {
			case <-r.Done():
			case <-time.After(20 * time.Second):
				t.Fatal("rollout did not end")
			}
		}
	}
	if rec, err = c.FirmwareStatus(ctx, rec.ID); err != nil {
		t.Fatal(err)
	}
	if s := rec.Summary(); rec.State != rollout.Done || s.Confirmed != 2 {
		t.Fatalf("rollout ended %s: %+v", rec.State, rec)
	}
	recs, err := c.FirmwareRollouts(ctx)
	if err != nil || len(recs) < 1 {
		t.Fatalf("list: %v %v", recs, err)
	}
	if _, err := c.FirmwareStatus(ctx, "nope"); !errors.Is(err, provisioning.ErrNotFound) {
		t.Fatalf("unknown rollout: %v", err)
	}
	// MQTT: arguments checked, then the same operation.
	for _, a := range []struct{ args, errHas string }{
		{`{"firmware":"x","version":"1","devices":"term-1"}`, `"devices" must be a non-empty list`},
		{`{"firmware":"x","version":"1","devices":["term-1"],"canary":1.5}`, `"canary" must be a whole number`},
		{`{"firmware":"x","version":"1","devices":["term-1"],"force":true}`, `unknown argument "force"`},
	} {
		status, errText, _ := f.svc.Command(ctx, "firmware.rollout", args(t, a.args))
		if status != devices.StatusError || !strings.Contains(errText, a.errHas) {
			t.Errorf("%s: %s %q", a.args, status, errText)
		}
	}
	status, errText, data := f.svc.Command(ctx, "firmware.status", args(t, `{"rollout":"`+rec.ID+`"}`))
	if status != devices.StatusOK || data["state"] != "done" {
		t.Fatalf("firmware.status: %s %s %v", status, errText, data)
	}
}

// TestFirmwareImageConfinement: firmware.rollout over MQTT (Command) and the
// socket reads only regular files of the firmware directory, within the
// cap. /dev/zero once grew the gateway to 715 MB; a FIFO hung the command
// worker (a devices.list after it waited); the error told /etc/passwd (exists)
// from /nonexistent. Now every such name gets the same invalid error at
// once, and the next command is answered.
func TestFirmwareImageConfinement(t *testing.T) {
	f := newFixture(t)
	_, good, _, dir := withFirmwareDir(t, f)
	outside := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(outside, "pipe"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.bin"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(outside, "secret.bin"), []byte("secret"), 0o600)
	for name, target := range map[string]string{"zero.bin": "/dev/zero", "out.bin": filepath.Join(outside, "secret.bin"),
		"fifo-out.bin": filepath.Join(outside, "pipe"), "passwd.bin": "/etc/passwd"} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	// Over the cap (16 MiB by default): a sparse file, refused on its size.
	huge, err := os.Create(filepath.Join(dir, "huge.bin"))
	if err != nil {
		t.Fatal(err)
	}
	huge.Truncate(1 << 40)
	huge.Close()
	os.WriteFile(filepath.Join(dir, "huge.bin"+rollout.SigSuffix), make([]byte, 64), 0o600)

	c := admin.NewClient(serve(t, f.svc))
	ctx := context.Background()
	// within runs op and fails the test if it has not returned within 10 s.
	within := func(what string, op func()) {
		t.Helper()
		done := make(chan struct{})
		go func() { defer close(done); op() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s still blocked after 10 s", what)
		}
	}
	hostile := []string{"/dev/zero", "/etc/passwd", "/nonexistent", filepath.Join(outside, "pipe"), "pipe.bin", "fifo-out.bin",
		"zero.bin", "out.bin", "passwd.bin", "../" + filepath.Base(outside) + "/secret.bin", "../../etc/passwd", "missing.bin"}
	var first string
	same := func(via, name, text string) {
		t.Helper()
		text = strings.ReplaceAll(text, fmt.Sprintf("%q", name), "NAME")
		if first == "" {
			first = text
		}
		if text != first {
			t.Errorf("%s %q: error %q, unlike %q", via, name, text, first)
		}
	}
	for _, name := range hostile {
		var status, errText string
		within("firmware.rollout "+name, func() {
			status, errText, _ = f.svc.Command(ctx, "firmware.rollout", map[string]any{"firmware": name, "version": "2.0.0", "devices": []any{"term-1"}})
		})
		if status != devices.StatusError || !strings.Contains(errText, "no such image in the firmware directory") {
			t.Errorf("MQTT %q: %s %q", name, status, errText)
		}
		same("MQTT", name, errText)
		// The next gateway command is answered at once.
		within("devices.list after "+name, func() {
			if status, errText, _ := f.svc.Command(ctx, "devices.list", nil); status != devices.StatusOK {
				t.Errorf("devices.list after %q: %s %s", name, status, errText)
			}
		})
		var sockErr error
		within("POST /v1/firmware/rollouts "+name, func() {
			_, sockErr = c.FirmwareRollout(ctx, admin.RolloutRequest{Image: name, Version: "2.0.0", Devices: []string{"term-1"}})
		})
		var ae *admin.Error
		if !errors.Is(sockErr, provisioning.ErrInvalid) || !errors.As(sockErr, &ae) || ae.Status != 400 {
			t.Errorf("socket %q: %v", name, sockErr)
			continue
		}
		same("socket", name, ae.Message)
	}
	status, errText, _ := f.svc.Command(ctx, "firmware.rollout", map[string]any{"firmware": "huge.bin", "version": "2.0.0", "devices": []any{"term-1"}})
	if status != devices.StatusError || !strings.Contains(errText, "larger than the cap") {
		t.Errorf("1 TiB image: %s %q", status, errText)
	}
	// The good image, by name or by its absolute path, starts.
	status, errText, data := f.svc.Command(ctx, "firmware.rollout", map[string]any{"firmware": filepath.Join(dir, good), "version": "2.0.0", "devices": []any{"term-1"}})
	if status != devices.StatusOK {
		t.Fatalf("good image: %s %s", status, errText)
	}
	if fw, _ := data["firmware"].(map[string]any); fw["path"] != good {
		t.Errorf("rollout reports firmware %v, want path %q", data["firmware"], good)
	}
}
