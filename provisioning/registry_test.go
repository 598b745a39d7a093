package provisioning

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// seeded is deterministic randomness for keys.
type seeded struct{ r *rand.ChaCha8 }

func (s seeded) Read(p []byte) (int, error) { return s.r.Read(p) }

var seeds atomic.Uint32

func open(t *testing.T, dir string, c *clock) *Registry {
	t.Helper()
	// A new seed per Open: a reopened registry must not draw the same keys.
	r, err := OpenWith(dir, Options{Now: c.Now, Rand: seeded{rand.NewChaCha8([32]byte{byte(seeds.Add(1))})}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func newTest(t *testing.T) (*Registry, *clock, string) {
	c := &clock{t: t0}
	dir := t.TempDir()
	return open(t, dir, c), c, dir
}

// reopen checks that what r holds is what the disk holds.
func reopen(t *testing.T, r *Registry, c *clock) *Registry {
	t.Helper()
	n := open(t, r.Dir(), c)
	if a, b := r.List(), n.List(); !equalDevices(a, b) {
		t.Fatalf("reopened registry differs:\n%+v\n%+v", a, b)
	}
	return n
}

func equalDevices(a, b []Device) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		x.LastSeen, y.LastSeen = time.Time{}, time.Time{} // lags up to SeenEvery by design
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

func hello(hw string, kind msg.Kind) *msg.Hello {
	return &msg.Hello{HardwareID: hw, Kind: kind, Model: "M1", Firmware: "1.0"}
}

func TestLifecycle(t *testing.T) {
	r, c, dir := newTest(t)
	ctx := context.Background()
	dirp := r.OnPort("/dev/ttyUSB0")

	id, err := dirp.Lookup(ctx, hello("HW-1", msg.KindAttendance))
	if err != nil || id.Enrollment != link.Pending {
		t.Fatalf("unknown device: %+v, %v; want pending", id, err)
	}
	d, err := r.ByHardwareID("HW-1")
	if err != nil || d.State != StatePending || d.Port != "/dev/ttyUSB0" || d.Kind != msg.KindAttendance {
		t.Fatalf("recorded %+v, %v", d, err)
	}
	// Idempotent: the same HELLO again writes nothing.
	st, _ := os.Stat(filepath.Join(dir, RegistryFile))
	c.Add(time.Second)
	if _, err := r.Pending("HW-1", msg.KindAttendance, "M1", "/dev/ttyUSB0", "1.0"); err != nil {
		t.Fatal(err)
	}
	if st2, _ := os.Stat(filepath.Join(dir, RegistryFile)); !os.SameFile(st, st2) {
		t.Error("a repeated HELLO rewrote the registry")
	}

	ident, err := r.Approve("HW-1", "term-1", "Terminal 1", "3F", "std")
	if err != nil {
		t.Fatal(err)
	}
	// Approved, no key yet: the link agrees one at the next HELLO (§6.7).
	if ident.Enrollment != link.Keying || ident.DeviceID != "term-1" || ident.Key != nil {
		t.Fatalf("approve: %+v", ident)
	}
	agreed := link.Key{Epoch: 1, Secret: bytes.Repeat([]byte{7}, 32)}
	if err := r.SetKey(ctx, "HW-1", agreed); err != nil {
		t.Fatal(err)
	}
	got, err := dirp.Lookup(ctx, hello("HW-1", msg.KindAttendance))
	if err != nil || got.Enrollment != link.Enrolled || got.Key == nil || !bytes.Equal(got.Key.Secret, agreed.Secret) || got.Key.Epoch != 1 {
		t.Fatalf("lookup after the key agreement: %+v, %v", got, err)
	}
	if err := r.SetKey(ctx, "HW-9", agreed); !errors.Is(err, ErrNotFound) {
		t.Errorf("key for an unknown unit: %v", err)
	}
	if _, err := r.Approve("HW-1", "term-1", "", "", ""); !errors.Is(err, ErrState) {
		t.Errorf("second approval: %v, want ErrState", err)
	}
	r = reopen(t, r, c)

	if err := r.Rename("term-1", "Lobby terminal"); err != nil {
		t.Fatal(err)
	}
	if err := r.Disable("term-1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.Lookup(ctx, hello("HW-1", msg.KindAttendance)); got.Enrollment != link.Pending || got.Retry != 5*time.Minute || got.Key != nil {
		t.Errorf("disabled: %+v, want pending with the disabled retry", got)
	}
	if err := r.Enable("term-1"); err != nil {
		t.Fatal(err)
	}
	if err := r.Enable("term-1"); err != nil {
		t.Errorf("enabling an active device: %v, want no-op", err)
	}
	r = reopen(t, r, c)
	d, _ = r.Get("term-1")
	if d.Name != "Lobby terminal" || d.State != StateActive || d.Room != "3F" {
		t.Errorf("after rename/disable/enable: %+v", d)
	}

	// Replace by a unit that said HELLO.
	if _, err := r.Pending("HW-2", msg.KindKiosk, "K", "/dev/ttyUSB0", "1"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Replace("term-1", "HW-2"); !errors.Is(err, ErrState) {
		t.Errorf("replace by another kind: %v, want ErrState", err)
	}
	if _, err := r.Pending("HW-3", msg.KindAttendance, "M2", "/dev/ttyUSB0", "2.0"); err != nil {
		t.Fatal(err)
	}
	nid, err := r.Replace("term-1", "HW-3")
	if err != nil {
		t.Fatal(err)
	}
	if nid.DeviceID != "term-1" || nid.Enrollment != link.Keying || nid.Key != nil {
		t.Errorf("replacement identity %+v: want term-1, keying (a fresh key is agreed with the new unit)", nid)
	}
	if got, _ := r.Lookup(ctx, hello("HW-1", msg.KindAttendance)); got.Enrollment != link.Retired {
		t.Errorf("old unit: %+v, want retired", got)
	}
	n, _ := r.Get("term-1")
	if n.HardwareID != "HW-3" || n.Name != "Lobby terminal" || n.Room != "3F" || n.Profile != "std" || n.State != StateActive {
		t.Errorf("Get after replace: %+v", n)
	}
	r = reopen(t, r, c)
	if len(r.st.keys) != 0 {
		t.Errorf("key store holds %d keys: the old unit's key must be gone, the new unit's not agreed yet", len(r.st.keys))
	}

	// Replace by a unit not yet seen, then it says HELLO.
	nid2, err := r.Replace("term-1", "HW-4")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := r.Lookup(ctx, hello("HW-4", msg.KindAttendance)); got.Enrollment != link.Keying || got.DeviceID != nid2.DeviceID {
		t.Errorf("pre-replaced unit: %+v", got)
	}
	if err := r.Retire("term-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Get("term-1"); err != nil {
		t.Errorf("a retired device id is still found: %v", err)
	}
	if err := r.Disable("term-1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("disable retired: %v, want ErrNotFound", err)
	}
	r = reopen(t, r, c)
	if len(r.st.keys) != 0 {
		t.Errorf("%d keys left after every unit retired", len(r.st.keys))
	}
	list := r.List()
	for i := 1; i < len(list); i++ {
		if list[i-1].HardwareID >= list[i].HardwareID {
			t.Errorf("List not sorted: %q before %q", list[i-1].HardwareID, list[i].HardwareID)
		}
	}
}

func TestConflicts(t *testing.T) {
	r, _, _ := newTest(t)
	for _, hw := range []string{"A", "B"} {
		if _, err := r.Pending(hw, msg.KindKiosk, "k", "", "1"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Approve("A", "kiosk-1", "", "", ""); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		id, nm string
		want   error
		hw     string
	}{
		{"same id", "kiosk-1", "x", ErrConflict, "B"},
		{"name is another's id", "kiosk-2", "kiosk-1", ErrConflict, "B"},
		{"bad id", "Kiosk 2", "", ErrInvalid, "B"},
		{"unknown", "kiosk-9", "", ErrNotFound, "Z"},
	} {
		if _, err := r.Approve(c.hw, c.id, c.nm, "", ""); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := r.Approve("B", "kiosk-2", "", "", ""); err != nil {
		t.Fatal(err)
	}
	if err := r.Rename("kiosk-2", "kiosk-1"); !errors.Is(err, ErrConflict) {
		t.Errorf("rename onto another's name: %v", err)
	}
}

// TestSeenThrottle: last-seen reaches the disk at most once per SeenEvery,
// and with every other write.
func TestSeenThrottle(t *testing.T) {
	r, c, dir := newTest(t)
	if _, err := r.Pending("A", msg.KindKiosk, "k", "", "1"); err != nil {
		t.Fatal(err)
	}
	onDisk := func() time.Time {
		n := open(t, dir, c)
		d, _ := n.ByHardwareID("A")
		return d.LastSeen
	}
	first := c.Now()
	if err := r.Seen("A", first); err != nil {
		t.Fatal(err)
	}
	if got := onDisk(); !got.Equal(first) {
		t.Fatalf("first sighting on disk: %v, want %v", got, first)
	}
	for range 5 {
		c.Add(10 * time.Second)
		if err := r.Seen("A", c.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if got := onDisk(); !got.Equal(first) {
		t.Errorf("50 s of sightings were written: %v", got)
	}
	if d, _ := r.ByHardwareID("A"); !d.LastSeen.Equal(c.Now()) {
		t.Errorf("in memory %v, want %v", d.LastSeen, c.Now())
	}
	c.Add(10 * time.Second)
	if err := r.Seen("A", c.Now()); err != nil {
		t.Fatal(err)
	}
	if got := onDisk(); !got.Equal(c.Now()) {
		t.Errorf("after a minute on disk: %v, want %v", got, c.Now())
	}
	if err := r.Seen("nobody", c.Now()); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown: %v", err)
	}
}

func TestConcurrent(t *testing.T) {
	r, _, _ := newTest(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 10 {
				hw := string(rune('a'+g)) + "-" + string(rune('0'+i))
				if _, err := r.Lookup(context.Background(), hello(hw, msg.KindAttendance)); err != nil {
					t.Error(err)
				}
				r.List()
			}
		})
	}
	wg.Wait()
	if n := len(r.List()); n != 80 {
		t.Errorf("%d devices, want 80", n)
	}
}

// TestLookupObserves: an enrolled device's HELLO refreshes its port,
// firmware and config hash (one write), and counts as a sighting; the
// configuration hook fills Identity.Config.
func TestLookupObserves(t *testing.T) {
	c := &clock{t: t0}
	r, err := OpenWith(t.TempDir(), Options{Now: c.Now, Config: func(d Device) []byte { return []byte("cfg:" + d.Profile) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := r.OnPort("/dev/a").Lookup(ctx, hello("HW", msg.KindKiosk)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Approve("HW", "kiosk-1", "", "", "lobby"); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Hour)
	h := hello("HW", msg.KindKiosk)
	h.Firmware, h.ConfigHash = "2.0", []byte{1, 2}
	id, err := r.OnPort("/dev/b").Lookup(ctx, h)
	if err != nil || string(id.Config) != "cfg:lobby" {
		t.Fatalf("%+v %v", id, err)
	}
	// A lookup that does not know its port keeps the binding.
	if _, err := r.Lookup(ctx, h); err != nil {
		t.Fatal(err)
	}
	n := reopen(t, r, c)
	d, _ := n.ByHardwareID("HW")
	if d.Port != "/dev/b" || d.Firmware != "2.0" || !bytes.Equal(d.ConfigHash, []byte{1, 2}) || !d.LastSeen.Equal(c.Now()) {
		t.Errorf("after HELLO: %+v", d)
	}
}
