package link_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/link/linktest"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/internal/testkit"
)

// enrollDir is a Directory with approval by hand and a key store: unknown
// hardware ids are pending until approved, then keying until a key is
// agreed, then enrolled with it.
type enrollDir struct {
	mu       sync.Mutex
	approved map[string]bool
	keys     map[string]link.Key
}

func newEnrollDir() *enrollDir {
	return &enrollDir{approved: map[string]bool{}, keys: map[string]link.Key{}}
}

func (d *enrollDir) Lookup(_ context.Context, h *msg.Hello) (link.Identity, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	id := link.Identity{DeviceID: "dev-" + h.HardwareID, Retry: 20 * time.Millisecond}
	switch k, keyed := d.keys[h.HardwareID]; {
	case keyed:
		id.Enrollment, id.Key = link.Enrolled, &k
	case d.approved[h.HardwareID]:
		id.Enrollment = link.Keying
	default:
		id.Enrollment = link.Pending
	}
	return id, nil
}

func (d *enrollDir) SetKey(_ context.Context, hw string, k link.Key) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.keys[hw] = k
	return nil
}

func (d *enrollDir) approve(hw string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.approved[hw] = true
}

// recorder keeps every byte the device writes to the line.
type recorder struct {
	io.ReadWriter
	mu  sync.Mutex
	buf bytes.Buffer
}

func (r *recorder) Close() error {
	if c, ok := r.ReadWriter.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// borrowed lends the device end of a line to one emulator run. The
// emulator closes its line when its context ends, to end a Read blocked in
// it; Close here does that with a read deadline in the past instead, so
// the descriptor stays open for the next unit plugged into the same line.
// Without it the run's reader waits until the gateway happens to send
// something, and on a loaded machine the gateway may have fallen silent.
type borrowed struct{ f *os.File }

func borrow(t *testing.T, f *os.File) borrowed {
	t.Helper()
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	return borrowed{f}
}

func (b borrowed) Read(p []byte) (int, error)  { return b.f.Read(p) }
func (b borrowed) Write(p []byte) (int, error) { return b.f.Write(p) }
func (b borrowed) Close() error                { return b.f.SetReadDeadline(time.Now()) }

func (r *recorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	r.buf.Write(b)
	r.mu.Unlock()
	return r.ReadWriter.Write(b)
}

func (r *recorder) bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]byte(nil), r.buf.Bytes()...)
}

// TestEnrollment (PROTOCOL.md §6.7): an unknown device waits, pending; once
// approved it agrees a link key with the gateway (nothing secret on the
// wire), keeps it across a restart, and its frames are tagged. A second
// unit claiming its hardware id without the key is refused and counted.
// Frames captured from a session and replayed into the next gateway session
// deliver nothing.
func TestEnrollment(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 30*time.Second)
	dir := newEnrollDir()
	j := new(linktest.Journal)
	g := newGateway(t, j, func(c *link.GatewayConfig) { c.Directory = dir })
	flash := t.TempDir()
	o := emuOpts(t, flash)
	e := newEmu(t, o)
	if _, err := e.EmitN(5); err != nil {
		t.Fatal(err)
	}
	l := newLine(t)
	port := openGateway(t, l)
	run(t, func(ctx context.Context) error { return g.Run(ctx, port) })
	rec := &recorder{ReadWriter: borrow(t, l.dev)}
	stopDev, _ := run(t, func(ctx context.Context) error { return e.Run(ctx, rec) })

	if _, err := g.Wait(ctx, func(s link.Status) bool { return s.Refused == msg.CodePending }); err != nil {
		t.Fatalf("unknown device not pending: %v", err)
	}
	if n := linktest.CountEvents(j.Records()); n != 0 {
		t.Fatalf("%d events from a pending device", n)
	}
	dir.approve("TERM-0001")
	if _, err := g.Wait(ctx, func(s link.Status) bool { return s.Online && s.DeviceID == "dev-TERM-0001" }); err != nil {
		t.Fatalf("approved device never came online: %v", err)
	}
	if err := j.WaitFor(ctx, func(r []link.Record) bool { return linktest.CountEvents(r) >= 5 }); err != nil {
		t.Fatal(err)
	}
	dk, gk := e.Key(), dir.keys["TERM-0001"]
	if dk == nil || !bytes.Equal(dk.Secret, gk.Secret) || dk.Epoch != 1 || gk.Epoch != 1 {
		t.Fatalf("keys differ: device %v, gateway %v", dk, gk)
	}
	if bytes.Contains(rec.bytes(), gk.Secret) {
		t.Fatal("the link key went over the wire")
	}
	if st := g.Stats(); st.Enrolled != 1 {
		t.Errorf("%d key agreements, want 1", st.Enrolled)
	}
	// Every frame after the agreement is tagged: the device's session runs
	// authenticated (the gateway drops untagged frames from it).
	stopDev()

	// The same unit restarted: its key is in flash.
	e2 := newEmu(t, o)
	if e2.Key() != nil && !bytes.Equal(e2.Key().Secret, gk.Secret) {
		t.Fatal("restarted device has another key")
	}
	if _, err := e2.EmitN(3); err != nil {
		t.Fatal(err)
	}
	line2 := borrow(t, l.dev)
	stop2, _ := run(t, func(ctx context.Context) error { return e2.Run(ctx, line2) })
	if err := j.WaitFor(ctx, func(r []link.Record) bool { return linktest.CountEvents(r) >= 8 }); err != nil {
		t.Fatalf("restarted device's events: %v", err)
	}
	stop2()

	// An impostor: another unit claiming the hardware id, without the key.
	before := g.Stats().AuthRefused
	imp := newEmu(t, emuOpts(t, t.TempDir()))
	if _, err := imp.EmitN(2); err != nil {
		t.Fatal(err)
	}
	line3 := borrow(t, l.dev)
	stopImp, _ := run(t, func(ctx context.Context) error { return imp.Run(ctx, line3) })
	if st, err := g.Wait(ctx, func(s link.Status) bool { return s.Refused == msg.CodeAuthRequired }); err != nil {
		t.Fatalf("impostor not refused: %v; status %+v stats %+v", err, st, g.Stats())
	}
	if g.Stats().AuthRefused <= before {
		t.Error("impostor's HELLO not counted as refused")
	}
	stopImp()
	if n := linktest.CountEvents(j.Records()); n != 8 {
		t.Fatalf("%d events after the impostor, want 8", n)
	}

	// Replay: what the device sent in its first sessions, written again
	// into a new gateway's session on a new line.
	g2 := newGateway(t, j, func(c *link.GatewayConfig) { c.Directory = dir })
	l2 := newLine(t)
	port2 := openGateway(t, l2)
	run(t, func(ctx context.Context) error { return g2.Run(ctx, port2) })
	if _, err := l2.dev.Write(rec.bytes()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second) // nothing must come of it; give it time to try
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := linktest.CountEvents(j.Records()); n != 8 {
		t.Fatalf("replayed frames delivered %d events", n-8)
	}
	st := g2.Stats()
	if st.Sessions != 0 {
		t.Errorf("a replayed HELLO opened %d sessions", st.Sessions)
	}
	if r := g2.Status().Refused; r != msg.CodeBootRegressed {
		t.Errorf("replayed HELLO answered %v, want boot_regressed", r)
	}
	t.Logf("replay: %d frames dropped for a bad tag, %d duplicates, sessions %d", st.Dropped[frame.ReasonBadMAC], st.Duplicates, st.Sessions)
}
