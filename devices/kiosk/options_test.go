package kiosk_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/kiosk"
)

func TestOptionsRefused(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "invite.key")
	short := filepath.Join(dir, "short.key")
	os.WriteFile(key, []byte(testKey), 0o600)
	os.WriteFile(short, []byte("short"), 0o600)
	base := "scanner_port = \"/dev/ttyACM0\"\ninvite_key_file = " + quote(key) + "\nstate_file = " + quote(filepath.Join(dir, "s.json")) + "\n"
	for _, c := range []struct{ section, want string }{
		{"invite_key_file = " + quote(key) + "\nstate_file = \"/x\"\n", "scanner_port: missing"},
		{"scanner_port = \"/dev/ttyACM0\"\nstate_file = \"/x\"\n", "invite_key_file: missing"},
		{"scanner_port = \"/dev/ttyACM0\"\nstate_file = \"/x\"\ninvite_key_file = " + quote(short) + "\n", "invite_key_file"},
		{"scanner_port = \"/dev/ttyACM0\"\ninvite_key_file = " + quote(key) + "\n", "state_file: missing"},
		{base + "printer_width = 500\n", "printer_width: 500"},
		{base + "approve_timeout = \"soon\"\n", "approve_timeout"},
		{base + "printer_poll = \"1ms\"\n", "printer_poll"},
		{base + "pulse = \"10s\"\n[door]\nrelay_pin = \"GPIO17\"\nrelay_active = \"high\"\n", "pulse"},
		{base + "printer_port = \"/dev/ttyACM0\"\n", "printer_port"},
		{base + "scanner_baud = 12345\n", "12345"},
		{base + "[door]\nrelay_pin = \"GPIO17\"\n", "relay_active"},
		{base + "[door]\nrelay_pin = \"GPIO17\"\nrelay_active = \"high\"\nmax_pulse = \"1m\"\n", "door.max_pulse"},
		{base + "location = \"a\\u0007b\"\n", "location"},
		{base + "colour = \"red\"\n", "colour"},
		{base + "scan_burst = 0\n", "scan_burst: 0"},
		{base + "scan_interval = \"0s\"\n", "scan_interval"},
		{base + "scan_interval = \"often\"\n", "scan_interval"},
	} {
		_, err := kiosk.NewWith("k", devices.Options{Config: tomlSection(c.section)}, kiosk.With{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("section\n%s: error %v, want one naming %q", c.section, err, c.want)
		}
	}
	d, err := kiosk.New("kiosk-lobby", devices.Options{Port: "/dev/ttyACM0", Config: tomlSection(strings.Replace(base, "scanner_port = \"/dev/ttyACM0\"\n", "", 1))})
	if err != nil {
		t.Fatalf("the device's port as the scanner's: %v", err)
	}
	if got := d.Describe(); got.Kind != "kiosk" || got.ID != "kiosk-lobby" || len(got.Commands) != 6 {
		t.Errorf("Describe: %+v", got)
	}
	if _, err := (devices.Registry{"kiosk": kiosk.New}).New("kiosk", "kiosk-lobby", devices.Options{Port: "/dev/ttyACM0", Config: tomlSection(base)}); err != nil {
		t.Errorf("registry: %v", err)
	}
}
