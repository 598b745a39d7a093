package kiosk_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/escpos"
	"github.com/officegate/officegate/devices/escpos/escpossim"
	"github.com/officegate/officegate/devices/gpio"
	"github.com/officegate/officegate/devices/kiosk"
)

func TestCheckInPrintsAndReleases(t *testing.T) {
	r := newRig(t, rigOpts{}).start()
	r.invite("inv-1", "OG-INV-7Q4X9K2M", "张伟")
	r.scan("OG-INV-7Q4X9K2M")

	in := r.sink.wait(t, kiosk.TypeCheckedIn, 1)
	wantData(t, in, map[string]any{"invite_id": "inv-1", "token_hash": hash("OG-INV-7Q4X9K2M"), "name": "张伟",
		"host": "Li Na", "company": "Acme", "method": "qr"})
	if !in.Time.Equal(t0) {
		t.Errorf("checked_in at %v, want the gateway's %v", in.Time, t0)
	}
	r.waitReleases(1)
	pr := r.sink.wait(t, kiosk.TypePrintResult, 1)
	wantData(t, pr, map[string]any{"invite_id": "inv-1", "result": "printed"})
	jobs := r.printer.Jobs()
	if len(jobs) != 1 {
		t.Fatalf("%d jobs on the printer", len(jobs))
	}
	if _, err := escpos.Render(jobs[0]); err != nil {
		t.Fatalf("the badge does not render: %v", err)
	}
	st := r.sink.wait(t, kiosk.TypePrinterState, 1)
	wantData(t, st, map[string]any{"state": "ok"})

	// The second scan the same day checks out.
	r.clk.advance(2 * time.Hour)
	r.scan("OG-INV-7Q4X9K2M")
	out := r.sink.wait(t, kiosk.TypeCheckedOut, 1)
	wantData(t, out, map[string]any{"invite_id": "inv-1", "token_hash": hash("OG-INV-7Q4X9K2M"), "name": "张伟", "method": "qr"})
	// A third checks in again.
	r.scan("OG-INV-7Q4X9K2M")
	r.sink.wait(t, kiosk.TypeCheckedIn, 2)
	noClearToken(t, r.sink.all(), "OG-INV-7Q4X9K2M")

	c := r.k.Status().Counters
	if c["checked_in"] != 2 || c["checked_out"] != 1 || c["lines_accepted"] != 3 {
		t.Errorf("counters %v", c)
	}
}

func TestRejectedThenApproved(t *testing.T) {
	r := newRig(t, rigOpts{}).start()
	r.scan("WALK-IN-1")
	rej := r.sink.wait(t, kiosk.TypeScanRejected, 1)
	scanID, _ := rej.Data["scan_id"].(string)
	wantData(t, rej, map[string]any{"token_hash": hash("WALK-IN-1"), "reason": "unknown", "pending_approval": true, "scan_id": scanID})
	if len(scanID) != 16 {
		t.Fatalf("scan_id %q", scanID)
	}
	if r.releases() != 0 {
		t.Fatal("door released for an unknown token")
	}
	r.clk.advance(10 * time.Second)
	d := r.mustOK("visitor.approve", map[string]any{"scan_id": scanID, "name": "王芳", "host": "Li Na"})
	if d["invite_id"] != "walkin-"+scanID || d["scan_id"] != scanID {
		t.Fatalf("approve result %v", d)
	}
	in := r.sink.wait(t, kiosk.TypeCheckedIn, 1)
	wantData(t, in, map[string]any{"invite_id": "walkin-" + scanID, "token_hash": hash("WALK-IN-1"), "name": "王芳",
		"host": "Li Na", "method": "approved", "scan_id": scanID})
	r.waitReleases(1)
	r.sink.wait(t, kiosk.TypePrintResult, 1)
	if res := r.cmd("visitor.approve", map[string]any{"scan_id": scanID, "name": "x", "host": "y"}); !strings.Contains(res.Error, "already approved") {
		t.Errorf("second approve: %+v", res)
	}
	// The walk-in scans out with the same code.
	r.scan("WALK-IN-1")
	r.sink.wait(t, kiosk.TypeCheckedOut, 1)

	// Past the window.
	r.scan("WALK-IN-2")
	rej = r.sink.wait(t, kiosk.TypeScanRejected, 2)
	r.clk.advance(kiosk.DefaultApproveTimeout + time.Second)
	res := r.cmd("visitor.approve", map[string]any{"scan_id": rej.Data["scan_id"], "name": "x", "host": "y"})
	if res.Status != devices.StatusError || !strings.Contains(res.Error, "approval window closed") {
		t.Fatalf("late approve: %+v", res)
	}
	if res := r.cmd("visitor.approve", map[string]any{"scan_id": "0000000000000000", "name": "x", "host": "y"}); res.Status != devices.StatusError {
		t.Fatalf("approve of an unknown scan: %+v", res)
	}
	if n := len(r.sink.ofType(kiosk.TypeCheckedIn)); n != 1 {
		t.Fatalf("%d check-ins", n)
	}
}

func TestInvitesSurviveRestart(t *testing.T) {
	r := newRig(t, rigOpts{noPrinter: true}).start()
	r.invite("inv-1", "TOKEN-A", "Alice")
	r.invite("inv-2", "TOKEN-B", "Bob")
	r.mustOK("invite.revoke", map[string]any{"token": "TOKEN-B"})
	r.scan("TOKEN-A")
	r.sink.wait(t, kiosk.TypeCheckedIn, 1)
	r.stop()

	r2 := newRig(t, rigOpts{noPrinter: true, dir: r.dir}).start()
	r2.scan("TOKEN-A") // still checked in from before the restart: checks out
	r2.sink.wait(t, kiosk.TypeCheckedOut, 1)
	r2.scan("TOKEN-B")
	rej := r2.sink.wait(t, kiosk.TypeScanRejected, 1)
	if rej.Data["reason"] != "revoked" || rej.Data["invite_id"] != "inv-2" {
		t.Fatalf("revoked invite after restart: %v", rej.Data)
	}
	r2.scan("TOKEN-A")
	r2.sink.wait(t, kiosk.TypeCheckedIn, 1)
}

func TestInviteWindows(t *testing.T) {
	r := newRig(t, rigOpts{noPrinter: true}).start()
	r.mustOK("invite.upsert", map[string]any{"invite_id": "later", "token_hash": hash("LATER-1"), "name": "Later", "host": "H",
		"valid_from": t0.Add(time.Hour).Format(time.RFC3339), "valid_until": t0.Add(2 * time.Hour).Format(time.RFC3339)})
	r.mustOK("invite.upsert", map[string]any{"invite_id": "soon-over", "token": "SOON-1", "name": "Soon", "host": "H",
		"valid_from": t0.Add(-time.Hour).Format(time.RFC3339), "valid_until": t0.Add(time.Minute).Format(time.RFC3339)})
	r.scan("LATER-1")
	if got := r.sink.wait(t, kiosk.TypeScanRejected, 1).Data["reason"]; got != "not_yet_valid" {
		t.Fatalf("reason %v", got)
	}
	r.clk.advance(2 * time.Minute)
	r.scan("SOON-1")
	if got := r.sink.wait(t, kiosk.TypeScanRejected, 2).Data["reason"]; got != "expired" {
		t.Fatalf("reason %v", got)
	}
	r.clk.advance(time.Hour)
	r.scan("LATER-1")
	r.sink.wait(t, kiosk.TypeCheckedIn, 1)
	// visitor.checkout by command.
	r.mustOK("visitor.checkout", map[string]any{"invite_id": "later"})
	out := r.sink.wait(t, kiosk.TypeCheckedOut, 1)
	if out.Data["method"] != "command" {
		t.Fatalf("checkout %v", out.Data)
	}
	if res := r.cmd("visitor.checkout", map[string]any{"invite_id": "later"}); res.Status != devices.StatusError {
		t.Fatalf("second checkout: %+v", res)
	}
	r.waitReleases(1)
	if r.releases() != 1 {
		t.Fatalf("%d releases", r.releases())
	}
}

func TestPaperEndStillOpensDoor(t *testing.T) {
	r := newRig(t, rigOpts{})
	r.printer.SetState(escpossim.State{PaperEnd: true})
	r.start()
	r.invite("inv-1", "TOKEN-A", "Alice")
	if st := r.sink.wait(t, kiosk.TypePrinterState, 1); st.Data["state"] != "paper_end" {
		t.Fatalf("printer.status %v", st.Data)
	}
	r.scan("TOKEN-A")
	r.sink.wait(t, kiosk.TypeCheckedIn, 1)
	r.waitReleases(1)
	pr := r.sink.wait(t, kiosk.TypePrintResult, 1)
	if pr.Data["result"] != "paper_end" || pr.Data["detail"] == nil {
		t.Fatalf("print result %v", pr.Data)
	}
	// Paper back: printer.status changes to ok.
	r.printer.SetState(escpossim.State{})
	if st := r.sink.wait(t, kiosk.TypePrinterState, 2); st.Data["state"] != "ok" {
		t.Fatalf("printer.status %v", st.Data)
	}
}

func TestPrinterUnpluggedMidBadge(t *testing.T) {
	r := newRig(t, rigOpts{})
	r.printer.UnplugAfter(20)
	r.start()
	r.sink.wait(t, kiosk.TypePrinterState, 1) // ok: the poll answered
	r.invite("inv-1", "TOKEN-A", "Alice")
	r.invite("inv-2", "TOKEN-B", "Bob")
	r.scan("TOKEN-A")
	r.waitReleases(1)
	pr := r.sink.wait(t, kiosk.TypePrintResult, 1)
	if pr.Data["result"] != "error" && pr.Data["result"] != "offline" {
		t.Fatalf("print result %v", pr.Data)
	}
	if st := r.sink.wait(t, kiosk.TypePrinterState, 2); st.Data["state"] != "offline" {
		t.Fatalf("printer.status %v", st.Data)
	}
	// The flow goes on: the next visitor gets in, the badge is offline.
	r.scan("TOKEN-B")
	r.sink.wait(t, kiosk.TypeCheckedIn, 2)
	pr = r.sink.wait(t, kiosk.TypePrintResult, 2)
	if pr.Data["result"] != "offline" || pr.Data["invite_id"] != "inv-2" {
		t.Fatalf("print result %v", pr.Data)
	}
	eventually(t, "the second release", func() bool {
		// The first pulse may still hold the strike: busy admits too.
		c := r.k.Status().Counters
		return c["door_released"]+c["door_busy"] == 2
	})
}

func TestScannerGarbage(t *testing.T) {
	r := newRig(t, rigOpts{noPrinter: true}).start()
	r.invite("inv-1", "TOKEN-A", "Alice")
	garbage := []byte{0x00, 0xff, 0x1b, 0x40, 0xfe, 0x07, '\n'}
	if _, err := r.scanM.Write(garbage); err != nil {
		t.Fatal(err)
	}
	r.scan(strings.Repeat("X", 10<<10))
	eventually(t, "the garbage refused", func() bool { return r.k.Status().Counters["too_long"] == 1 })
	r.clk.advance(time.Second) // past the noise rule's quiet spell
	r.scan("TOKEN-A")
	r.sink.wait(t, kiosk.TypeCheckedIn, 1)
	c := r.k.Status().Counters
	if c["non_printable"] != 1 || c["too_long"] != 1 || c["lines_accepted"] != 1 {
		t.Fatalf("counters %v", c)
	}
	if n := len(r.sink.ofType(kiosk.TypeScanRejected)); n != 0 {
		t.Fatalf("%d rejections from garbage", n)
	}
}

func TestNoPrinterChecksIn(t *testing.T) {
	r := newRig(t, rigOpts{noPrinter: true}).start()
	r.invite("inv-1", "TOKEN-A", "Alice")
	r.scan("TOKEN-A")
	r.sink.wait(t, kiosk.TypeCheckedIn, 1)
	r.waitReleases(1)
	r.scan("TOKEN-A")
	r.sink.wait(t, kiosk.TypeCheckedOut, 1) // after the check-in: anything queued with it came first
	for _, e := range r.sink.all() {
		if e.Type == kiosk.TypePrintResult || e.Type == kiosk.TypePrinterState {
			t.Fatalf("%s without a printer", e.Type)
		}
	}
}

func TestBusySinkKeepsOrder(t *testing.T) {
	r := newRig(t, rigOpts{noPrinter: true})
	r.sink.busy = 5
	r.start()
	r.invite("inv-1", "TOKEN-A", "Alice")
	r.scan("UNKNOWN")
	r.scan("TOKEN-A")
	r.scan("TOKEN-A")
	r.sink.wait(t, kiosk.TypeCheckedOut, 1)
	var got []string
	for _, e := range r.sink.all() {
		got = append(got, e.Type)
	}
	want := "visitor.scan_rejected visitor.checked_in visitor.checked_out"
	if strings.Join(got, " ") != want {
		t.Fatalf("events %v, want %s", got, want)
	}
	if c := r.k.Status().Counters; c["busy_retries"] != 5 || c["events_lost"] != 0 {
		t.Fatalf("counters %v", c)
	}
}

func TestDoorCommandsAndContact(t *testing.T) {
	r := newRig(t, rigOpts{noPrinter: true}).start()
	if res := r.cmd("door.pulse", map[string]any{"duration_ms": 8000}); res.Status != devices.StatusError || !strings.Contains(res.Error, "cap of 5000") {
		t.Fatalf("pulse above the cap: %+v", res)
	}
	if d := r.mustOK("door.pulse", map[string]any{"duration_ms": 4000.0}); d["duration_ms"] != int64(4000) {
		t.Fatalf("pulse result %v", d)
	}
	if res := r.cmd("door.pulse", nil); res.Status != devices.StatusBusy {
		t.Fatalf("pulse while released: %+v", res)
	}
	// Someone walks through: open (not forced: released), then closed.
	if err := r.contact.Drive(gpio.High); err != nil {
		t.Fatal(err)
	}
	if e := r.sink.wait(t, kiosk.TypeDoorState, 1); e.Data["state"] != "open" {
		t.Fatalf("door.state %v", e.Data)
	}
	if err := r.contact.Drive(gpio.Low); err != nil {
		t.Fatal(err)
	}
	if e := r.sink.wait(t, kiosk.TypeDoorState, 2); e.Data["state"] != "closed" {
		t.Fatalf("door.state %v", e.Data)
	}
	r.mustOK("door.mode", map[string]any{"mode": "locked"})
	if res := r.cmd("door.pulse", map[string]any{}); res.Status != devices.StatusError || !strings.Contains(res.Error, "locked") {
		t.Fatalf("pulse in locked mode: %+v", res)
	}
	// A valid visitor in lockdown: checked in, door stays shut.
	r.invite("inv-1", "TOKEN-A", "Alice")
	before := r.releases()
	r.scan("TOKEN-A")
	r.sink.wait(t, kiosk.TypeCheckedIn, 1)
	eventually(t, "the refusal counted", func() bool { return r.k.Status().Counters["door_refused"] == 1 })
	if r.releases() != before {
		t.Fatal("door released in locked mode")
	}
	r.mustOK("door.mode", map[string]any{"mode": "held_open"})
	if res := r.cmd("door.pulse", nil); res.Status != devices.StatusBusy {
		t.Fatalf("pulse while held open: %+v", res)
	}
	r.mustOK("door.mode", map[string]any{"mode": "normal"})
}

func TestBadCommands(t *testing.T) {
	r := newRig(t, rigOpts{noPrinter: true}).start()
	valid := func() map[string]any {
		return map[string]any{"invite_id": "inv-1", "token": "TOKEN-T", "name": "N", "host": "H",
			"valid_from": t0.Format(time.RFC3339), "valid_until": t0.Add(time.Hour).Format(time.RFC3339)}
	}
	with := func(k string, v any) map[string]any {
		m := valid()
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	for _, c := range []struct {
		name string
		args map[string]any
		want string // in the error
	}{
		{"invite.upsert", with("invite_id", nil), `"invite_id": missing`},
		{"invite.upsert", with("invite_id", "has space"), `"invite_id"`},
		{"invite.upsert", with("token_hash", hash("TOKEN-T")), `exactly one of token and token_hash`},
		{"invite.upsert", with("token", nil), `exactly one of token and token_hash`},
		{"invite.upsert", with("token", "bad\x00token"), `"token"`},
		{"invite.upsert", with("token", "SHORT"), `"token": want 6 to 512 bytes of visible ASCII`},
		{"invite.upsert", with("token", "访客-TOKEN"), `"token": want 6`},
		{"invite.upsert", with("token", "TOKEN WITH SPACE"), `"token": want 6`},
		{"invite.upsert", with("name", strings.Repeat("名", 65)), `"name": 65 characters`},
		{"invite.upsert", with("name", "a\u202eb"), `"name": control or format`},
		{"invite.upsert", with("name", 42), `"name": a int`},
		{"invite.upsert", with("host", ""), `"host": empty`},
		{"invite.upsert", with("valid_from", "tomorrow"), `"valid_from"`},
		{"invite.upsert", with("valid_until", t0.Add(-time.Minute).Format(time.RFC3339)), `valid_from`},
		{"invite.upsert", with("valid_until", t0.Add(-time.Hour).Format(time.RFC3339)), `valid_from`},
		{"invite.upsert", with("colour", "red"), `unknown argument "colour"`},
		{"invite.revoke", map[string]any{"invite_id": "nope"}, `no invite "nope"`},
		{"invite.revoke", map[string]any{"invite_id": "a", "token": "b"}, `exactly one`},
		{"invite.revoke", map[string]any{}, `exactly one of token and token_hash`},
		{"visitor.approve", map[string]any{"name": "x", "host": "y"}, `"scan_id": missing`},
		{"visitor.approve", map[string]any{"scan_id": "abc", "host": "y"}, `"name": missing`},
		{"visitor.checkout", map[string]any{}, `"invite_id": missing`},
		{"door.pulse", map[string]any{"duration_ms": "3000"}, `"duration_ms": a string`},
		{"door.pulse", map[string]any{"duration_ms": 50}, `"duration_ms"`},
		{"door.pulse", map[string]any{"duration_ms": 1500.5}, `"duration_ms"`},
		{"door.pulse", map[string]any{"duration": 3000}, `unknown argument "duration"`},
		{"door.mode", map[string]any{"mode": "open"}, `"mode": "open" is not`},
		{"door.mode", map[string]any{}, `"mode": missing`},
	} {
		res := r.cmd(c.name, c.args)
		if res.Status != devices.StatusError || !strings.Contains(res.Error, c.want) {
			t.Errorf("%s %v: %s %q, want an error with %q", c.name, c.args, res.Status, res.Error, c.want)
		}
		if strings.Contains(res.Error, "bad\x00token") {
			t.Errorf("%s: the error quotes the clear token", c.name)
		}
	}
	if res := r.cmd("user.upsert", nil); res.Status != devices.StatusUnsupported {
		t.Errorf("unknown command: %+v", res)
	}
	// A token already held by a valid invite.
	r.mustOK("invite.upsert", valid())
	if res := r.cmd("invite.upsert", with("invite_id", "inv-2")); !strings.Contains(res.Error, `already the token of invite "inv-1"`) {
		t.Errorf("shared token: %+v", res)
	}
	if d := r.mustOK("invite.upsert", valid()); d["created"] != false {
		t.Errorf("replace: %v", d)
	}
}

func TestRunStopsPromptly(t *testing.T) {
	r := newRig(t, rigOpts{}).start()
	r.sink.wait(t, kiosk.TypePrinterState, 1)
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	r.stop()
	if err := r.k.Run(ctx, r.sink); err == nil {
		t.Fatal("second Run accepted")
	}
	if res := r.cmd("door.pulse", nil); res.Status != devices.StatusError {
		t.Fatalf("door.pulse after Run: %+v", res)
	}
}

// TestDisplay: with display set, the kiosk tells its panel what it decided,
// through the gateway's Send, and a panel that fails never holds up the flow.
func TestDisplay(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	fail := true
	send := func(_ context.Context, device string, c devices.Command) (devices.Result, error) {
		mu.Lock()
		defer mu.Unlock()
		if device != "kiosk-panel" || c.Name != kiosk.CmdDisplay {
			return devices.Result{}, fmt.Errorf("sent %s to %s", c.Name, device)
		}
		if fail {
			fail = false
			return devices.Failed(errors.New("panel unplugged")), nil
		}
		lines = append(lines, c.Args["line"].(string))
		return devices.OK(nil), nil
	}
	r := newRigWith(t, rigOpts{extra: "display = \"kiosk-panel\"\n"}, send).start()
	r.invite("inv-1", "TOKEN-1", "王芳")
	r.scan("NOT-AN-INVITE") // its line fails at the panel
	r.sink.wait(t, kiosk.TypeScanRejected, 1)
	r.scan("TOKEN-1")
	r.sink.wait(t, kiosk.TypeCheckedIn, 1)
	r.waitReleases(1)
	eventually(t, "the welcome line on the panel", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(lines) == 1
	})
	if busy, why := r.k.Busy("kiosk-panel"); !busy || why == "" {
		t.Errorf("kiosk panel not busy right after a check-in: %v %q", busy, why)
	}
	if busy, _ := r.k.Busy("t-lobby-1"); busy {
		t.Error("busy for a device that is not the kiosk's panel")
	}
	if !strings.HasPrefix(lines[0], "Welcome, 王芳") {
		t.Errorf("panel shows %q", lines[0])
	}
	// The displayer counts a line once the panel's Send has returned: the
	// count may trail the line the panel shows. Wait for both sends to be
	// counted, then check how.
	eventually(t, "both panel sends counted", func() bool {
		c := r.k.Status().Counters
		return c["display_failed"]+c["display_sent"] >= 2
	})
	if c := r.k.Status().Counters; c["display_failed"] != 1 || c["display_sent"] != 1 {
		t.Errorf("display counters %v", c)
	}
}

// TestBadgeChecksOut: the badge's QR holds the visit's token hash, never the
// token; scanned, it checks the visitor out, and it never checks anyone in.
func TestBadgeChecksOut(t *testing.T) {
	r := newRig(t, rigOpts{}).start()
	r.invite("inv-1", "TOKEN-1", "王芳")
	r.scan("TOKEN-1")
	r.sink.wait(t, kiosk.TypeCheckedIn, 1)
	eventually(t, "the badge printed", func() bool { return len(r.printer.Jobs()) == 1 })
	job := string(r.printer.Jobs()[0])
	code := kiosk.BadgePrefix + hash("TOKEN-1")
	if !strings.Contains(job, code) || strings.Contains(job, "TOKEN-1") {
		t.Fatalf("badge QR: want %q and never the token", code)
	}
	r.scan(code)
	out := r.sink.wait(t, kiosk.TypeCheckedOut, 1)
	if out.Data["invite_id"] != "inv-1" {
		t.Errorf("checked out %v", out.Data)
	}
	r.scan(code) // not checked in any more: a badge does not check in
	rej := r.sink.wait(t, kiosk.TypeScanRejected, 1)
	if rej.Data["reason"] != kiosk.ReasonUnknown || len(r.sink.ofType(kiosk.TypeCheckedIn)) != 1 {
		t.Errorf("badge scanned after checkout: %v, %d check-ins", rej.Data, len(r.sink.ofType(kiosk.TypeCheckedIn)))
	}
}

// gatedSink is busy until opened.
type gatedSink struct {
	open atomic.Bool
	next devices.Sink
}

func (g *gatedSink) Emit(ctx context.Context, e devices.Event) error {
	if !g.open.Load() {
		return fmt.Errorf("journal behind: %w", devices.ErrBusy)
	}
	return g.next.Emit(ctx, e)
}

// TestShutdownDrains: a check-in decided while the journal was busy is not
// lost when the gateway stops: the kiosk hands its queue to the sink, which
// outlives it, before Run returns.
func TestShutdownDrains(t *testing.T) {
	r := newRig(t, rigOpts{noPrinter: true})
	r.invite("inv-1", "TOKEN-1", "王芳")
	g := &gatedSink{next: r.sink}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.k.Run(ctx, g) }()
	eventually(t, "the scanner's port to open", func() bool { return r.k.Status().Online })
	r.scan("TOKEN-1")
	r.waitReleases(1) // let in; its event waits for the busy journal
	if n := len(r.sink.ofType(kiosk.TypeCheckedIn)); n != 0 {
		t.Fatalf("%d check-ins through a busy sink", n)
	}
	cancel()
	g.open.Store(true) // the journal catches up as the drivers stop
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(hang):
		t.Fatal("Run did not return")
	}
	if n := len(r.sink.ofType(kiosk.TypeCheckedIn)); n != 1 {
		t.Errorf("%d check-ins delivered at shutdown, want 1", n)
	}
	if lost := r.k.Status().Counters["events_lost"]; lost != 0 {
		t.Errorf("%d events lost at shutdown", lost)
	}
}
