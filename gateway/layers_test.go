package gateway

import (
	"os/exec"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/officegate/officegate"

// pkgImports is one package of the module and what it imports of the
// module, its tests' imports apart.
type pkgImports struct {
	path    string   // relative to the module: "gateway/journal"
	imports []string // the package's own, relative to the module
	tests   []string // its tests' (in-package and _test package), not already in imports
}

// listImports lists every package of the module with its direct imports of
// the module (go list, test imports included). Checking every package's
// direct imports checks the whole graph.
func listImports(t *testing.T) []pkgImports {
	t.Helper()
	out, err := exec.Command("go", "list", "-f",
		`{{.ImportPath}}|{{join .Imports " "}}|{{join .TestImports " "}} {{join .XTestImports " "}}`,
		module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	ours := func(s string) []string {
		var r []string
		for _, p := range strings.Fields(s) {
			if rest, ok := strings.CutPrefix(p, module+"/"); ok {
				r = append(r, rest)
			}
		}
		return r
	}
	var pkgs []pkgImports
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 3 {
			t.Fatalf("go list printed %q", line)
		}
		p := pkgImports{path: strings.TrimPrefix(f[0], module+"/"), imports: ours(f[1])}
		for _, d := range ours(f[2]) {
			if d != p.path && !contains(p.imports, d) && !contains(p.tests, d) {
				p.tests = append(p.tests, d)
			}
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestImportLayers enforces the layering: firmware-bridge imports nothing of
// ours; devices may import firmware-bridge; provisioning may import devices and
// firmware-bridge; every layer may use the module's internal leaves (which
// import nothing of ours); only gateway imports everything. Tests are held to
// the same layers as their package, but for layerTestExceptions.
func TestImportLayers(t *testing.T) {
	layer := func(pkg string) string {
		top, _, _ := strings.Cut(pkg, "/")
		return top
	}
	allowed := map[string][]string{
		"firmware-bridge": {"firmware-bridge", "internal"},
		"devices":         {"devices", "firmware-bridge", "internal"},
		"provisioning":    {"provisioning", "devices", "firmware-bridge", "internal"},
		"internal":        {"internal"}, // shared leaves (atomicfile)
	}
	used := map[[2]string]bool{}
	checked := 0
	for _, p := range listImports(t) {
		ok, constrained := allowed[layer(p.path)]
		if !constrained {
			continue
		}
		checked++
		for _, d := range p.imports {
			if l := layer(d); !contains(ok, l) {
				t.Errorf("%s imports %s: %s may import only %v", p.path, d, layer(p.path), ok)
			}
		}
		for _, d := range p.tests {
			if _, exc := layerTestExceptions[[2]string{p.path, d}]; exc {
				used[[2]string{p.path, d}] = true
				continue
			}
			if l := layer(d); !contains(ok, l) {
				t.Errorf("%s's tests import %s: %s may import only %v", p.path, d, layer(p.path), ok)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no layered package found: the check checks nothing")
	}
	checkStale(t, layerTestExceptions, used)
}

// layerTestExceptions are tests' imports across TestImportLayers' layers, each
// with the reason it is there. The test fails when one is no longer needed.
var layerTestExceptions = map[[2]string]string{
	{"firmware-bridge/link", "devices/serialport"}: "the link's tests run the gateway end on the gateway's own serial port over a real PTY",
	{"firmware-bridge/c", "devices/serialport"}:    "the C device's tests run the gateway end on the gateway's own serial port over a real PTY",
}

// checkStale fails for every exception the check did not need.
func checkStale(t *testing.T, exceptions map[[2]string]string, used map[[2]string]bool) {
	t.Helper()
	var stale []string
	for e := range exceptions {
		if !used[e] {
			stale = append(stale, e[0]+" → "+e[1])
		}
	}
	sort.Strings(stale)
	for _, e := range stale {
		t.Errorf("the exception %s is no longer needed: remove it", e)
	}
}

// gatewayRanks ranks gateway's own packages, bottom first. A package imports
// only gateway packages of lower ranks, so packages of one rank know nothing
// of each other. "x/..." names x's subpackages; an exact name is more specific.
// A new package gets its rank here.
var gatewayRanks = [][]string{
	// What the gateway publishes and where it keeps it; the broker tests run.
	{"gateway/envelope", "gateway/journal", "gateway/logging", "gateway/mqtttest"},
	// The MQTT contract's schemas; its tests validate envelope's output.
	{"gateway/contract"},
	// The parts the daemon runs, each on the journal alone.
	{"gateway/sinks", "gateway/intake", "gateway/config", "gateway/sdnotify"},
	// Parts built on parts: sinks are written to the sinks package's
	// contract, the uplink (the first sink) too. The code and test kits the
	// sink kinds share are here too. The console renders what the admin
	// service answers and the intake taps.
	{"gateway/uplink", "gateway/sinks/filesink", "gateway/sinks/internal/...", "gateway/console"},
	// Commands answer through the uplink; metrics' tests read an uplink.
	{"gateway/commands", "gateway/metrics"},
	// The sinks' test kit, which reads what a runner reports through the
	// gateway's /metrics; then the platform sinks' kit built on it.
	{"gateway/sinks/sinkstest"},
	{"gateway/sinks/internal/cloudtest"},
	// Sinks whose tests run beside the file sink, with the sinks' test kits.
	{"gateway/sinks/..."},
	// The registry of sinks.
	{"gateway/sinks/all"},
	// The wiring: a gateway's, and officegate connect's (the sinks fed
	// from the backbone).
	{"gateway/daemon", "gateway/connect"},
	// The daemon with emulated devices and a broker; the console driven
	// in a browser against such a daemon.
	{"gateway/demo", "gateway/console/browser"},
	// The programs, and the module-wide tests (the fleet test runs the
	// officegate binary, built, not imported).
	{"gateway/cmd/...", "gateway", "gateway/fleet"},
}

// testExceptions are upward imports of a package's tests, each with the reason
// it is still there. The test fails when one is no longer needed.
var testExceptions = map[[2]string]string{}

// gatewayRank is pkg's rank in gatewayRanks, or -1 if it has none.
func gatewayRank(pkg string) int {
	best, bestLen := -1, -1
	for r, names := range gatewayRanks {
		for _, n := range names {
			switch {
			case n == pkg:
				return r
			case strings.HasSuffix(n, "/..."):
				prefix := strings.TrimSuffix(n, "...")
				if strings.HasPrefix(pkg, prefix) && len(prefix) > bestLen {
					best, bestLen = r, len(prefix)
				}
			}
		}
	}
	return best
}

// TestGatewayRanks enforces gatewayRanks: every gateway package has a rank,
// and imports, its tests included, go only downwards. A package's tests may
// also import its own subpackages (a sink framework's tests use a real sink).
func TestGatewayRanks(t *testing.T) {
	used := map[[2]string]bool{}
	checked := 0
	for _, p := range listImports(t) {
		if p.path != "gateway" && !strings.HasPrefix(p.path, "gateway/") {
			continue
		}
		r := gatewayRank(p.path)
		if r < 0 {
			t.Errorf("%s has no rank: add it to gatewayRanks in gateway/layers_test.go", p.path)
			continue
		}
		checked++
		check := func(d, what string, test bool) {
			if !strings.HasPrefix(d, "gateway/") {
				return // the other layers are TestImportLayers'
			}
			dr := gatewayRank(d)
			if dr >= 0 && dr < r {
				return
			}
			if test && strings.HasPrefix(d, p.path+"/") {
				return
			}
			if _, ok := testExceptions[[2]string{p.path, d}]; ok && test {
				used[[2]string{p.path, d}] = true
				return
			}
			t.Errorf("%s %s %s (rank %d): a gateway package of rank %d imports only lower ranks (gatewayRanks)", p.path, what, d, dr, r)
		}
		for _, d := range p.imports {
			check(d, "imports", false)
		}
		for _, d := range p.tests {
			check(d, "has tests that import", true)
		}
	}
	if checked < 10 {
		t.Fatalf("ranked %d gateway packages: the check checks nothing", checked)
	}
	checkStale(t, testExceptions, used)
}

// TestGatewayRank pins how names match gatewayRanks.
func TestGatewayRank(t *testing.T) {
	for pkg, want := range map[string]int{
		"gateway/journal":         0,
		"gateway/sinks":           2,
		"gateway/sinks/filesink":  3,
		"gateway/sinks/sinkstest": 5,
		"gateway/sinks/webhook":   7,
		"gateway/sinks/all":       8,
		"gateway/cmd/officegate":  11,
		"gateway/cmd/bench":       11,
		"gateway":                 11,
		"gateway/nosuchpackage":   -1,
		"gateway/journalx":        -1,
		"gateway/cmdx/officegate": -1,
	} {
		if got := gatewayRank(pkg); got != want {
			t.Errorf("gatewayRank(%q) = %d, want %d", pkg, got, want)
		}
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
