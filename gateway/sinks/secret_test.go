package sinks_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/officegate/officegate/gateway/sinks"
)

// TestReadSecretFile: a secret file is read whole; a file too large to be a
// secret, or missing, is refused with the setting and the path, and the
// error never quotes the content.
func TestReadSecretFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(small, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(big, []byte(strings.Repeat("hunter2 ", sinks.MaxSecretFile)), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := sinks.ReadSecretFile("password_file", small); err != nil || string(b) != "s3cret\n" {
		t.Fatalf("small: %q, %v", b, err)
	}
	_, err := sinks.ReadSecretFile("password_file", big)
	if err == nil || !strings.Contains(err.Error(), "password_file") || !strings.Contains(err.Error(), big) || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("big: %v", err)
	}
	if _, err := sinks.ReadSecretFile("secret_file", filepath.Join(dir, "none")); err == nil || !strings.Contains(err.Error(), "secret_file") {
		t.Fatalf("missing: %v", err)
	}
}
