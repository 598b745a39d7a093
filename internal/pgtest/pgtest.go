// Package pgtest runs a throw-away PostgreSQL cluster for tests, on a loopback port.
//
// Start finds initdb, pg_ctl and postgres on PATH or, as Debian installs
// them off PATH, in /usr/lib/postgresql/<version>/bin (the newest), makes a
// cluster in a temporary directory with password authentication, and starts
// it listening on 127.0.0.1 only, with no Unix socket. Without the binaries
// the test is skipped, or fails under CI=true (the README's test command
// installs Debian's postgresql package through .ci/test).
//
// PostgreSQL refuses to run as root. When the test runs as root, the
// cluster is made and run as the unprivileged user "nobody": its directory
// is created for that user and the binaries are started with that user's
// credentials (exec.Cmd's SysProcAttr.Credential); nothing else runs as it.
package pgtest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
)

// Password is the superuser's password in every cluster.
const Password = "pgtest-superuser-pw"

// User is the superuser's name.
const User = "postgres"

// Cluster is a running PostgreSQL.
type Cluster struct {
	// Immutable.
	Port    int
	Dir     string // the cluster's data directory
	bin     string
	cred    *syscall.Credential // nil unless run as another user
	logFile string
	base    string     // the temporary directory holding it all
	t       testing.TB // for Start and Stop; nil for New's clusters
}

// Opts configure Start; nil means the defaults.
type Opts struct {
	// Fsync keeps fsync on, as in production (benchmarks); tests turn it
	// off: they kill the gateway or the server, never the machine.
	Fsync bool
}

// BinDir is the directory holding initdb and pg_ctl, or an error saying
// where it looked.
func BinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "pg_ctl")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("pgtest: no initdb on PATH or in /usr/lib/postgresql/*/bin (Debian package postgresql)")
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// Start makes and starts a cluster, stopped and removed at the end of the
// test; without the binaries it skips the test, or fails it under CI=true.
func Start(t testing.TB, o *Opts) *Cluster {
	t.Helper()
	if _, err := BinDir(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	c.t = t
	t.Cleanup(c.Close)
	return c
}

// New makes and starts a cluster for a program (the benchmark); Close
// stops and removes it.
func New(o *Opts) (*Cluster, error) {
	if o == nil {
		o = &Opts{}
	}
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	base, err := os.MkdirTemp("", "pgtest")
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin, base: base, Dir: filepath.Join(base, "data"), logFile: filepath.Join(base, "postgres.log")}
	if err := c.make(o); err != nil {
		os.RemoveAll(base)
		return nil, err
	}
	if err := c.start(); err != nil {
		os.RemoveAll(base)
		return nil, err
	}
	return c, nil
}

func (c *Cluster) make(o *Opts) error {
	var err error
	if os.Geteuid() == 0 {
		if c.cred, err = nobody(); err != nil {
			return err
		}
		if err := os.Chmod(c.base, 0o755); err != nil {
			return err
		}
		if err := os.Chown(c.base, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			return err
		}
	}
	pw := filepath.Join(c.base, "pw")
	if err := os.WriteFile(pw, []byte(Password+"\n"), 0o600); err != nil {
		return err
	}
	defer os.Remove(pw)
	if c.cred != nil {
		os.Chown(pw, int(c.cred.Uid), int(c.cred.Gid))
	}
	if err := c.run("initdb", "-D", c.Dir, "-U", User, "--pwfile", pw, "-A", "scram-sha-256", "-E", "UTF8", "--locale", "C", "--no-sync"); err != nil {
		return err
	}
	// fsync off keeps a commit in the page cache, which survives Stop (the
	// server killed, not the machine); synchronous_commit stays on, or a
	// commit the client was told of could be lost by Stop.
	conf := fmt.Sprintf("listen_addresses = '127.0.0.1'\nunix_socket_directories = ''\nfsync = %v\nfull_page_writes = %v\nmax_connections = 50\n",
		onOff(o.Fsync), onOff(o.Fsync))
	f, err := os.OpenFile(filepath.Join(c.Dir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	f.WriteString(conf)
	if err := f.Close(); err != nil {
		return err
	}
	c.Port, err = freePort()
	return err
}

// Close stops the cluster and removes its files.
func (c *Cluster) Close() {
	c.pgctl("stop", "-m", "immediate")
	os.RemoveAll(c.base)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// Start starts the cluster again after Stop, on the same port.
func (c *Cluster) Start() {
	c.t.Helper()
	if err := c.start(); err != nil {
		c.t.Fatal(err)
	}
}

func (c *Cluster) start() error {
	if err := c.pgctl("start", "-w", "-t", "60", "-l", c.logFile, "-o", fmt.Sprintf("-p %d", c.Port)); err != nil {
		log, _ := os.ReadFile(c.logFile)
		return fmt.Errorf("pgtest: pg_ctl start: %w\n%s", err, log)
	}
	return nil
}

// Stop stops the cluster at once (connections are cut, as in a crash).
func (c *Cluster) Stop() {
	c.t.Helper()
	if err := c.pgctl("stop", "-w", "-m", "immediate"); err != nil {
		c.t.Fatalf("pgtest: pg_ctl stop: %v", err)
	}
}

// URL is a connection string for the superuser on database "postgres".
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/postgres?sslmode=disable", User, Password, c.Port)
}

func (c *Cluster) pgctl(args ...string) error {
	args = append([]string{"-D", c.Dir}, args...)
	cmd := exec.Command(filepath.Join(c.bin, "pg_ctl"), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	c.as(cmd)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w: %s", err, bytes.TrimSpace(out.Bytes()))
	}
	return nil
}

func (c *Cluster) run(name string, args ...string) error {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	c.as(cmd)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgtest: %s: %w\n%s", name, err, out)
	}
	return nil
}

// as runs cmd as the cluster's user, with a neutral environment (no PG*
// variables of the caller's).
func (c *Cluster) as(cmd *exec.Cmd) {
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "TZ=UTC"}
	cmd.Dir = filepath.Dir(c.Dir)
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
		cmd.Env = append(cmd.Env, "HOME="+filepath.Dir(c.Dir))
	}
}

// nobody is the credential of the unprivileged user "nobody".
func nobody() (*syscall.Credential, error) {
	u, err := user.Lookup("nobody")
	if err != nil {
		return nil, fmt.Errorf("pgtest: running as root, PostgreSQL needs an unprivileged user: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("pgtest: user nobody: uid %q gid %q", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

// freePort is a loopback port free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
