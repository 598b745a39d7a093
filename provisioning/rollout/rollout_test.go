package rollout_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/provisioning/rollout"
	"github.com/officegate/officegate/provisioning/rollout/rollouttest"
)

var signer = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))

func sign(sha []byte) []byte { return ed25519.Sign(signer, msg.FirmwareSigningInput(sha)) }

// events records what Progress receives.
type events struct {
	mu  sync.Mutex
	evs []rollout.Event
}

func (e *events) add(ev rollout.Event) { e.mu.Lock(); e.evs = append(e.evs, ev); e.mu.Unlock() }

func (e *events) all() []rollout.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.evs)
}

func (e *events) has(f func(rollout.Event) bool) bool { return slices.ContainsFunc(e.all(), f) }

func newOrch(t *testing.T, dir string, fleet rollout.Fleet, mod func(*rollout.Config)) (*rollout.Orchestrator, *events) {
	t.Helper()
	ev := new(events)
	cfg := rollout.Config{Dir: dir, PublicKey: signer.Public().(ed25519.PublicKey), Fleet: fleet, Progress: ev.add,
		DeferRetry: time.Millisecond, Probation: time.Millisecond, Poll: time.Millisecond, BootTimeout: 10 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	o, err := rollout.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o, ev
}

func wait(t *testing.T, r *rollout.Rollout) rollout.Record {
	t.Helper()
	select {
	case <-r.Done():
	case <-time.After(30 * time.Second): // a hang, not a timing assertion
		t.Fatalf("rollout %s did not end: %+v", r.ID(), r.Snapshot())
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return r.Snapshot()
}

// waitFor polls cond: the fakes have no change notification the test can
// reach without racing the orchestrator.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func phases(rec rollout.Record) map[string]rollout.Phase {
	m := map[string]rollout.Phase{}
	for _, d := range rec.Devices {
		m[d.ID] = d.Phase
	}
	return m
}

func fleet(ids ...string) rollouttest.Fleet {
	f := rollouttest.Fleet{}
	for _, id := range ids {
		f[id] = rollouttest.New("1.0.0")
	}
	return f
}

func TestAllConfirmed(t *testing.T) {
	f := fleet("a", "b", "c", "d")
	var orch atomic.Pointer[rollout.Orchestrator]
	o, ev := newOrch(t, t.TempDir(), f, func(c *rollout.Config) {
		c.Parallel = 2
		add := c.Progress
		c.Progress = func(e rollout.Event) {
			// Progress may look at the rollout: no lock is held.
			if o := orch.Load(); o != nil {
				for _, r := range o.Rollouts() {
					r.Snapshot()
				}
			}
			add(e)
		}
	})
	orch.Store(o)
	img := rollouttest.Image("2.0.0", 5000, sign)
	r, err := o.Start(rollout.Spec{Image: img, Devices: []string{"a", "b", "c", "d"}})
	if err != nil {
		t.Fatal(err)
	}
	rec := wait(t, r)
	if rec.State != rollout.Done {
		t.Fatalf("state %s: %s", rec.State, rec.Reason)
	}
	for id, d := range f {
		if st := d.Status(); st.Firmware != "2.0.0" || st.Image != msg.ImageConfirmed {
			t.Errorf("%s: %+v", id, st)
		}
		if d.Overlapped() {
			t.Errorf("%s: two operations at once", id)
		}
	}
	last := ev.all()[len(ev.all())-1]
	if last.Summary == nil || *last.Summary != (rollout.Summary{Confirmed: 4}) {
		t.Fatalf("last event %+v", last)
	}
	if !ev.has(func(e rollout.Event) bool {
		return e.Device == "c" && e.Phase == rollout.Transferring && e.Sent == 5000 && e.Total == 5000
	}) {
		t.Error("no transfer progress reported for c")
	}
	if _, err := os.Stat(filepath.Join(o.Config().Dir, rec.ID+".img")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("kept image still there after the end: %v", err)
	}
}

func TestBadSignatureRefused(t *testing.T) {
	f := fleet("a")
	dir := t.TempDir()
	o, _ := newOrch(t, dir, f, nil)
	img := rollouttest.Image("2.0.0", 5000, sign)
	img.Data[100] ^= 1 // the bytes are no longer what was signed
	img = rollout.NewImage(img.Path, img.Version, img.Data, img.Signature)
	_, err := o.Start(rollout.Spec{Image: img, Devices: []string{"a"}})
	if !errors.Is(err, rollout.ErrBadSignature) || !strings.Contains(err.Error(), img.Path) {
		t.Fatalf("start: %v, want a bad signature naming the image", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("state directory holds %d files after a refusal", len(ents))
	}
	if c := f["a"].Calls(); len(c) != 0 {
		t.Errorf("device got %v", c)
	}
}

func TestCanaryFailsHalts(t *testing.T) {
	f := fleet("a", "b", "c")
	f["a"].FailTestBoot(true)
	o, ev := newOrch(t, t.TempDir(), f, nil)
	r, err := o.Start(rollout.Spec{Image: rollouttest.Image("2.0.0", 3000, sign), Devices: []string{"a", "b", "c"}})
	if err != nil {
		t.Fatal(err)
	}
	rec := wait(t, r)
	if rec.State != rollout.Halted || !strings.Contains(rec.Reason, "canary a rolled_back") || !strings.Contains(rec.Reason, "test_boot_failed") {
		t.Fatalf("state %s, reason %q", rec.State, rec.Reason)
	}
	want := map[string]rollout.Phase{"a": rollout.RolledBack, "b": rollout.Waiting, "c": rollout.Waiting}
	if got := phases(rec); !maps(got, want) {
		t.Fatalf("phases %v, want %v", got, want)
	}
	for _, id := range []string{"b", "c"} {
		if c := f[id].Calls(); len(c) != 0 {
			t.Errorf("%s touched: %v", id, c)
		}
	}
	if !ev.has(func(e rollout.Event) bool {
		return e.Summary != nil && *e.Summary == rollout.Summary{RolledBack: 1, Untouched: 2}
	}) {
		t.Errorf("no summary: %+v", ev.all())
	}
	// The state file says the same, in the format doc.go describes.
	b, err := os.ReadFile(filepath.Join(o.Config().Dir, rec.ID+".rollout"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Format  int                              `json:"format"`
		State   string                           `json:"state"`
		Reason  string                           `json:"reason"`
		Image   struct{ Version, SHA256 string } `json:"firmware"`
		Devices []struct {
			ID, Phase, Reason string
			Attempts          int
			Finished          string
		}
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	if file.Format != 1 || file.State != "halted" || file.Reason != rec.Reason || file.Image.Version != "2.0.0" ||
		len(file.Image.SHA256) != 64 || len(file.Devices) != 3 || file.Devices[0].Phase != "rolled_back" ||
		file.Devices[0].Attempts != 1 || file.Devices[0].Finished == "" || file.Devices[1].Phase != "waiting" {
		t.Errorf("state file:\n%s", b)
	}
	// The halted rollout no longer holds b and c.
	r2, err := o.Start(rollout.Spec{Image: rollouttest.Image("2.0.1", 3000, sign), Devices: []string{"b"}})
	if err != nil {
		t.Fatalf("b after the halt: %v", err)
	}
	wait(t, r2)
}

func maps(a, b map[string]rollout.Phase) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestNonCanaryRollbackReported: after the canary, a device that reverts
// is reported and the others go on.
func TestNonCanaryRollbackReported(t *testing.T) {
	f := fleet("a", "b", "c")
	f["b"].FailTestBoot(true)
	o, ev := newOrch(t, t.TempDir(), f, nil)
	r, err := o.Start(rollout.Spec{Image: rollouttest.Image("2.0.0", 3000, sign), Devices: []string{"a", "b", "c"}})
	if err != nil {
		t.Fatal(err)
	}
	rec := wait(t, r)
	want := map[string]rollout.Phase{"a": rollout.Confirmed, "b": rollout.RolledBack, "c": rollout.Confirmed}
	if rec.State != rollout.Done || !maps(phases(rec), want) {
		t.Fatalf("%s %v", rec.State, phases(rec))
	}
	if !ev.has(func(e rollout.Event) bool {
		return e.Device == "b" && e.Phase == rollout.RolledBack && strings.Contains(e.Reason, "test_boot_failed")
	}) {
		t.Error("rollback of b not reported with its reason")
	}
}

func TestBusyDeferred(t *testing.T) {
	f := fleet("kiosk")
	var free atomic.Bool
	var asked atomic.Int32
	o, ev := newOrch(t, t.TempDir(), f, func(c *rollout.Config) {
		c.Busy = func(id string) (bool, string) {
			if asked.Add(1) > 3 {
				free.Store(true)
			}
			return !free.Load(), "kiosk mid check-in"
		}
	})
	r, err := o.Start(rollout.Spec{Image: rollouttest.Image("2.0.0", 3000, sign), Devices: []string{"kiosk"}})
	if err != nil {
		t.Fatal(err)
	}
	rec := wait(t, r)
	if d := rec.Devices[0]; d.Phase != rollout.Confirmed || d.Deferrals != 1 {
		t.Fatalf("%+v", d)
	}
	if !ev.has(func(e rollout.Event) bool {
		return e.Phase == rollout.Deferred && e.Reason == "deferred: kiosk mid check-in"
	}) {
		t.Error("deferral not reported")
	}
	if c := f["kiosk"].Calls(); c[0] != "transfer" || !free.Load() {
		t.Errorf("calls %v", c)
	}
}

func TestOneRolloutPerDevice(t *testing.T) {
	f := fleet("a", "b")
	f["a"].StallAt(1024)
	dir := t.TempDir()
	o, _ := newOrch(t, dir, f, nil)
	r1, err := o.Start(rollout.Spec{Image: rollouttest.Image("2.0.0", 4096, sign), Devices: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a mid-transfer", func() bool { return f["a"].Held() >= 1024 })
	_, err = o.Start(rollout.Spec{Image: rollouttest.Image("3.0.0", 4096, sign), Devices: []string{"b", "a"}})
	if !errors.Is(err, rollout.ErrInRollout) || !strings.Contains(err.Error(), r1.ID()) || !strings.Contains(err.Error(), `"a"`) {
		t.Fatalf("second rollout on a: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("state directory holds %d files, want the first rollout's 2", len(ents))
	}
	if c := f["b"].Calls(); len(c) != 0 {
		t.Errorf("b touched by a refused rollout: %v", c)
	}
	f["a"].StallAt(0)
	if rec := wait(t, r1); rec.State != rollout.Done {
		t.Fatal(rec.State)
	}
	if f["a"].Overlapped() {
		t.Error("two operations at once on a")
	}
}

// TestResumeMidTransfer: the orchestrator is closed while a device holds
// part of the image; a new one on the same directory resumes the transfer
// from there and finishes.
func TestResumeMidTransfer(t *testing.T) {
	f := fleet("a", "b")
	f["a"].StallAt(2048)
	dir := t.TempDir()
	o, _ := newOrch(t, dir, f, nil)
	r, err := o.Start(rollout.Spec{Image: rollouttest.Image("2.0.0", 8192, sign), Devices: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a mid-transfer", func() bool { return f["a"].Held() >= 2048 })
	o.Close()
	if rec := r.Snapshot(); rec.State != rollout.Running || phases(rec)["a"] != rollout.Transferring {
		t.Fatalf("after close: %s %v", rec.State, phases(rec))
	}
	f["a"].StallAt(0)
	o2, ev := newOrch(t, dir, f, nil)
	if _, err := o2.Start(rollout.Spec{Image: rollouttest.Image("3.0.0", 100, sign), Devices: []string{"b"}}); !errors.Is(err, rollout.ErrInRollout) {
		t.Fatalf("b claimed by the unfinished rollout before Resume: %v", err)
	}
	rs, err := o2.Resume()
	if err != nil || len(rs) != 1 || rs[0].ID() != r.ID() {
		t.Fatalf("resume: %v %v", rs, err)
	}
	rec := wait(t, rs[0])
	if rec.State != rollout.Done || !maps(phases(rec), map[string]rollout.Phase{"a": rollout.Confirmed, "b": rollout.Confirmed}) {
		t.Fatalf("%s %v", rec.State, phases(rec))
	}
	if s := f["a"].Starts(); len(s) != 2 || s[0] != 0 || s[1] < 2048 {
		t.Errorf("transfer to a started from %v, want 0 then where it stopped", s)
	}
	if d := rec.Devices[0]; d.Attempts != 2 {
		t.Errorf("a: %d attempts, want 2", d.Attempts)
	}
	if !ev.has(func(e rollout.Event) bool { return e.Reason == "resumed" }) {
		t.Error("no resumed event")
	}
}

// TestResumeInTestBoot: closed while the canary runs its test image
// (probation); after the restart the device is found in test and
// confirmed; one that reverted meanwhile is reported rolled back.
func TestResumeInTestBoot(t *testing.T) {
	for _, revert := range []bool{false, true} {
		f := fleet("a")
		dir := t.TempDir()
		o, _ := newOrch(t, dir, f, func(c *rollout.Config) { c.Probation = time.Hour })
		r, err := o.Start(rollout.Spec{Image: rollouttest.Image("2.0.0", 2000, sign), Devices: []string{"a"}})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "a in test", func() bool { return f["a"].Status().Image == msg.ImageTesting })
		o.Close()
		if p := phases(r.Snapshot())["a"]; p != rollout.Testing {
			t.Fatalf("after close: %s", p)
		}
		if revert {
			// The gateway was down for 15 minutes: the bootloader reverted.
			f["a"] = rollouttest.New("1.0.0")
			f["a"].FailTestBoot(true)
			f["a"].Transfer(context.Background(), rollouttest.Image("2.0.0", 2000, sign), func(int64) {})
			f["a"].TestBoot(context.Background(), rollouttest.Image("2.0.0", 2000, sign).SHA256)
		}
		o2, _ := newOrch(t, dir, f, nil)
		rs, err := o2.Resume()
		if err != nil || len(rs) != 1 {
			t.Fatal(rs, err)
		}
		rec := wait(t, rs[0])
		want := rollout.Confirmed
		if revert {
			want = rollout.RolledBack
		}
		if p := phases(rec)["a"]; p != want {
			t.Fatalf("revert=%v: a %s (%s), want %s", revert, p, rec.Devices[0].Reason, want)
		}
		if n := strings.Count(strings.Join(f["a"].Calls(), " "), "testboot"); !revert && n != 1 {
			t.Errorf("test boot %d times", n)
		}
	}
}

// TestDamagedStateRefused: a state file that does not parse stops New
// with its name; it is left as it is.
func TestDamagedStateRefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "20260101T000000Z-deadbeef.rollout")
	os.WriteFile(path, []byte(`{"format":1,"id":"20260101T0`), 0o600)
	_, err := rollout.New(rollout.Config{Dir: dir, PublicKey: signer.Public().(ed25519.PublicKey), Fleet: fleet()})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("new: %v", err)
	}
	if b, _ := os.ReadFile(path); len(b) == 0 {
		t.Error("damaged file reset")
	}
}

// TestRefusals: unknown and duplicate devices are refused before anything
// is written; an unplugged device fails its transfer after the timeout
// instead of holding the rollout, and as a canary halts it.
func TestRefusals(t *testing.T) {
	f := fleet("a", "b")
	dir := t.TempDir()
	o, _ := newOrch(t, dir, f, func(c *rollout.Config) { c.TransferTimeout = 20 * time.Millisecond })
	img := rollouttest.Image("2.0.0", 3000, sign)
	for _, devs := range [][]string{{"a", "nope"}, {"a", "b", "a"}, nil} {
		if _, err := o.Start(rollout.Spec{Image: img, Devices: devs}); err == nil {
			t.Errorf("%q accepted", devs)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("state directory holds %d files after refusals", len(ents))
	}
	f["a"].SetOnline(false)
	r, err := o.Start(rollout.Spec{Image: img, Devices: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	rec := wait(t, r)
	if d := rec.Devices[0]; rec.State != rollout.Halted || d.Phase != rollout.Failed || !strings.Contains(d.Reason, "transfer not finished") {
		t.Fatalf("%s: %+v", rec.State, d)
	}
}
