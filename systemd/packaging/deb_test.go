package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tool finds a system tool: skipped outside CI, a failure under CI=true.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	for _, p := range []string{name, "/usr/bin/" + name, "/usr/sbin/" + name} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed (apt-get install %s)", name, pkg)
	}
	t.Skipf("%s is not installed (apt-get install %s)", name, pkg)
	return ""
}

// TestDeb builds the amd64 package with the documented command, then checks
// its metadata, unpacks it into a scratch root and checks the files, the
// binary and the maintainer scripts.
func TestDeb(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds a package")
	}
	dpkgDeb := tool(t, "dpkg-deb", "dpkg")
	out := t.TempDir()
	cmd := exec.Command("./build-deb", "amd64", out)
	cmd.Env = append(os.Environ(), "VERSION=1.2.3")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("build-deb: %v\n%s", err, b)
	}
	deb := filepath.Join(out, "officegate_1.2.3_amd64.deb")
	if got := strings.TrimSpace(string(b)); got != deb {
		t.Fatalf("build-deb printed %q, want %q", got, deb)
	}

	info, err := exec.Command(dpkgDeb, "-f", deb, "Package", "Version", "Architecture", "Depends").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Package: officegate", "Version: 1.2.3", "Architecture: amd64", "Depends: systemd"} {
		if !strings.Contains(string(info), want) {
			t.Errorf("control lacks %q:\n%s", want, info)
		}
	}
	list, err := exec.Command(dpkgDeb, "-c", deb).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(list)), "\n") {
		if !strings.Contains(line, " root/root ") {
			t.Errorf("not owned by root: %s", line)
		}
	}

	root := t.TempDir()
	if b, err := exec.Command(dpkgDeb, "-x", deb, root).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -x: %v\n%s", err, b)
	}
	for path, want := range map[string]string{
		"usr/lib/systemd/system/officegate.service":                  "../officegate.service",
		"usr/lib/sysusers.d/officegate.conf":                         "../officegate.sysusers",
		"usr/lib/tmpfiles.d/officegate.conf":                         "../officegate.tmpfiles",
		"usr/lib/udev/rules.d/70-officegate.rules":                   "../70-officegate.rules",
		"etc/officegate/officegate.toml.example":                     "../../gateway/config/example.toml",
		"usr/share/doc/officegate/examples/mosquitto/officegate.acl": "mosquitto/officegate.acl",
		"usr/share/doc/officegate/OPERATIONS.md":                     "../../docs/OPERATIONS.md",
	} {
		got, err := os.ReadFile(filepath.Join(root, path))
		if err != nil {
			t.Errorf("package lacks /%s: %v", path, err)
			continue
		}
		src, _ := os.ReadFile(want)
		if string(got) != string(src) {
			t.Errorf("/%s differs from %s", path, want)
		}
	}
	bin := filepath.Join(root, "usr/bin/officegate")
	v, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(v), "officegate 1.2.3") {
		t.Errorf("officegate version: %q, %v", v, err)
	}
	// The example configuration is valid as shipped (its secrets are read
	// only by run).
	if b, err := exec.Command(bin, "check-config", filepath.Join(root, "etc/officegate/officegate.toml.example")).CombinedOutput(); err != nil {
		t.Errorf("check-config on the shipped example: %v\n%s", err, b)
	}

	ctl := t.TempDir()
	if b, err := exec.Command(dpkgDeb, "-e", deb, ctl).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -e: %v\n%s", err, b)
	}
	if c, _ := os.ReadFile(filepath.Join(ctl, "conffiles")); strings.TrimSpace(string(c)) != "/etc/officegate/officegate.toml.example" {
		t.Errorf("conffiles: %q", c)
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		p := filepath.Join(ctl, s)
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm()&0o111 == 0 {
			t.Errorf("%s: missing or not executable (%v)", s, err)
			continue
		}
		if b, err := exec.Command("sh", "-n", p).CombinedOutput(); err != nil {
			t.Errorf("%s: sh -n: %v\n%s", s, err, b)
		}
	}
	// postinst configure, with the system tools replaced by recorders: it
	// creates the user and the directories from the shipped snippets.
	stubs := t.TempDir()
	calls := filepath.Join(stubs, "calls")
	for _, name := range []string{"systemd-sysusers", "systemd-tmpfiles", "udevadm", "systemctl"} {
		os.WriteFile(filepath.Join(stubs, name), []byte("#!/bin/sh\necho \"$(basename \"$0\") $*\" >>"+calls+"\n"), 0o755)
	}
	pi := exec.Command(filepath.Join(ctl, "postinst"), "configure")
	pi.Env = append(os.Environ(), "PATH="+stubs+":/usr/bin:/bin")
	if b, err := pi.CombinedOutput(); err != nil {
		t.Fatalf("postinst configure: %v\n%s", err, b)
	}
	got, _ := os.ReadFile(calls)
	for _, want := range []string{"systemd-sysusers officegate.conf\n", "systemd-tmpfiles --create officegate.conf\n", "udevadm control --reload-rules\n"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("postinst did not run %q; ran:\n%s", want, got)
		}
	}
}
