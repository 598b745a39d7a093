package systemd

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// tool finds a system tool. Outside CI a missing one skips the test; under
// CI=true it fails it, so a missing install step in .ci/run cannot pass
// unnoticed.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	for _, p := range []string{name, "/usr/bin/" + name, "/usr/sbin/" + name, "/bin/" + name} {
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

var build struct {
	once sync.Once
	dir  string
	bin  string
	err  error
	out  []byte
}

// binary builds officegate once for the package's tests.
func binary(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "officegate-systemd-test")
		if build.err != nil {
			return
		}
		build.bin = filepath.Join(build.dir, "officegate")
		cmd := exec.Command("go", "build", "-o", build.bin, "github.com/officegate/officegate/gateway/cmd/officegate")
		build.out, build.err = cmd.CombinedOutput()
	})
	if build.err != nil {
		t.Fatalf("go build: %v\n%s", build.err, build.out)
	}
	return build.bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	os.Exit(code)
}
