package rollout_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/officegate/officegate/provisioning/rollout"
	"github.com/officegate/officegate/provisioning/rollout/rollouttest"
)

// imageDirs makes a firmware directory holding a signed fw.bin (raw
// signature), vendor/hex.bin (hex signature) and current.bin → fw.bin, and a
// directory beside it, outside, holding secret.bin and a FIFO.
func imageDirs(t *testing.T) (dir, outside string, img rollout.Image) {
	t.Helper()
	base := t.TempDir()
	dir, outside = filepath.Join(base, "firmware"), filepath.Join(base, "outside")
	for _, d := range []string{dir, filepath.Join(dir, "vendor"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	img = rollouttest.Image("2.0.0", 3000, sign)
	write := func(p string, b []byte) {
		t.Helper()
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "fw.bin"), img.Data)
	write(filepath.Join(dir, "fw.bin.sig"), img.Signature)
	write(filepath.Join(dir, "vendor", "hex.bin"), img.Data)
	write(filepath.Join(dir, "vendor", "hex.bin.sig"), []byte(" "+hex.EncodeToString(img.Signature)+"\n"))
	write(filepath.Join(outside, "secret.bin"), img.Data)
	write(filepath.Join(outside, "secret.bin.sig"), img.Signature)
	for _, l := range []struct{ name, target string }{{"current.bin", "fw.bin"}, {"current.bin.sig", "fw.bin.sig"}} {
		if err := os.Symlink(l.target, filepath.Join(dir, l.name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{filepath.Join(dir, "pipe"), filepath.Join(outside, "pipe")} {
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir, outside, img
}

// read calls Read, failing the test if it does not return promptly (a FIFO
// opened for reading blocks until a writer comes: none ever does here).
func read(t *testing.T, im rollout.Images, name string) (rollout.Image, error) {
	t.Helper()
	type res struct {
		img rollout.Image
		err error
	}
	done := make(chan res, 1)
	go func() {
		img, err := im.Read(name, "2.0.0")
		done <- res{img, err}
	}()
	select {
	case r := <-done:
		return r.img, r.err
	case <-time.After(10 * time.Second):
		t.Fatalf("Read(%q) still blocked after 10 s", name)
		return rollout.Image{}, nil
	}
}

func TestImagesRead(t *testing.T) {
	dir, outside, img := imageDirs(t)
	im := rollout.Images{Dir: dir}
	for _, name := range []string{"fw.bin", "./fw.bin", "vendor/hex.bin", "current.bin", filepath.Join(dir, "fw.bin"), filepath.Join(dir, "vendor", "hex.bin")} {
		got, err := read(t, im, name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !bytes.Equal(got.Data, img.Data) || !bytes.Equal(got.Signature, img.Signature) || !bytes.Equal(got.SHA256, img.SHA256) || got.Version != "2.0.0" {
			t.Errorf("%s: read %d bytes, signature %x", name, len(got.Data), got.Signature)
		}
		if err := got.Verify(signer.Public().(ed25519.PublicKey)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if filepath.IsAbs(got.Path) || strings.Contains(got.Path, "..") {
			t.Errorf("%s: Path %q, want the name in the directory", name, got.Path)
		}
	}

	// Everything that is not a regular file inside the directory gets one
	// error, the same whatever lies outside: a caller learns nothing about
	// files elsewhere, and nothing blocks or reads without bound.
	links := map[string]string{
		"out.bin":     filepath.Join(outside, "secret.bin"),
		"out-rel.bin": "../outside/secret.bin",
		"none.bin":    "/nonexistent",
		"zero.bin":    "/dev/zero",
		"passwd.bin":  "/etc/passwd",
		"fifo.bin":    filepath.Join(outside, "pipe"),
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	refused := []string{
		"/dev/zero", "/etc/passwd", "/nonexistent", "/etc", "/proc/self/environ",
		filepath.Join(outside, "secret.bin"), filepath.Join(outside, "pipe"),
		"../outside/secret.bin", "../outside/nonexistent", "vendor/../fw.bin", filepath.Join(dir, "..", "outside", "secret.bin"),
		"pipe", "vendor", ".", "", "missing.bin", "fw.bin\x00",
		"out.bin", "out-rel.bin", "none.bin", "zero.bin", "passwd.bin", "fifo.bin",
	}
	var first string
	for _, name := range refused {
		_, err := read(t, im, name)
		if !errors.Is(err, rollout.ErrNoImage) {
			t.Errorf("%q: %v, want ErrNoImage", name, err)
			continue
		}
		text := strings.ReplaceAll(err.Error(), fmt.Sprintf("%q", name), "NAME")
		if first == "" {
			first = text
		}
		if text != first {
			t.Errorf("%q: error %q differs from %q", name, text, first)
		}
		if strings.Contains(text, outside) || strings.Contains(text, "no such file") || strings.Contains(text, "permission") || strings.Contains(text, "escapes") {
			t.Errorf("%q: error tells why: %q", name, text)
		}
	}
}

func TestImagesCap(t *testing.T) {
	dir, _, img := imageDirs(t)
	// A sparse file of 64 GiB: refused on its size before any read (reading
	// it, as the gateway once did with /dev/zero, would exhaust memory).
	huge := filepath.Join(dir, "huge.bin")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(64 << 30); err != nil {
		t.Skipf("no sparse files here: %v", err)
	}
	f.Close()
	os.WriteFile(huge+".sig", img.Signature, 0o600)
	if _, err := read(t, rollout.Images{Dir: dir}, "huge.bin"); err == nil || !strings.Contains(err.Error(), "larger than the cap of 16777216 bytes") {
		t.Errorf("64 GiB image: %v", err)
	}
	// One byte over a configured cap is refused; exactly the cap is read.
	im := rollout.Images{Dir: dir, MaxBytes: int64(len(img.Data)) - 1}
	if _, err := read(t, im, "fw.bin"); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("larger than the cap of %d bytes", im.MaxBytes)) {
		t.Errorf("over the cap: %v", err)
	}
	im.MaxBytes++
	if _, err := read(t, im, "fw.bin"); err != nil {
		t.Errorf("at the cap: %v", err)
	}
	// Empty images and unusable signatures.
	os.WriteFile(filepath.Join(dir, "empty.bin"), nil, 0o600)
	os.WriteFile(filepath.Join(dir, "empty.bin.sig"), img.Signature, 0o600)
	if _, err := read(t, im, "empty.bin"); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty image: %v", err)
	}
	var sigErr string
	for name, sig := range map[string]string{"nosig.bin": "", "passwd-sig.bin": "/etc/passwd", "none-sig.bin": "/nonexistent", "big-sig.bin": "big"} {
		os.WriteFile(filepath.Join(dir, name), img.Data, 0o600)
		switch sig {
		case "":
		case "big":
			os.WriteFile(filepath.Join(dir, name+".sig"), make([]byte, 4096), 0o600)
		default:
			os.Symlink(sig, filepath.Join(dir, name+".sig"))
		}
		_, err := read(t, im, name)
		if err == nil {
			t.Errorf("%s: read without a usable signature", name)
			continue
		}
		text := strings.ReplaceAll(err.Error(), name, "NAME")
		if sigErr == "" {
			sigErr = text
		}
		if text != sigErr || !strings.Contains(text, "no usable signature") {
			t.Errorf("%s: %q (first: %q)", name, text, sigErr)
		}
	}
}
