package admin_test

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/officegate/officegate/firmware-bridge/fwemu"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/link/linktest"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/provisioning"
	"github.com/officegate/officegate/provisioning/admin"
	"github.com/officegate/officegate/provisioning/admin/admintest"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	reg   *provisioning.Registry
	links *admintest.Links
	clk   *clock
	svc   *admin.Service
}

func cborMap(t *testing.T, m map[string]any) []byte {
	t.Helper()
	b, err := cbor.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newFixture opens a registry in a temp dir holding: TERM-0001 active as
// term-1 (profile "lobby"), KIOSK-0001 active as kiosk-1, TERM-0002 pending.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	clk := &clock{t: time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)}
	reg, err := provisioning.OpenWith(t.TempDir(), provisioning.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		hw   string
		kind msg.Kind
	}{{"TERM-0001", msg.KindAttendance}, {"KIOSK-0001", msg.KindKiosk}, {"TERM-0002", msg.KindAttendance}} {
		if _, err := reg.Pending(p.hw, p.kind, "OG-EMU-1", "/dev/ttyUSB-"+p.hw, "1.0.0"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := reg.Approve("TERM-0001", "term-1", "Lobby terminal", "lobby", "lobby"); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Approve("KIOSK-0001", "kiosk-1", "", "reception", ""); err != nil {
		t.Fatal(err)
	}
	links := &admintest.Links{}
	svc, err := admin.New(admin.Deps{Registry: reg, Links: links, Now: clk.Now, PushWait: 20 * time.Second,
		Profiles: map[string][]byte{"lobby": cborMap(t, map[string]any{"door_ms": 3000}), "floor2": cborMap(t, map[string]any{"lang": "zh-CN"})}})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{reg: reg, links: links, clk: clk, svc: svc}
}

func TestListJoinsLiveLinks(t *testing.T) {
	f := newFixture(t)
	seen := f.clk.Now().Add(-3 * time.Second)
	f.links.SetStatus("/dev/officegate/term1", link.Status{Online: true, HardwareID: "TERM-0001", DeviceID: "term-1",
		Firmware: "1.2.0", ConfigHash: []byte{0xab, 0xcd}, LastSeen: seen})
	f.links.SetStatus("/dev/officegate/new", link.Status{HardwareID: "TERM-0002", Refused: msg.CodePending, LastSeen: seen})
	l := f.svc.List()
	if len(l.Devices) != 3 || !l.Time.Equal(f.clk.Now()) {
		t.Fatalf("list: %+v", l)
	}
	// Sorted by device id, pending last.
	if l.Devices[0].DeviceID != "kiosk-1" || l.Devices[1].DeviceID != "term-1" || l.Devices[2].HardwareID != "TERM-0002" {
		t.Fatalf("order: %+v", l.Devices)
	}
	term := l.Devices[1]
	if !term.Online || term.Firmware != "1.2.0" || term.Port != "/dev/officegate/term1" || term.ConfigHash != "abcd" ||
		!term.LastSeen.Equal(seen) || term.State != "active" || term.Name != "Lobby terminal" || term.Kind != "attendance" || term.Profile != "lobby" {
		t.Errorf("term-1: %+v", term)
	}
	pend := l.Devices[2]
	if pend.State != "pending" || pend.Online || pend.Refused != msg.CodePending.String() || pend.Port != "/dev/officegate/new" {
		t.Errorf("pending: %+v", pend)
	}
	if k := l.Devices[0]; k.Online || k.Firmware != "1.0.0" || k.Port != "/dev/ttyUSB-KIOSK-0001" {
		t.Errorf("kiosk without a link: %+v", k)
	}
	if l.Window != nil || l.Preapprovals != 0 {
		t.Errorf("window %+v, preapprovals %d", l.Window, l.Preapprovals)
	}
}

func TestShowAndMutations(t *testing.T) {
	f := newFixture(t)
	s := f.svc
	if d, err := s.Show("term-1"); err != nil || d.HardwareID != "TERM-0001" {
		t.Fatalf("show by id: %+v %v", d, err)
	}
	if d, err := s.Show("TERM-0002"); err != nil || d.State != "pending" {
		t.Fatalf("show by hardware id: %+v %v", d, err)
	}
	if _, err := s.Show("nope"); !errors.Is(err, provisioning.ErrNotFound) || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("show unknown: %v", err)
	}
	d, err := s.Approve("TERM-0002", "term-2", "", "floor 2", "floor2")
	if err != nil || d.DeviceID != "term-2" || d.State != "active" || d.Keyed || d.Room != "floor 2" {
		t.Fatalf("approve: %+v %v", d, err)
	}
	if d, err := s.Rename("term-2", "Second floor"); err != nil || d.Name != "Second floor" {
		t.Fatalf("rename: %+v %v", d, err)
	}
	if d, err := s.Disable("term-2"); err != nil || d.State != "disabled" {
		t.Fatalf("disable: %+v %v", d, err)
	}
	if d, err := s.Enable("term-2"); err != nil || d.State != "active" {
		t.Fatalf("enable: %+v %v", d, err)
	}
	if d, err := s.Replace("term-2", "TERM-0003"); err != nil || d.HardwareID != "TERM-0003" || d.DeviceID != "term-2" || d.Name != "Second floor" {
		t.Fatalf("replace: %+v %v", d, err)
	}
	if d, err := s.Retire("term-2"); err != nil || d.State != "retired" {
		t.Fatalf("retire: %+v %v", d, err)
	}
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"approve unknown", second(s.Approve("NOPE", "x", "", "", "")), provisioning.ErrNotFound},
		{"approve active", second(s.Approve("TERM-0001", "term-9", "", "", "")), provisioning.ErrState},
		{"approve taken id", second(f.pendingThenApprove(t, "TERM-0009", "term-1")), provisioning.ErrConflict},
		{"approve bad id", second(s.Approve("TERM-0009", "Bad Id", "", "", "")), provisioning.ErrInvalid},
		{"approve unknown profile", second(s.Approve("TERM-0009", "term-9", "", "", "nope")), admin.ErrNoProfile},
		{"rename to a taken name", second(s.Rename("kiosk-1", "Lobby terminal")), provisioning.ErrConflict},
		{"enable a retired id", second(s.Enable("term-2")), provisioning.ErrNotFound},
		{"disable unknown", second(s.Disable("nope")), provisioning.ErrNotFound},
	} {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
		}
	}
}

func (f *fixture) pendingThenApprove(t *testing.T, hw, id string) (admin.Device, error) {
	if _, err := f.reg.Pending(hw, msg.KindAttendance, "OG-EMU-1", "", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	return f.svc.Approve(hw, id, "", "", "")
}

func second[T any](_ T, err error) error { return err }

const badManifest = provisioning.ManifestHeader + `
TERM-0002,term-2,attendance,floor 2,floor2
TERM-0003,Bad Name!,attendance,,
TERM-0004,term-4,toaster,,
TERM-0005,term-2,attendance,,
`

func TestImport(t *testing.T) {
	f := newFixture(t)
	res, err := f.svc.Import([]byte(badManifest))
	if !errors.Is(err, provisioning.ErrManifest) || len(res.Problems) < 3 {
		t.Fatalf("bad manifest: %+v %v", res, err)
	}
	lines := map[int]bool{}
	for _, p := range res.Problems {
		lines[p.Line] = true
	}
	for _, l := range []int{3, 4, 5} {
		if !lines[l] {
			t.Errorf("line %d not named: %+v", l, res.Problems)
		}
	}
	if d, _ := f.svc.Show("TERM-0002"); d.State != "pending" {
		t.Fatalf("a rejected manifest applied something: %+v", d)
	}
	good := provisioning.ManifestHeader + "\nTERM-0002,term-2,attendance,floor 2,floor2\nTERM-01*,term-10,attendance,floor 1,\n"
	res, err = f.svc.Import([]byte(good))
	if err != nil || strings.Join(res.Approved, ",") != "term-2" || strings.Join(res.Waiting, ",") != "term-10" || len(res.Done) != 0 {
		t.Fatalf("good manifest: %+v %v", res, err)
	}
	if l := f.svc.List(); l.Preapprovals != 1 {
		t.Errorf("preapprovals: %d", l.Preapprovals)
	}
	res, err = f.svc.Import([]byte(good))
	if err != nil || len(res.Approved) != 0 || strings.Join(res.Done, ",") != "term-2" || strings.Join(res.Waiting, ",") != "term-10" {
		t.Fatalf("re-import: %+v %v", res, err)
	}
}

func TestEnroll(t *testing.T) {
	f := newFixture(t)
	rules := []admin.Rule{{Kind: "terminal", HardwareID: "TERM-*", Name: "term-{hw[-1:]}", Room: "floor 3"}}
	for _, d := range []time.Duration{0, -time.Minute, 24*time.Hour + time.Second} {
		if _, err := f.svc.Enroll(d, rules); !errors.Is(err, provisioning.ErrInvalid) {
			t.Errorf("window of %v: %v", d, err)
		}
	}
	if _, err := f.svc.Enroll(time.Minute, nil); !errors.Is(err, provisioning.ErrInvalid) {
		t.Errorf("no rules: %v", err)
	}
	if _, err := f.svc.Enroll(time.Minute, []admin.Rule{{Kind: "toaster"}}); !errors.Is(err, provisioning.ErrInvalid) {
		t.Errorf("bad kind: %v", err)
	}
	if _, err := f.svc.Enroll(time.Minute, []admin.Rule{{Profile: "nope"}}); !errors.Is(err, admin.ErrNoProfile) {
		t.Errorf("unknown profile: %v", err)
	}
	w, err := f.svc.Enroll(10*time.Minute, rules)
	if err != nil || !w.Until.Equal(f.clk.Now().Add(10*time.Minute)) || w.Rules[0].Kind != "attendance" {
		t.Fatalf("enroll: %+v %v", w, err)
	}
	// The pending terminal matched at once.
	if d, err := f.svc.Show("term-2"); err != nil || d.HardwareID != "TERM-0002" || d.Room != "floor 3" {
		t.Fatalf("pending device not approved by the rule: %+v %v", d, err)
	}
	if l := f.svc.List(); l.Window == nil || len(l.Window.Rules) != 1 {
		t.Fatalf("list window: %+v", l.Window)
	}
	// A rule without a name gets the default template.
	w, err = f.svc.Enroll(time.Hour, []admin.Rule{{Kind: "kiosk"}})
	if err != nil || w.Rules[0].Name != admin.DefaultNameTemplate {
		t.Fatalf("default name: %+v %v", w, err)
	}
	if err := f.svc.EnrollClose(); err != nil {
		t.Fatal(err)
	}
	if w := f.svc.Enrollment(); !w.Until.IsZero() {
		t.Fatalf("closed window: %+v", w)
	}
	if _, err := f.reg.Pending("TERM-0007", msg.KindAttendance, "m", "", "1"); err != nil {
		t.Fatal(err)
	}
	if d, _ := f.svc.Show("TERM-0007"); d.State != "pending" {
		t.Fatalf("approved after the window closed: %+v", d)
	}
}

// emulated runs a fwemu terminal with hardware id hw behind a real
// link.Gateway over an in-memory pipe; both stop at the test's end.
func emulated(t *testing.T, hw string) (*link.Gateway, *fwemu.Emulator) {
	t.Helper()
	timing := link.Timing{Heartbeat: 150 * time.Millisecond, RTO: 60 * time.Millisecond, AckDelay: 5 * time.Millisecond,
		BusyRetry: 20 * time.Millisecond, HelloMin: 30 * time.Millisecond, HelloMax: 240 * time.Millisecond}
	j := new(linktest.Journal)
	g, err := link.NewGateway(link.GatewayConfig{Sink: j, Store: j, Timing: timing})
	if err != nil {
		t.Fatal(err)
	}
	e, err := fwemu.New(fwemu.Options{StatePath: filepath.Join(t.TempDir(), "flash"), HardwareID: hw, Kind: msg.KindAttendance, Timing: timing})
	if err != nil {
		t.Fatal(err)
	}
	gwEnd, devEnd := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { g.Run(ctx, gwEnd) })
	wg.Go(func() { e.Run(ctx, devEnd) })
	t.Cleanup(func() { cancel(); gwEnd.Close(); devEnd.Close(); wg.Wait(); e.Close() })
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	if err := e.Link().WaitEstablished(wctx); err != nil {
		t.Fatalf("link to %s: %v", hw, err)
	}
	return g, e
}

func TestConfigPush(t *testing.T) {
	f := newFixture(t)
	g, e := emulated(t, "TERM-0001")
	f.links.SetLink("term-1", "/dev/pts/term1", g)
	// A second lobby device, offline: it has a link but nothing on it.
	if _, err := f.pendingThenApprove(t, "TERM-0005", "term-5"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Rename("term-5", "Back door"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := f.svc.ConfigPush(ctx, "nope"); !errors.Is(err, admin.ErrNoProfile) {
		t.Fatalf("unknown profile: %v", err)
	}
	res, err := f.svc.ConfigPush(ctx, "lobby")
	if err != nil || len(res.Devices) != 1 || res.Devices[0] != (admin.PushOutcome{Device: "term-1", Outcome: admin.PushApplied}) {
		t.Fatalf("first push: %+v %v", res, err)
	}
	if got := e.ConfigHash(); len(got) == 0 || res.Hash != hexs(got) {
		t.Fatalf("device holds %x, pushed %s", got, res.Hash)
	}
	res, err = f.svc.ConfigPush(ctx, "lobby")
	if err != nil || res.Devices[0].Outcome != admin.PushUnchanged {
		t.Fatalf("same config again: %+v %v", res, err)
	}
	// The profile changes: it reaches the device; term-5 (no profile) is not touched.
	f.svc.SetProfiles(map[string][]byte{"lobby": cborMap(t, map[string]any{"door_ms": 5000})})
	res, err = f.svc.ConfigPush(ctx, "lobby")
	if err != nil || len(res.Devices) != 1 || res.Devices[0].Outcome != admin.PushApplied || res.Hash != hexs(e.ConfigHash()) {
		t.Fatalf("changed profile: %+v %v", res, err)
	}
	// A configuration the device refuses.
	f.svc.SetProfiles(map[string][]byte{"lobby": {0x01}})
	res, err = f.svc.ConfigPush(ctx, "lobby")
	if err != nil || res.Devices[0].Outcome != admin.PushRejected || res.Devices[0].Code != msg.CodeConfigInvalid.String() {
		t.Fatalf("refused config: %+v %v", res, err)
	}
	// Devices of the profile without a link are offline.
	f.svc.SetProfiles(map[string][]byte{"floor2": {0xa0}})
	if _, err := f.svc.Approve("TERM-0002", "term-2", "", "", "floor2"); err != nil {
		t.Fatal(err)
	}
	res, err = f.svc.ConfigPush(ctx, "floor2")
	if err != nil || len(res.Devices) != 1 || res.Devices[0] != (admin.PushOutcome{Device: "term-2", Outcome: admin.PushOffline}) {
		t.Fatalf("offline: %+v %v", res, err)
	}
}

func hexs(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}
