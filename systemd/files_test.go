package systemd

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// scratchRoot is an /etc with the groups Debian ships (dialout, no gpio).
func scratchRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	etc := filepath.Join(root, "etc")
	os.MkdirAll(etc, 0o755)
	for name, body := range map[string]string{
		"passwd":  "root:x:0:0:root:/root:/bin/bash\n",
		"group":   "root:x:0:\ndialout:x:20:\n",
		"shadow":  "root:*:19000:0:99999:7:::\n",
		"gshadow": "root:*::\ndialout:*::\n",
	} {
		if err := os.WriteFile(filepath.Join(etc, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// TestSysusersAndTmpfiles applies both snippets to a scratch root with the
// real tools: the user exists, is in dialout and gpio, and the directories
// get their owners and modes.
func TestSysusersAndTmpfiles(t *testing.T) {
	sysusers := tool(t, "systemd-sysusers", "systemd")
	tmpfiles := tool(t, "systemd-tmpfiles", "systemd")
	root := scratchRoot(t)
	abs, _ := filepath.Abs("officegate.sysusers")
	if out, err := exec.Command(sysusers, "--root="+root, abs).CombinedOutput(); err != nil {
		t.Fatalf("systemd-sysusers: %v\n%s", err, out)
	}
	passwd, _ := os.ReadFile(filepath.Join(root, "etc/passwd"))
	group, _ := os.ReadFile(filepath.Join(root, "etc/group"))
	user := regexp.MustCompile(`(?m)^officegate:x:(\d+):(\d+):officegate gateway:/var/lib/officegate:/usr/sbin/nologin$`).FindSubmatch(passwd)
	if user == nil {
		t.Fatalf("no officegate user:\n%s", passwd)
	}
	for _, re := range []string{`(?m)^dialout:x:20:officegate$`, `(?m)^gpio:x:\d+:officegate$`, `(?m)^officegate:x:` + string(user[2]) + `:$`} {
		if !regexp.MustCompile(re).Match(group) {
			t.Errorf("/etc/group lacks %s:\n%s", re, group)
		}
	}

	abs, _ = filepath.Abs("officegate.tmpfiles")
	if os.Geteuid() != 0 {
		t.Skip("tmpfiles --create chowns: needs root")
	}
	if out, err := exec.Command(tmpfiles, "--create", "--root="+root, abs).CombinedOutput(); err != nil {
		t.Fatalf("systemd-tmpfiles: %v\n%s", err, out)
	}
	for _, d := range []struct {
		path string
		mode os.FileMode
	}{{"etc/officegate", 0o750}, {"var/lib/officegate", 0o750}, {"var/lib/officegate/journal", 0o750}} {
		fi, err := os.Stat(filepath.Join(root, d.path))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != d.mode || !fi.IsDir() {
			t.Errorf("/%s: %v, want a directory %v", d.path, fi.Mode(), d.mode)
		}
	}
}

// TestUdevRules checks the rules' syntax (udevadm verify needs systemd >= 253;
// Debian 12 has 252) and that they do the three things the issue asks.
func TestUdevRules(t *testing.T) {
	b, err := os.ReadFile("70-officegate.rules")
	if err != nil {
		t.Fatal(err)
	}
	if sa, err := exec.LookPath("udevadm"); err == nil {
		if out, err := exec.Command(sa, "verify", "70-officegate.rules").CombinedOutput(); err == nil {
			t.Logf("udevadm verify: ok")
		} else if !strings.Contains(string(out), "Unknown command") && !strings.Contains(string(out), "Unknown operation") {
			t.Fatalf("udevadm verify: %v\n%s", err, out)
		}
	}
	// KEY or KEY{attr}, an operator, a double-quoted value.
	pair := regexp.MustCompile(`^([A-Z_]+(\{[A-Za-z0-9_]+\})?)\s*(==|!=|\+=|-=|:=|=)\s*"[^"]*"$`)
	labels, gotos := map[string]bool{}, map[string]bool{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for _, p := range strings.Split(line, ",") {
			p = strings.TrimSpace(p)
			m := pair.FindStringSubmatch(p)
			if m == nil {
				t.Errorf("line %d: %q is not KEY op \"value\"", i+1, p)
				continue
			}
			val := p[strings.Index(p, `"`)+1 : len(p)-1]
			switch m[1] {
			case "LABEL":
				labels[val] = true
			case "GOTO":
				gotos[val] = true
			}
		}
	}
	for g := range gotos {
		if !labels[g] {
			t.Errorf("GOTO=%q has no LABEL", g)
		}
	}
	s := string(b)
	for _, want := range []string{`ENV{ID_MM_DEVICE_IGNORE}="1"`, `KERNEL=="gpiochip*", GROUP="gpio", MODE="0660"`,
		`SYMLINK+="officegate/`, `GROUP="dialout"`} {
		if !strings.Contains(s, want) {
			t.Errorf("rules lack %s", want)
		}
	}
}
