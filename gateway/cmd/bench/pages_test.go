package main

import (
	"bufio"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

func TestSymbolPackage(t *testing.T) {
	for _, c := range []struct{ sym, want string }{
		{"net/http.(*Server).Serve", "net/http"},
		{"runtime.mallocgc", "runtime"},
		{"github.com/officegate/officegate/gateway/daemon.Run", "github.com/officegate/officegate/gateway/daemon"},
		{"gopkg.in/yaml%2ev3.init", "gopkg.in/yaml%2ev3"},
		{"github.com/nats-io/nats%2ego.(*Conn).Publish", "github.com/nats-io/nats%2ego"},
		{"type:*net/http.Server", "type:"},
		{"go:func.*", "go:"},
		{"main.main", "main"},
	} {
		if got := symbolPackage(c.sym); got != c.want {
			t.Errorf("symbolPackage(%q) = %q, want %q", c.sym, got, c.want)
		}
	}
}

// TestResidentPages builds a small program twice, stripped and not, as the
// pages command builds officegate, runs the stripped one until it has
// called a function of its own, and accounts its resident pages: that
// function's page is among them, .text has resident pages, and
// the tallies by section and by package each add up to all of them.
func TestResidentPages(t *testing.T) {
	dir := t.TempDir()
	src := `package main

import (
	"fmt"
	"os"
	"time"
)

//go:noinline
func marker() uintptr { return 1 }

func main() {
	fmt.Println(marker())
	os.Stdout.Sync()
	time.Sleep(time.Minute)
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module marker\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bin, syms := filepath.Join(dir, "marker"), filepath.Join(dir, "marker.symbols")
	for _, b := range []struct{ out, ldflags string }{{bin, "-s -w"}, {syms, ""}} {
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", b.ldflags, "-o", b.out, ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	img, err := readImage(bin, syms)
	if err != nil {
		t.Fatal(err)
	}
	marker := uint64(0)
	f, err := elf.Open(syms)
	if err != nil {
		t.Fatal(err)
	}
	ss, _ := f.Symbols()
	f.Close()
	for _, s := range ss {
		if s.Name == "main.marker" {
			marker = s.Value
		}
	}
	if marker == 0 {
		t.Fatal("no symbol main.marker")
	}
	cmd := exec.Command(bin)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil { // marker has run
		t.Fatal(err)
	}
	pages, err := residentPages(cmd.Process.Pid, bin)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(pages, marker&^4095) {
		t.Fatalf("the page of main.marker (%#x) is not among the %d resident pages", marker, len(pages))
	}
	r := img.account(pages)
	var secs, pkgs, text uint64
	for _, s := range r.sections {
		secs += s.resident
		if s.name == ".text" {
			text = s.resident
		}
	}
	for _, p := range r.packages {
		pkgs += p.resident
	}
	all := uint64(len(pages)) * 4096
	if text == 0 || secs != all || pkgs != all {
		t.Fatalf(".text %d bytes; sections add up to %d, packages to %d, of %d resident", text, secs, pkgs, all)
	}
	if r.blocks == 0 || r.blocks > len(pages) {
		t.Errorf("%d blocks of 64 KiB for %d pages", r.blocks, len(pages))
	}
	if _, err := readImage(bin, filepath.Join(dir, "main.go")); err == nil {
		t.Error("readImage took a file that is not the build's twin")
	}
}
