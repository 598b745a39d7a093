package wiegand_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports keeps the decoder a leaf: drivers never import the gateway or provisioning.
func TestImports(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not on PATH")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".", "./wiegandsim").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range strings.Fields(string(out)) {
		for _, bad := range []string{"/officegate/gateway", "/officegate/provisioning", "/firmware-bridge"} {
			if strings.Contains(p, bad) {
				t.Errorf("imports %s", p)
			}
		}
	}
}
