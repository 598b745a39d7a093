package admin_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/gateway/admin"
	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/provisioning"
	"github.com/officegate/officegate/provisioning/rollout"
	"github.com/officegate/officegate/provisioning/rollout/rollouttest"
)

var fwKey = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))

// withFirmware gives f's service an orchestrator over fake devices term-1
// and kiosk-1, and writes a signed image (and a badly signed one) to disk.
func withFirmware(t *testing.T, f *fixture) (o *rollout.Orchestrator, good, bad string) {
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
	svc, err := admin.New(admin.Deps{Registry: f.reg, Links: f.links, Now: f.clk.Now, Rollouts: o})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	dir := t.TempDir()
	write := func(name string, sign func([]byte) []byte) string {
		img := rollouttest.Image("2.0.0", 3000, sign)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, img.Data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p+rollout.SigSuffix, img.Signature, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	other := ed25519.NewKeyFromSeed(append(make([]byte, ed25519.SeedSize-1), 1))
	good = write("good.bin", func(sha []byte) []byte { return ed25519.Sign(fwKey, msg.FirmwareSigningInput(sha)) })
	bad = write("bad.bin", func(sha []byte) []byte { return ed25519.Sign(other, msg.FirmwareSigningInput(sha)) })
	return o, good, bad
}

func TestFirmwareRollout(t *testing.T) {
	f := newFixture(t)
	if _, err := f.svc.FirmwareRollouts(); !errors.Is(err, admin.ErrNoFirmware) {
		t.Fatalf("without an orchestrator: %v", err)
	}
	if status, _, _ := f.svc.Command(context.Background(), "firmware.rollout", nil); status != envelope.StatusUnsupported {
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
		if status != envelope.StatusError || !strings.Contains(errText, a.errHas) {
			t.Errorf("%s: %s %q", a.args, status, errText)
		}
	}
	status, errText, data := f.svc.Command(ctx, "firmware.status", args(t, `{"rollout":"`+rec.ID+`"}`))
	if status != envelope.StatusOK || data["state"] != "done" {
		t.Fatalf("firmware.status: %s %s %v", status, errText, data)
	}
}
