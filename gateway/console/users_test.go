package console_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/officegate/officegate/gateway/console"
)

// TestUsersFile: add, check, passwd, remove; the file holds hashes only,
// mode 0600; a damaged line is refused with its line number.
func TestUsersFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "users")
	if err := console.AddUser(p, "ada", console.Admin, "first secret"); err != nil {
		t.Fatal(err)
	}
	if err := console.AddUser(p, "ada", console.Viewer, "other secret"); !errors.Is(err, console.ErrUserExists) {
		t.Fatalf("twice: %v", err)
	}
	for _, bad := range []string{"Ada", "a b", "", strings.Repeat("a", 65)} {
		if err := console.AddUser(p, bad, console.Viewer, "long enough"); err == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
	if err := console.AddUser(p, "bob", console.Viewer, "short"); err == nil {
		t.Error("a short password was accepted")
	}
	u, err := console.LoadUsers(p)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := u.Check("ada", "first secret"); !ok || got.Role != console.Admin {
		t.Fatalf("Check: %+v %v", got, ok)
	}
	if _, ok := u.Check("ada", "wrong"); ok {
		t.Fatal("a wrong password passed")
	}
	if _, ok := u.Check("nobody", "first secret"); ok {
		t.Fatal("an unknown user passed")
	}
	if err := console.SetPassword(p, "ada", 0, "second secret"); err != nil {
		t.Fatal(err)
	}
	u, _ = console.LoadUsers(p)
	if _, ok := u.Check("ada", "second secret"); !ok {
		t.Fatal("new password refused")
	}
	b, _ := os.ReadFile(p)
	fi, _ := os.Stat(p)
	if strings.Contains(string(b), "secret") || fi.Mode().Perm() != 0o600 {
		t.Fatalf("users file mode %v holds:\n%s", fi.Mode(), b)
	}
	if err := console.RemoveUser(p, "ada"); err != nil {
		t.Fatal(err)
	}
	if err := console.RemoveUser(p, "ada"); !errors.Is(err, console.ErrNoUser) {
		t.Fatalf("remove twice: %v", err)
	}
	os.WriteFile(p, []byte("# users\nada admin not-a-hash\n"), 0o600)
	if _, err := console.LoadUsers(p); err == nil || !strings.Contains(err.Error(), ":2: user \"ada\": not a bcrypt hash") {
		t.Fatalf("damaged file: %v", err)
	}
}
