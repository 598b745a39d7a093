package systemd

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const unitFile = "officegate.service"

// unitCopy writes the unit with /usr/bin/officegate replaced by a freshly
// built binary: verify insists that ExecStart= exists and is executable.
func unitCopy(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "ExecStart=/usr/bin/officegate run") {
		t.Fatal("the unit no longer starts /usr/bin/officegate run: the package installs it there")
	}
	path := filepath.Join(t.TempDir(), unitFile)
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(b), "/usr/bin/officegate", binary(t))), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestUnitVerify(t *testing.T) {
	sa := tool(t, "systemd-analyze", "systemd")
	out, err := exec.Command(sa, "verify", "--man=no", unitCopy(t)).CombinedOutput()
	if err != nil || len(out) > 0 {
		// Warnings (an unknown key, a deprecated setting) fail too: on the
		// Pi they would be silently ignored settings.
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// maxExposure is the bar for `systemd-analyze security` (0 = fully
// locked down, 10 = unprotected).
const maxExposure = 2.0

func TestUnitSecurity(t *testing.T) {
	sa := tool(t, "systemd-analyze", "systemd")
	out, err := exec.Command(sa, "security", "--offline=true", "--no-pager", unitCopy(t)).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for officegate.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	score, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("exposure %.1f (limit %.1f)", score, maxExposure)
	if score > maxExposure {
		t.Fatalf("exposure %.1f > %.1f:\n%s", score, maxExposure, out)
	}
}

// unitSettings parses the unit's key=value lines (last one wins, as systemd
// does for single-valued keys).
func unitSettings(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kv := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		if k == "DeviceAllow" || k == "SystemCallFilter" {
			kv[k] += v + "\n"
			continue
		}
		kv[k] = v
	}
	return kv
}

// TestUnitPromises pins what the issue asks of the unit, so an edit that
// drops one fails here rather than on a Pi.
func TestUnitPromises(t *testing.T) {
	kv := unitSettings(t)
	for k, want := range map[string]string{
		"Type": "notify", "Restart": "always", "User": "officegate", "SupplementaryGroups": "dialout gpio",
		"StateDirectory": "officegate", "ConfigurationDirectory": "officegate", "RuntimeDirectory": "officegate",
		"ProtectSystem": "strict", "PrivateTmp": "yes", "NoNewPrivileges": "yes", "DevicePolicy": "closed",
		"RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
	} {
		if kv[k] != want {
			t.Errorf("%s=%q, want %q", k, kv[k], want)
		}
	}
	for _, dev := range []string{"char-ttyUSB rw", "char-ttyACM rw", "char-gpiochip rw"} {
		if !strings.Contains(kv["DeviceAllow"], dev+"\n") {
			t.Errorf("no DeviceAllow=%s", dev)
		}
	}
	if !strings.Contains(kv["SystemCallFilter"], "@system-service\n") {
		t.Error("no SystemCallFilter=@system-service")
	}
	wd := durationSetting(t, kv, "WatchdogSec")
	if wd < 20*time.Second {
		t.Errorf("WatchdogSec=%v: pings come every half of it, and the journal's stall limit is 10 s", wd)
	}
	durationSetting(t, kv, "TimeoutStopSec")
	if durationSetting(t, kv, "RestartSec") == 0 {
		t.Error("RestartSec=0: a crash loop would spin")
	}
}

func durationSetting(t *testing.T, kv map[string]string, key string) time.Duration {
	t.Helper()
	s := kv[key]
	d, err := time.ParseDuration(strings.ReplaceAll(s, "min", "m"))
	if err != nil {
		t.Fatalf("%s=%q: %v", key, s, err)
	}
	return d
}
