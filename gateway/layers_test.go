package gateway

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/officegate/officegate"

// TestImportLayers enforces the layering: firmware-bridge imports nothing of
// ours; devices may import firmware-bridge; provisioning may import devices and
// firmware-bridge; every layer may use the module's internal leaves (which
// import nothing of ours); only gateway imports everything.
func TestImportLayers(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test=false", "-f", "{{.ImportPath}}|{{join .Deps \" \"}}", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	layer := func(pkg string) string {
		rest := strings.TrimPrefix(pkg, module+"/")
		top, _, _ := strings.Cut(rest, "/")
		return top
	}
	allowed := map[string][]string{
		"firmware-bridge": {"firmware-bridge", "internal"},
		"devices":         {"devices", "firmware-bridge", "internal"},
		"provisioning":    {"provisioning", "devices", "firmware-bridge", "internal"},
		"internal":        {"internal"}, // shared leaves (atomicfile)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, "|")
		if !strings.HasPrefix(pkg, module+"/") {
			continue
		}
		ok, constrained := allowed[layer(pkg)]
		if !constrained {
			continue
		}
		checked++
		for _, d := range strings.Fields(deps) {
			if !strings.HasPrefix(d, module+"/") {
				continue
			}
			if l := layer(d); !contains(ok, l) {
				t.Errorf("%s imports %s: %s may import only %v", pkg, d, layer(pkg), ok)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no layered package found: the check checks nothing")
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
