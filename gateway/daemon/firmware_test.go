package daemon_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/officegate/officegate/firmware-bridge/fwemu"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/gateway/uplink"
)

// TestFirmwareRollout: the admin service starts a rollout of a signed image
// by an MQTT gateway command to three terminals on real PTYs; the canary and
// the third are confirmed on the new version, the second's test boot
// crashes, its bootloader reverts, and the gateway reports it rolled back —
// every step a device.firmware event on MQTT.
func TestFirmwareRollout(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	b := mqtttest.Start(t, nil)
	dir := t.TempDir()
	pub, priv, _ := ed25519.GenerateKey(nil)
	image := make([]byte, 40<<10)
	for i := range image {
		image[i] = byte(i * 7)
	}
	sum := sha256.Sum256(image)
	// Images come from the firmware directory, by default in the state
	// directory; the command names the file in it.
	fwDir := filepath.Join(dir, "gw", "firmware")
	if err := os.MkdirAll(fwDir, 0o750); err != nil {
		t.Fatal(err)
	}
	const imgName = "term-2.0.0.img"
	os.WriteFile(filepath.Join(fwDir, imgName), image, 0o644)
	os.WriteFile(filepath.Join(fwDir, imgName+".sig"), ed25519.Sign(priv, msg.FirmwareSigningInput(sum[:])), 0o644)

	var devs []daemon.Device
	emus := map[string]*fwemu.Emulator{}
	for i, id := range []string{"t-1", "t-2", "t-3"} {
		o := fwemu.Options{StatePath: filepath.Join(dir, id), HardwareID: "EMU-" + id, Kind: msg.KindAttendance, RTC: true,
			Seed: uint64(i + 1), SigningKey: pub}
		if id == "t-2" {
			o.FailTestBoot = func(v string) bool { return v == "2.0.0" }
		}
		d, err := fwemu.StartPTY(id, o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Stop() })
		emus[id] = d.Emu
		devs = append(devs, daemon.Device{ID: id, Kind: "terminal", Port: d.Path, Baud: 115200})
	}
	events := newCollector(t, b.URL, "officegate/gw-f/devices/+/events/device.firmware")
	results := newCollector(t, b.URL, "officegate/gw-f/results")
	status := newCollector(t, b.URL, "officegate/gw-f/status")
	runGateway(t, daemon.Options{
		Gateway: "gw-f", StateDir: filepath.Join(dir, "gw"),
		Uplink:  uplink.Options{Broker: b.URL, ClientID: "officegate-gw-f"},
		Devices: devs, Log: zerolog.Nop(),
		Provisioning: &daemon.Provisioning{FirmwareKey: pub, Probation: 300 * time.Millisecond, BootTimeout: 20 * time.Second},
	})
	waitUntil(t, 20*time.Second, "the gateway online", func() bool {
		status.mu.Lock()
		defer status.mu.Unlock()
		return len(status.msgs) > 0 && json.Valid(status.msgs[len(status.msgs)-1])
	})
	adm := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL).SetClientID("facilities"))
	if tok := adm.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer adm.Disconnect(0)
	body, _ := json.Marshal(map[string]any{"id": "fw-1", "args": map[string]any{"firmware": imgName, "version": "2.0.0",
		"devices": []string{"t-1", "t-2", "t-3"}}})
	if tok := adm.Publish("officegate/gw-f/commands/firmware.rollout", 1, false, body); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	final := func() map[string]string {
		out := map[string]string{}
		for _, e := range eventsOf(t, events, "") {
			if p, _ := e.Data["phase"].(string); p == "confirmed" || p == "rolled_back" || p == "failed" {
				out[e.Device] = p
			}
		}
		return out
	}
	deadline := time.Now().Add(60 * time.Second)
	for len(final()) < 3 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if len(final()) < 3 {
		for _, e := range eventsOf(t, events, "") {
			t.Logf("%s %v", e.Device, e.Data)
		}
		t.Logf("results %v", resultsOf(t, results))
		t.Fatalf("not every device reached a final phase: %v", final())
	}
	want := map[string]string{"t-1": "confirmed", "t-2": "rolled_back", "t-3": "confirmed"}
	if got := final(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("final phases %v, want %v", got, want)
	}
	for id, wantV := range map[string]string{"t-1": "2.0.0", "t-2": "1.0.0", "t-3": "2.0.0"} {
		if v, _ := emus[id].Firmware(); v != wantV {
			t.Errorf("%s runs %s, want %s", id, v, wantV)
		}
	}
	var rolled map[string]any
	for _, e := range eventsOf(t, events, "t-2") {
		if e.Data["phase"] == "rolled_back" {
			rolled = e.Data
		}
	}
	if r, _ := rolled["reason"].(string); r == "" {
		t.Errorf("rollback without a reason: %v", rolled)
	}
	res := resultsOf(t, results)["fw-1"]
	if res == nil || res["status"] != "ok" {
		t.Errorf("firmware.rollout result %v", res)
	}
}
