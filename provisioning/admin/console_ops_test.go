package admin_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/provisioning"
	"github.com/officegate/officegate/provisioning/admin"
	"github.com/officegate/officegate/provisioning/rollout"
)

// TestReject: a pending unit is rejected and no longer listed; an approved
// one is refused.
func TestReject(t *testing.T) {
	f := newFixture(t)
	if err := f.svc.Reject("TERM-0002"); err != nil {
		t.Fatal(err)
	}
	for _, d := range f.svc.List().Devices {
		if d.HardwareID == "TERM-0002" {
			t.Fatal("rejected unit still listed")
		}
	}
	if err := f.svc.Reject("TERM-0001"); !errors.Is(err, provisioning.ErrState) {
		t.Fatalf("Reject(active) = %v", err)
	}
}

// commander records the commands it is given.
type commander struct{ got []string }

func (c *commander) DeviceCommand(_ context.Context, device, name string, args map[string]any) admin.CommandResult {
	c.got = append(c.got, device+" "+name)
	return admin.CommandResult{Status: "ok", Data: map[string]any{"ms": args["duration_ms"]}}
}

// TestDeviceCommand: a command by hardware id reaches the device by its
// device id; without a commander the service says so.
func TestDeviceCommand(t *testing.T) {
	f := newFixture(t)
	if _, err := f.svc.DeviceCommand(context.Background(), "term-1", "door.pulse", nil); !errors.Is(err, admin.ErrNoCommands) {
		t.Fatalf("without a commander: %v", err)
	}
	c := &commander{}
	svc, err := admin.New(admin.Deps{Registry: f.reg, Links: f.links, Devices: c})
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.DeviceCommand(context.Background(), "TERM-0001", "door.pulse", map[string]any{"duration_ms": 500})
	if err != nil || res.Status != "ok" || len(c.got) != 1 || c.got[0] != "term-1 door.pulse" {
		t.Fatalf("DeviceCommand = %+v, %v; commander got %q", res, err, c.got)
	}
	if _, err := svc.DeviceCommand(context.Background(), "term-1", "", nil); !errors.Is(err, provisioning.ErrInvalid) {
		t.Fatalf("no name: %v", err)
	}
}

// TestFirmwareUpload: an uploaded image and signature start a rollout by
// name; names leading anywhere but a plain file of the directory, and
// images past the cap, are refused.
func TestFirmwareUpload(t *testing.T) {
	f := newFixture(t)
	if err := f.svc.FirmwareUpload("x.bin", []byte{1}, []byte{2}); !errors.Is(err, admin.ErrNoFirmware) {
		t.Fatalf("without rollouts: %v", err)
	}
	_, good, _, dir := withFirmwareDir(t, f)
	img, _ := os.ReadFile(filepath.Join(dir, good))
	sig, _ := os.ReadFile(filepath.Join(dir, good+rollout.SigSuffix))
	for _, name := range []string{"../x.bin", ".hidden", "a/b.bin", "", "x y.bin"} {
		if err := f.svc.FirmwareUpload(name, img, sig); !errors.Is(err, provisioning.ErrInvalid) {
			t.Errorf("FirmwareUpload(%q) = %v, want ErrInvalid", name, err)
		}
	}
	if err := f.svc.FirmwareUpload("up.bin", img, nil); !errors.Is(err, provisioning.ErrInvalid) {
		t.Errorf("no signature: %v", err)
	}
	if err := f.svc.FirmwareUpload("up.bin", img, sig); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "up.bin")); !bytes.Equal(b, img) {
		t.Fatal("image not stored")
	}
	rec, err := f.svc.FirmwareRollout(admin.RolloutRequest{Image: "up.bin", Version: "2.0.0", Devices: []string{"term-1"}})
	if err != nil || rec.ID == "" {
		t.Fatalf("rollout of the upload: %+v %v", rec, err)
	}
}

// TestEverything: the configuration's devices are listed after the
// registry's and shown by their id.
func TestEverything(t *testing.T) {
	f := newFixture(t)
	svc, err := admin.New(admin.Deps{Registry: f.reg, Links: f.links, Configured: func() []admin.Device {
		return []admin.Device{{DeviceID: "room-b", Kind: "room", State: admin.StateConfigured}, {DeviceID: "kiosk-a", Kind: "kiosk", State: admin.StateConfigured, Online: true}}
	}})
	if err != nil {
		t.Fatal(err)
	}
	all := svc.Everything().Devices
	if n := len(all); n != len(f.svc.List().Devices)+2 || all[n-2].DeviceID != "kiosk-a" || all[n-1].DeviceID != "room-b" {
		t.Fatalf("Everything = %+v", all)
	}
	if d, err := svc.Show("kiosk-a"); err != nil || !d.Online {
		t.Fatalf("Show(kiosk-a) = %+v, %v", d, err)
	}
	if _, err := svc.Show("nope"); !errors.Is(err, provisioning.ErrNotFound) {
		t.Fatalf("Show(nope) = %v", err)
	}
}

// TestClockJoined: a device's clock state is its link's.
func TestClockJoined(t *testing.T) {
	f := newFixture(t)
	f.links.SetStatus("/dev/ttyUSB-TERM-0001", link.Status{HardwareID: "TERM-0001", Online: true,
		Clock: link.ClockInfo{State: link.ClockDrifted}})
	d, err := f.svc.Show("term-1")
	if err != nil || d.Clock != "drifted" {
		t.Fatalf("Show(term-1) clock %q, %v", d.Clock, err)
	}
	if d, _ := f.svc.Show("kiosk-1"); d.Clock != "" {
		t.Fatalf("a device without a link has clock %q", d.Clock)
	}
}
