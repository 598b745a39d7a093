package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/officegate/officegate/gateway/console"
)

// TestConsoleUsers: add, passwd, list and remove through the command line,
// with the users file named by the configuration's [console] section.
func TestConsoleUsers(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "og.toml")
	os.WriteFile(cfg, []byte("[gateway]\nid = \"gw\"\n[mqtt]\nurl = \"tcp://127.0.0.1\"\n[console]\nlisten = \"127.0.0.1:0\"\ntls = false\nusers_file = \"users\"\n"), 0o600)
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("a long enough secret\n"), 0o600)
	runOK := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if err := run(context.Background(), args, &out, &errb); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errb.String())
		}
		return out.String()
	}
	runOK("console", "user", "add", "ada", "--role", "admin", "--config", cfg, "--password-file", pw)
	runOK("console", "user", "add", "vic", "--role", "viewer", "--config", cfg, "--password-file", pw)
	if out := runOK("console", "user", "list", "--config", cfg); out != "ada\tadmin\nvic\tviewer\n" {
		t.Fatalf("list: %q", out)
	}
	users := filepath.Join(dir, "users")
	if fi, err := os.Stat(users); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("users file: %v %v", fi, err)
	}
	b, _ := os.ReadFile(users)
	if strings.Contains(string(b), "secret") {
		t.Fatal("the password is in the users file")
	}
	u, _ := console.LoadUsers(users)
	if _, ok := u.Check("ada", "a long enough secret"); !ok {
		t.Fatal("ada cannot log in")
	}
	os.WriteFile(pw, []byte("another fine secret\n"), 0o600)
	runOK("console", "user", "passwd", "ada", "--users", users, "--password-file", pw, "--role", "operator")
	u, _ = console.LoadUsers(users)
	if got, ok := u.Check("ada", "another fine secret"); !ok || got.Role != console.Operator {
		t.Fatalf("after passwd: %+v %v", got, ok)
	}
	runOK("console", "user", "remove", "vic", "--users", users)
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"console", "user", "remove", "vic", "--users", users}, &out, &errb); !errors.Is(err, console.ErrNoUser) {
		t.Fatalf("removing twice: %v", err)
	}
	os.WriteFile(pw, []byte("short\n"), 0o600)
	if err := run(context.Background(), []string{"console", "user", "add", "bob", "--role", "viewer", "--users", users, "--password-file", pw}, &out, &errb); err == nil || !strings.Contains(err.Error(), "at least 8") {
		t.Fatalf("short password: %v", err)
	}
	if err := run(context.Background(), []string{"console", "user", "add", "bob", "--users", users, "--password-file", pw}, &out, &errb); err == nil || !strings.Contains(err.Error(), "--role") {
		t.Fatalf("no role: %v", err)
	}
}
