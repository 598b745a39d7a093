package main

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// initBudget is the most a package of this module may allocate while it
// initialises, in bytes. Every officegate process runs every linked
// package's initialisation, whatever it was started for: a floor gateway
// with no console and no postgres sink paid for the console's bcrypt hash
// and Chinese table and for the config's and the postgres sink's regular
// expressions (23, 42 and 51 KB) before this budget. Work that only some
// commands need is done at its first use (sync.OnceValue) instead.
const initBudget = 4 << 10

// initAllowed are the packages allowed more, and why.
var initAllowed = map[string]int{
	// The CRC-32C tables of the frame check, which every link device uses
	// from its first frame.
	module + "/firmware-bridge/frame": 16 << 10,
}

// initLine is one package's line of GODEBUG=inittrace=1:
// "init PKG @T ms, D ms clock, B bytes, A allocs".
var initLine = regexp.MustCompile(`^init (\S+) @.* clock, (\d+) bytes, (\d+) allocs`)

// TestInitWork runs this test binary again, doing nothing but initialise
// its packages (the binary's, and the tests' few), with the runtime's trace
// of each package's initialisation, and holds the module's packages to
// initBudget. Bytes allocated are a count, not a timing: the same on every
// run of one build.
func TestInitWork(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s -test.run=^$: %v\n%s", os.Args[0], err, out)
	}
	n := 0
	for _, line := range strings.Split(string(out), "\n") {
		m := initLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n++
		pkg := m[1]
		if !strings.HasPrefix(pkg, module+"/") || pkg == module+"/gateway/cmd/officegate" {
			continue // not ours; or this package, whose initialisation here is its tests' too
		}
		bytes, _ := strconv.Atoi(m[2])
		limit := initBudget
		if l, ok := initAllowed[pkg]; ok {
			limit = l
		}
		if bytes > limit {
			t.Errorf("%s allocates %d bytes (%s allocs) while it initialises, more than %d: make that work lazy (sync.OnceValue) or move it to where it is used", pkg, bytes, m[3], limit)
		}
	}
	if n < 50 {
		t.Fatalf("%d lines of inittrace: the check checks nothing\n%s", n, out)
	}
}
