package console

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/officegate/officegate/internal/atomicfile"
)

// Role is what a console user may do. Each role may do what the ones
// below it may.
type Role int

const (
	// Viewer sees every page, without secrets, and changes nothing.
	Viewer Role = iota + 1
	// Operator also pulses doors, syncs clocks, approves and rejects
	// devices, pushes configuration and approves walk-in visitors.
	Operator
	// Admin also renames, retires and replaces devices, opens and closes
	// enrollment windows, imports manifests and runs firmware rollouts.
	Admin
)

var roleNames = [...]string{Viewer: "viewer", Operator: "operator", Admin: "admin"}

func (r Role) String() string {
	if r >= Viewer && r <= Admin {
		return roleNames[r]
	}
	return fmt.Sprintf("role(%d)", int(r))
}

// ParseRole parses viewer, operator or admin.
func ParseRole(s string) (Role, error) {
	if i := slices.Index(roleNames[:], s); i > 0 {
		return Role(i), nil
	}
	return 0, fmt.Errorf("console: role %q: want viewer, operator or admin", s)
}

// User is one line of the users file.
type User struct {
	Name string
	Role Role
	hash []byte // bcrypt
}

// The users file: one user per line, "NAME ROLE BCRYPT-HASH", separated by
// single spaces; '#' starts a comment line. Names are 1..64 of
// a-z 0-9 . _ - @. The file holds hashes only, never a password, and is
// written mode 0600, atomically.

// BcryptCost is the bcrypt work factor: about 50 ms on a Pi 4's core, so a
// login is fast for a person and a guessed password costs an attacker
// offline that much each.
const BcryptCost = 10

// MinPassword is the shortest password accepted.
const MinPassword = 8

// maxPassword is bcrypt's limit: it ignores bytes past 72, so a longer
// password would be a lie about its strength.
const maxPassword = 72

// Errors of the users file.
var (
	ErrNoUser     = errors.New("console: no such user")
	ErrUserExists = errors.New("console: user already exists")
)

// Users is the parsed users file.
type Users struct {
	list []User
}

// LoadUsers reads the users file at path. A missing file is no users.
func LoadUsers(path string) (*Users, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Users{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("console: users file: %w", err)
	}
	return parseUsers(path, b)
}

func parseUsers(path string, b []byte) (*Users, error) {
	u := &Users{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, " ")
		if len(f) != 3 {
			return nil, fmt.Errorf("console: %s:%d: want NAME ROLE HASH", path, n)
		}
		if err := checkName(f[0]); err != nil {
			return nil, fmt.Errorf("console: %s:%d: %w", path, n, err)
		}
		role, err := ParseRole(f[1])
		if err != nil {
			return nil, fmt.Errorf("console: %s:%d: %w", path, n, err)
		}
		if _, err := bcrypt.Cost([]byte(f[2])); err != nil {
			return nil, fmt.Errorf("console: %s:%d: user %q: not a bcrypt hash", path, n, f[0])
		}
		if _, ok := u.find(f[0]); ok {
			return nil, fmt.Errorf("console: %s:%d: user %q twice", path, n, f[0])
		}
		u.list = append(u.list, User{Name: f[0], Role: role, hash: []byte(f[2])})
	}
	return u, sc.Err()
}

func checkName(s string) error {
	if len(s) == 0 || len(s) > 64 {
		return fmt.Errorf("user name %q: 1 to 64 characters", s)
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '@') {
			return fmt.Errorf("user name %q: only a-z 0-9 . _ - @", s)
		}
	}
	return nil
}

func (u *Users) find(name string) (int, bool) {
	i := slices.IndexFunc(u.list, func(x User) bool { return x.Name == name })
	return i, i >= 0
}

// List returns the users, without their hashes.
func (u *Users) List() []User {
	out := make([]User, len(u.list))
	for i, x := range u.list {
		out[i] = User{Name: x.Name, Role: x.Role}
	}
	return out
}

// dummyHash is compared against when the user does not exist, so that an
// unknown name takes as long as a wrong password. It is a constant (the hash
// of "officegate-no-such-user" at BcryptCost; TestDummyHash), not made when
// the package initialises: that cost every officegate command, console or
// not, tens of milliseconds of CPU at its start.
var dummyHash = []byte("$2a$10$9AMuqjwlgW8u3ODUMsUTg.7xt1N4Du2Qm4/aMwV9yK9Pj/qESOhxq")

// Check returns the user if password is theirs.
func (u *Users) Check(name, password string) (User, bool) {
	i, ok := u.find(name)
	h := dummyHash
	if ok {
		h = u.list[i].hash
	}
	if bcrypt.CompareHashAndPassword(h, []byte(password)) != nil || !ok {
		return User{}, false
	}
	return User{Name: name, Role: u.list[i].Role}, true
}

func checkPassword(p string) error {
	switch {
	case len(p) < MinPassword:
		return fmt.Errorf("console: password of %d bytes: at least %d", len(p), MinPassword)
	case len(p) > maxPassword:
		return fmt.Errorf("console: password of %d bytes: at most %d (bcrypt ignores the rest)", len(p), maxPassword)
	}
	return nil
}

// AddUser adds a user to the users file at path (made if missing).
func AddUser(path, name string, role Role, password string) error {
	return editUsers(path, func(u *Users) error {
		if err := checkName(name); err != nil {
			return fmt.Errorf("console: %w", err)
		}
		if role < Viewer || role > Admin {
			return fmt.Errorf("console: %v: want viewer, operator or admin", role)
		}
		if _, ok := u.find(name); ok {
			return fmt.Errorf("%w: %q", ErrUserExists, name)
		}
		h, err := hash(password)
		if err != nil {
			return err
		}
		u.list = append(u.list, User{Name: name, Role: role, hash: h})
		return nil
	})
}

// SetPassword changes a user's password; role, if not zero, their role.
func SetPassword(path, name string, role Role, password string) error {
	return editUsers(path, func(u *Users) error {
		i, ok := u.find(name)
		if !ok {
			return fmt.Errorf("%w: %q", ErrNoUser, name)
		}
		h, err := hash(password)
		if err != nil {
			return err
		}
		u.list[i].hash = h
		if role != 0 {
			u.list[i].Role = role
		}
		return nil
	})
}

// RemoveUser removes a user; their sessions end at their next request.
func RemoveUser(path, name string) error {
	return editUsers(path, func(u *Users) error {
		i, ok := u.find(name)
		if !ok {
			return fmt.Errorf("%w: %q", ErrNoUser, name)
		}
		u.list = slices.Delete(u.list, i, i+1)
		return nil
	})
}

func hash(password string) ([]byte, error) {
	if err := checkPassword(password); err != nil {
		return nil, err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), BcryptCost)
	if err != nil {
		return nil, fmt.Errorf("console: hash: %w", err)
	}
	return h, nil
}

func editUsers(path string, f func(*Users) error) error {
	u, err := LoadUsers(path)
	if err != nil {
		return err
	}
	if err := f(u); err != nil {
		return err
	}
	var b bytes.Buffer
	b.WriteString("# officegate console users: NAME ROLE BCRYPT-HASH (officegate console user add|passwd|remove)\n")
	for _, x := range u.list {
		fmt.Fprintf(&b, "%s %s %s\n", x.Name, x.Role, x.hash)
	}
	if err := atomicfile.WriteFile(path, b.Bytes(), 0o600); err != nil {
		return fmt.Errorf("console: users file: %w", err)
	}
	return nil
}
