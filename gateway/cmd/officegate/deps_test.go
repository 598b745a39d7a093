package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps fails when the shipped binary links a test package: a fake
// (…test, such as linktest or periph's gpiotest), package testing, or the
// module's test kit. What the demo simulates is a real simulator package
// (…sim) or an emulator (fwemu), made to be shipped.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{.Standard}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, std, _ := strings.Cut(line, " ")
		n++
		if why := forbidden(pkg, std == "true"); why != "" {
			t.Errorf("officegate links %s: %s", pkg, why)
		}
	}
	if n < 50 {
		t.Fatalf("go list -deps listed %d packages: the check checks nothing", n)
	}
}

// forbidden says why the binary must not link pkg, or "" when it may.
func forbidden(pkg string, std bool) string {
	if std {
		if pkg == "testing" || strings.HasPrefix(pkg, "testing/") {
			return "package testing belongs to tests"
		}
		return ""
	}
	if pkg == module+"/internal/testkit" {
		return "the test kit belongs to tests"
	}
	base := pkg[strings.LastIndex(pkg, "/")+1:]
	if strings.HasSuffix(base, "test") {
		return "a …test package holds test fakes; what the binary needs goes in a …sim package"
	}
	return ""
}

const module = "github.com/officegate/officegate"

// TestForbidden pins the rule TestDeps applies.
func TestForbidden(t *testing.T) {
	for _, c := range []struct {
		pkg  string
		std  bool
		want bool
	}{
		{"github.com/officegate/officegate/firmware-bridge/link/linktest", false, true},
		{"github.com/officegate/officegate/devices/escpos/escpostest", false, true},
		{"periph.io/x/conn/v3/gpio/gpiotest", false, true},
		{"github.com/officegate/officegate/internal/testkit", false, true},
		{"testing", true, true},
		{"testing/fstest", true, true},
		{"internal/synctest", true, false}, // the standard library's own
		{"github.com/officegate/officegate/devices/gpio/gpiosim", false, false},
		{"github.com/officegate/officegate/firmware-bridge/fwemu", false, false},
		{"github.com/officegate/officegate/gateway/daemon", false, false},
	} {
		if got := forbidden(c.pkg, c.std) != ""; got != c.want {
			t.Errorf("forbidden(%q) = %v, want %v", c.pkg, got, c.want)
		}
	}
}
