package daemon_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/fxamacker/cbor/v2"
	"github.com/rs/zerolog"

	"github.com/officegate/officegate/firmware-bridge/fwemu"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/gateway/contract"
	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/gateway/uplink"
	"github.com/officegate/officegate/internal/testkit"
	"github.com/officegate/officegate/provisioning"
	"github.com/officegate/officegate/provisioning/admin"
)

// TestEnrollment: terminals plugged into watched ports (real PTYs) with
// emulated firmware. The gateway lists them as pending in its retained
// enrollment message; one is approved by hand, one by an enrollment
// window's rule, and both then agree their link keys and deliver punches
// under their device ids; a unit plugged in after the window closed stays
// pending; a unit claiming an enrolled hardware id without its key is
// refused and raises an auth_failed alarm on the device it claimed to be.
func TestEnrollment(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	b := mqtttest.Start(t, nil)
	dir := t.TempDir()
	ports := filepath.Join(dir, "ports")
	os.Mkdir(ports, 0o755)
	plug := func(name, hw string, flash string) *fwemu.PTYDevice {
		t.Helper()
		d, err := fwemu.StartPTY(name, fwemu.Options{StatePath: flash, HardwareID: hw, Kind: msg.KindAttendance, RTC: true, Seed: 9})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Stop() })
		if err := os.Symlink(d.Path, filepath.Join(ports, "tty-"+name)); err != nil {
			t.Fatal(err)
		}
		return d
	}
	a := plug("a", "HW-AAA", filepath.Join(dir, "a.flash"))
	bdev := plug("b", "HW-BBB", filepath.Join(dir, "b.flash"))
	a.Emu.Emit("punch", map[string]any{"user": "10001", "verify": "card", "state": uint64(0)})
	bdev.Emu.Emit("punch", map[string]any{"user": "10002", "verify": "face", "state": uint64(0)})

	events := newCollector(t, b.URL, "officegate/gw-e/devices/+/events/#")
	enroll := newCollector(t, b.URL, "officegate/gw-e/enrollment")
	g := runGateway(t, daemon.Options{
		Gateway: "gw-e", StateDir: filepath.Join(dir, "gw"),
		Uplink: uplink.Options{Broker: b.URL, ClientID: "officegate-gw-e"},
		Provisioning: &daemon.Provisioning{Ports: []string{filepath.Join(ports, "tty-*")}, Scan: 100 * time.Millisecond,
			Socket: filepath.Join(dir, "admin.sock"), SocketGID: -1},
		Log: zerolog.Nop(),
	})
	pending := func() map[string]bool {
		enroll.mu.Lock()
		defer enroll.mu.Unlock()
		out := map[string]bool{}
		if len(enroll.msgs) == 0 {
			return out
		}
		var st daemon.EnrollmentStatus
		m := enroll.msgs[len(enroll.msgs)-1]
		if err := contract.Strict(contract.Enrollment, m); err != nil {
			t.Fatalf("enrollment message breaks the contract: %v\n%s", err, m)
		}
		json.Unmarshal(m, &st)
		for _, p := range st.Pending {
			out[p.HardwareID] = true
		}
		return out
	}
	waitUntil(t, 20*time.Second, "both units pending in the enrollment message", func() bool {
		p := pending()
		return p["HW-AAA"] && p["HW-BBB"]
	})
	if n := len(eventsOf(t, events, "")); n != 0 {
		t.Fatalf("%d events from pending units", n)
	}

	// Facilities approve A with the CLI's socket API, and the admin service
	// opens a window over MQTT whose rule takes B.
	ctx := testkit.Ctx(t, time.Minute)
	cli := admin.NewClient(filepath.Join(dir, "admin.sock"))
	if _, err := cli.Approve(ctx, "HW-AAA", admin.ApproveRequest{ID: "term-lobby", Name: "Lobby terminal", Room: "1F"}); err != nil {
		t.Fatal(err)
	}
	results := newCollector(t, b.URL, "officegate/gw-e/results")
	adm := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL).SetClientID("facilities"))
	if tok := adm.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer adm.Disconnect(0)
	body, _ := json.Marshal(map[string]any{"id": "enroll-1", "args": map[string]any{"for": "1m",
		"rule": map[string]any{"kind": "attendance", "hardware_id": "HW-B*", "name": "term-{n}", "room": "2F"}}})
	if tok := adm.Publish("officegate/gw-e/commands/enroll.open", 1, false, body); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	waitUntil(t, 20*time.Second, "the enroll.open result", func() bool {
		results.mu.Lock()
		defer results.mu.Unlock()
		return len(results.msgs) > 0
	})
	if r := results.msgs[0]; !strings.Contains(string(r), `"status":"ok"`) {
		t.Fatalf("enroll.open: %s", r)
	}
	waitUntil(t, 30*time.Second, "punches from both under their device ids", func() bool {
		var lobby, other bool
		for _, e := range eventsOf(t, events, "") {
			if e.Type == "attendance.punch" {
				lobby = lobby || e.Device == "term-lobby" && e.Data["person"] == "10001"
				other = other || strings.HasPrefix(e.Device, "term-") && e.Device != "term-lobby" && e.Data["person"] == "10002"
			}
		}
		return lobby && other
	})
	if a.Emu.Key() == nil || bdev.Emu.Key() == nil {
		t.Fatal("an enrolled unit holds no link key")
	}
	if p := pending(); len(p) != 0 {
		t.Errorf("still pending after approval: %v", p)
	}
	list, err := cli.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	online := 0
	for _, d := range list.Devices {
		if d.Online && d.Keyed {
			online++
		}
	}
	if online != 2 {
		t.Errorf("devices list: %d online and keyed, want 2: %+v", online, list.Devices)
	}

	// The window closes; a unit plugged in afterwards waits.
	if err := g.Registry.SetWindow(provisioning.Window{}); err != nil {
		t.Fatal(err)
	}
	plug("c", "HW-BCC", filepath.Join(dir, "c.flash"))
	waitUntil(t, 20*time.Second, "the late unit pending", func() bool { return pending()["HW-BCC"] })
	if d, _ := g.Registry.ByHardwareID("HW-BCC"); d.State != provisioning.StatePending {
		t.Errorf("late unit %+v approved after the window closed", d)
	}

	// An impostor claims the lobby terminal's hardware id, without its key.
	plug("x", "HW-AAA", filepath.Join(dir, "x.flash"))
	waitUntil(t, 20*time.Second, "an auth_failed alarm on term-lobby", func() bool {
		for _, e := range eventsOf(t, events, "term-lobby") {
			if e.Type == "device.alarm" && e.Data["alarm"] == "auth_failed" {
				return true
			}
		}
		return false
	})
	for _, e := range eventsOf(t, events, "") {
		if e.Type == "attendance.punch" && e.Data["person"] != "10001" && e.Data["person"] != "10002" {
			t.Errorf("unexpected punch %v from %s", e.Data, e.Device)
		}
	}
}

// TestBadPortPattern: a port pattern that is not a glob stops the start with
// the pattern named, instead of watching nothing.
func TestBadPortPattern(t *testing.T) {
	err := daemon.Run(context.Background(), daemon.Options{Gateway: "gw-x", StateDir: t.TempDir(),
		Uplink:       uplink.Options{Broker: "tcp://127.0.0.1:1", ClientID: "officegate-gw-x"},
		Provisioning: &daemon.Provisioning{Ports: []string{"/dev/officegate/[a-"}}, Log: zerolog.Nop()})
	if err == nil || !strings.Contains(err.Error(), "/dev/officegate/[a-") {
		t.Fatalf("Run with a bad pattern: %v", err)
	}
}

// TestEnrollmentFormat: with mqtt.format = "cbor" the retained enrollment
// status is CBOR like everything else the gateway publishes (MQTT.md §9); it
// used to stay JSON. A consumer decodes one format per gateway.
func TestEnrollmentFormat(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	b := mqtttest.Start(t, nil)
	dir := t.TempDir()
	ports := filepath.Join(dir, "ports")
	os.Mkdir(ports, 0o755)
	d, err := fwemu.StartPTY("a", fwemu.Options{StatePath: filepath.Join(dir, "a.flash"), HardwareID: "HW-CBOR", Kind: msg.KindAttendance, RTC: true, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Stop() })
	if err := os.Symlink(d.Path, filepath.Join(ports, "tty-a")); err != nil {
		t.Fatal(err)
	}
	enroll := newCollector(t, b.URL, "officegate/gw-c/enrollment")
	status := newCollector(t, b.URL, "officegate/gw-c/status")
	runGateway(t, daemon.Options{
		Gateway: "gw-c", StateDir: filepath.Join(dir, "gw"),
		Uplink:       uplink.Options{Broker: b.URL, ClientID: "officegate-gw-c", Format: envelope.CBOR},
		Provisioning: &daemon.Provisioning{Ports: []string{filepath.Join(ports, "tty-*")}, Scan: 100 * time.Millisecond, SocketGID: -1},
		Log:          zerolog.Nop(),
	})
	var last []byte
	waitUntil(t, 20*time.Second, "the unit pending in a CBOR enrollment message", func() bool {
		enroll.mu.Lock()
		defer enroll.mu.Unlock()
		for _, m := range enroll.msgs {
			if len(m) == 0 || m[0] < 0xa0 || m[0] > 0xbb {
				t.Fatalf("enrollment message is not a CBOR map: %q", m)
			}
			if err := contract.Strict(contract.Enrollment, m); err != nil {
				t.Fatalf("enrollment message breaks the contract: %v", err)
			}
		}
		if len(enroll.msgs) == 0 {
			return false
		}
		last = enroll.msgs[len(enroll.msgs)-1]
		var st daemon.EnrollmentStatus
		if err := cbor.Unmarshal(last, &st); err != nil {
			t.Fatalf("enrollment message: %v", err)
		}
		return len(st.Pending) == 1 && st.Pending[0].HardwareID == "HW-CBOR"
	})
	waitUntil(t, 20*time.Second, "the gateway status", func() bool {
		status.mu.Lock()
		defer status.mu.Unlock()
		return len(status.msgs) > 0
	})
	status.mu.Lock()
	defer status.mu.Unlock()
	if m := status.msgs[0]; len(m) == 0 || m[0] < 0xa0 || m[0] > 0xbb {
		t.Fatalf("gateway status is not a CBOR map: %q", m)
	}
}
