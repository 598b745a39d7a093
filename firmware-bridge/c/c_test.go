package c_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/officegate/officegate/devices/serialport"
	"github.com/officegate/officegate/firmware-bridge/c/cdevtest"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/link/linktest"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/internal/testkit"
)

// runProgram builds a test program of test/ and runs it; it must print
// "N passed, 0 failed".
func runProgram(t *testing.T, program string, args ...string) string {
	bin := cdevtest.Build(t, program)
	cmd := exec.Command(bin, args...)
	cmd.Env = cdevtest.Env()
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte(" passed, 0 failed")) {
		t.Fatalf("%s: %v\n%s", program, err, out)
	}
	return string(out)
}

// TestVectors: every entry of testvectors.txt decoded and re-encoded by
// the C code, dropped for the reason it names, and the device's HELLOs
// byte for byte (test/vectors.c).
func TestVectors(t *testing.T) {
	out := runProgram(t, "vectors.c", filepath.Join(cdevtest.Dir(), "..", "testvectors.txt"))
	t.Log(strings.TrimSpace(out))
}

// TestCrypto: SHA-256, HMAC, HKDF, X25519 and Ed25519 against RFC vectors
// and PROTOCOL.md's worked examples (test/crypto_test.c).
func TestCrypto(t *testing.T) { runProgram(t, "crypto_test.c") }

// signer is the test firmware signing key.
var signer = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

func pubHex() string { return hex.EncodeToString(signer.Public().(ed25519.PublicKey)) }

var fastTiming = link.Timing{
	Heartbeat: 300 * time.Millisecond,
	RTO:       100 * time.Millisecond,
	AckDelay:  5 * time.Millisecond,
	BusyRetry: 50 * time.Millisecond,
}

var fastSync = link.TimeSync{Every: time.Second, Samples: 3, Spacing: 30 * time.Millisecond, MaxDelay: 200 * time.Millisecond}

func newGateway(t *testing.T, j *linktest.Journal, mod func(*link.GatewayConfig)) *link.Gateway {
	t.Helper()
	cfg := link.GatewayConfig{Sink: j, Store: j, Timing: fastTiming, TimeSync: fastSync,
		Logf: func(f string, a ...any) { t.Logf(f, a...) }}
	if mod != nil {
		mod(&cfg)
	}
	g, err := link.NewGateway(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// attach runs the gateway on the device's PTY until stop (or the PTY
// goes away, when the device process ends).
func attach(t *testing.T, g *link.Gateway, tty string) (stop func()) {
	t.Helper()
	p, err := serialport.Open(serialport.Config{Name: tty})
	if err != nil {
		t.Fatalf("open %s: %v", tty, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.Run(ctx, p)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			p.Close()
			<-done
		})
	}
	t.Cleanup(stop)
	return stop
}

func waitFor(ctx context.Context, what string, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(5 * time.Millisecond): // polling a condition, bounded by ctx
		}
	}
	return nil
}

// checkPunches asserts the journal holds n punches from boot, numbered 1..n,
// each once, in order.
func checkPunches(t *testing.T, evs []msg.Event, boot uint32, n int) {
	t.Helper()
	var got []msg.Event
	for _, e := range evs {
		if e.ID.Boot == boot {
			got = append(got, e)
		}
	}
	if len(got) != n {
		t.Fatalf("journal holds %d events of boot %d, want %d", len(got), boot, n)
	}
	for i, e := range got {
		if e.ID.Seq != uint32(i+1) || e.Kind != "punch" {
			t.Fatalf("event %d is %v %q, want [%d %d] punch", i, e.ID, e.Kind, boot, i+1)
		}
	}
}

func deviceStatus(t *testing.T, d *cdevtest.Device) cdevtest.Status {
	t.Helper()
	st, err := d.Status()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestEventsAcrossGatewayRestarts: 3000 punches recorded while the
// gateway's link is torn down and replaced three times (a new Gateway on
// the same journal: a gateway process restart) arrive once each, in
// order, and the device's store empties.
func TestEventsAcrossGatewayRestarts(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 90*time.Second)
	j := new(linktest.Journal)
	d := cdevtest.Start(t, t.TempDir(), "-r")
	stop := attach(t, newGateway(t, j, nil), d.TTY)
	boot := uint32(deviceStatus(t, d).Int("boot"))
	for round := 0; round < 3; round++ {
		if err := d.Emit(1000); err != nil {
			t.Fatal(err)
		}
		// Mid-stream: some of the round are committed, most are not.
		want := round*1000 + 100
		if err := waitFor(ctx, "a part of the round", func() bool { return linktest.CountEvents(j.Records()) >= want }); err != nil {
			t.Fatal(err)
		}
		stop()
		stop = attach(t, newGateway(t, j, nil), d.TTY)
	}
	if err := waitFor(ctx, "every punch", func() bool { return linktest.CountEvents(j.Records()) >= 3000 }); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, "an empty store", func() bool { return deviceStatus(t, d).Int("held") == 0 }); err != nil {
		t.Fatal(err)
	}
	checkPunches(t, j.Events(), boot, 3000)
	if err := d.Kill(); err != nil {
		t.Fatal(err)
	}
}

// TestCommands (§9.2): results for ping (data), echo (the arguments),
// fail (error text), an unknown name (unsupported); a command id seen
// before is not run again.
func TestCommands(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 30*time.Second)
	j := new(linktest.Journal)
	g := newGateway(t, j, nil)
	d := cdevtest.Start(t, t.TempDir(), "-r")
	attach(t, g, d.TTY)
	if _, err := g.Wait(ctx, func(s link.Status) bool { return s.Online }); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		cmd    msg.Command
		status msg.Status
		check  func(msg.Result) error
	}{
		{msg.Command{ID: "c-1", Name: "ping"}, msg.StatusOK, func(r msg.Result) error {
			if r.Data["pong"] != true {
				return fmt.Errorf("data %v, want pong", r.Data)
			}
			return nil
		}},
		{msg.Command{ID: "c-2", Name: "echo", Args: map[string]any{"who": "前台", "n": uint64(3)}}, msg.StatusOK, func(r msg.Result) error {
			if r.Data["who"] != "前台" || r.Data["n"] != uint64(3) {
				return fmt.Errorf("data %v, want the arguments", r.Data)
			}
			return nil
		}},
		{msg.Command{ID: "c-3", Name: "fail"}, msg.StatusError, func(r msg.Result) error {
			if r.Error != "asked to fail" {
				return fmt.Errorf("error %q", r.Error)
			}
			return nil
		}},
		{msg.Command{ID: "c-4", Name: "self_destruct"}, msg.StatusUnsupported, nil},
	}
	for _, c := range cases {
		r, err := g.Send(ctx, c.cmd)
		if err != nil {
			t.Fatalf("%s: %v", c.cmd.Name, err)
		}
		if r.Status != c.status {
			t.Errorf("%s: status %v, want %v", c.cmd.Name, r.Status, c.status)
		} else if c.check != nil {
			if err := c.check(r); err != nil {
				t.Errorf("%s: %v", c.cmd.Name, err)
			}
		}
	}
	if err := d.Kill(); err != nil {
		t.Fatal(err)
	}
}

// TestTimeStep (§8): a device whose clock is 5 s fast is measured and
// stepped by the gateway; its events after that are synced and its clock is
// within the step threshold of the gateway's.
func TestTimeStep(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 30*time.Second)
	j := new(linktest.Journal)
	g := newGateway(t, j, nil)
	d := cdevtest.Start(t, t.TempDir(), "-r", "-s", "5000")
	attach(t, g, d.TTY)
	st, err := g.Wait(ctx, func(s link.Status) bool { return s.Online && s.Clock.Steps >= 1 && s.Clock.State == link.ClockSynced })
	if err != nil {
		t.Fatalf("no step: %v (status %+v)", err, g.Status())
	}
	if off := st.Clock.StepOffset; off < 4*time.Second || off > 6*time.Second {
		t.Errorf("step corrected %v, want ≈ 5 s", off)
	}
	// The device reads its clock somewhere between asking and hearing: it
	// must be within the step threshold of the gateway's clock at some
	// moment of that span, however long a loaded machine makes it.
	asked := time.Now()
	ds := deviceStatus(t, d)
	heard := time.Now()
	if dev, step := time.UnixMilli(ds.Int("clock")), g.StepThreshold(); dev.Before(asked.Add(-step)) || dev.After(heard.Add(step)) {
		t.Errorf("device clock %v after the step: not within %v of the gateway's clock between %v and %v", dev, step, asked, heard)
	}
	if err := d.Emit(5); err != nil {
		t.Fatal(err)
	}
	if err := j.WaitFor(ctx, func(r []link.Record) bool { return linktest.CountEvents(r) >= 5 }); err != nil {
		t.Fatal(err)
	}
	for _, r := range j.Records() {
		if r.Kind == link.RecordEvent && r.Clock.State != link.ClockSynced {
			t.Errorf("event %v recorded after the step is %v", r.Event.ID, r.Clock.State)
		}
	}
	d.Kill()
}

// enrollDir approves every hardware id and keeps the keys agreed.
type enrollDir struct {
	mu   sync.Mutex
	keys map[string]link.Key
}

func (e *enrollDir) Lookup(_ context.Context, h *msg.Hello) (link.Identity, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if k, ok := e.keys[h.HardwareID]; ok {
		return link.Identity{Enrollment: link.Enrolled, Key: &k}, nil
	}
	return link.Identity{Enrollment: link.Keying}, nil
}

func (e *enrollDir) SetKey(_ context.Context, hw string, k link.Key) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.keys == nil {
		e.keys = map[string]link.Key{}
	}
	e.keys[hw] = k
	return nil
}

// TestEnrollment (§6.7, §2.5): a keyless device agrees a link key by X25519
// and HKDF with the gateway, stores it, and from then on every frame is
// tagged both ways: events flow, nothing is dropped for its MAC, and after
// a reboot the device comes back tagged with the stored key. A unit that
// claims the hardware id without the key gets no session.
func TestEnrollment(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 40*time.Second)
	j := new(linktest.Journal)
	dir := &enrollDir{}
	g := newGateway(t, j, func(c *link.GatewayConfig) { c.Directory = dir })
	flash := t.TempDir()
	d := cdevtest.Start(t, flash, "-r", "-e", "-i", "TERM-0001")
	stop := attach(t, g, d.TTY)
	if _, err := g.Wait(ctx, func(s link.Status) bool { return s.Online }); err != nil {
		t.Fatalf("no session: %v (%+v)", err, g.Status())
	}
	if st := deviceStatus(t, d); st["keyed"] != "1" {
		t.Fatalf("device not keyed: %v", st)
	}
	if g.Stats().Enrolled != 1 {
		t.Fatalf("gateway enrolled %d keys", g.Stats().Enrolled)
	}
	if err := d.Emit(50); err != nil {
		t.Fatal(err)
	}
	if err := j.WaitFor(ctx, func(r []link.Record) bool { return linktest.CountEvents(r) >= 50 }); err != nil {
		t.Fatal(err)
	}
	if r, err := g.Send(ctx, msg.Command{ID: "k-1", Name: "ping"}); err != nil || r.Status != msg.StatusOK {
		t.Fatalf("tagged command: %v %v", r, err)
	}
	if st := deviceStatus(t, d); st.Int("bad_mac") != 0 {
		t.Errorf("device dropped %s of the gateway's frames for their MAC", st["bad_mac"])
	}
	// Reboot: the key comes from flash, the session is tagged again.
	d.Kill()
	stop()
	d = cdevtest.Start(t, flash, "-r", "-e", "-i", "TERM-0001")
	stop = attach(t, g, d.TTY)
	if err := waitFor(ctx, "the rebooted device's session", func() bool {
		s := g.Status()
		return s.Online && s.Boot == uint32(deviceStatus(t, d).Int("boot"))
	}); err != nil {
		t.Fatal(err)
	}
	if err := d.Emit(10); err != nil {
		t.Fatal(err)
	}
	if err := j.WaitFor(ctx, func(r []link.Record) bool { return linktest.CountEvents(r) >= 60 }); err != nil {
		t.Fatal(err)
	}
	if g.Stats().Enrolled != 1 || g.Stats().AuthRefused != 0 {
		t.Errorf("gateway stats %+v", g.Stats())
	}
	d.Kill()
	stop()
	// An impostor: same hardware id, fresh flash (no key).
	imp := cdevtest.Start(t, t.TempDir(), "-r", "-e", "-i", "TERM-0001")
	attach(t, g, imp.TTY)
	if err := waitFor(ctx, "the impostor's refusal", func() bool { return g.Stats().AuthRefused > 0 }); err != nil {
		t.Fatal(err)
	}
	if st := deviceStatus(t, imp); st["established"] != "0" {
		t.Errorf("impostor got a session: %v", st)
	}
}

func makeImage(size int, version string, key ed25519.PrivateKey) link.Image {
	r := rand.New(rand.NewPCG(uint64(size), 1))
	data := make([]byte, size)
	for i := range data {
		if i%7 != 0 {
			data[i] = byte(r.Uint32())
		}
	}
	sum := sha256.Sum256(data)
	return link.Image{Data: data, Version: version, Signature: ed25519.Sign(key, msg.FirmwareSigningInput(sum[:]))}
}

// fwHeld reads the bytes held from the device's stored transfer state
// (hostdev keeps og_fw_state as is: size, then held, native order).
func fwHeld(t *testing.T, flash string) uint32 {
	b, err := os.ReadFile(filepath.Join(flash, "fwstate"))
	if err != nil || len(b) < 8 {
		return 0
	}
	return binary.NativeEndian.Uint32(b[4:8])
}

// TestFirmware (§10): an image sent while the device loses power half-way
// resumes from the bytes it held (the gateway does not send them again),
// verifies, test-boots into the new version and is confirmed.
func TestFirmware(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 90*time.Second)
	j := new(linktest.Journal)
	g := newGateway(t, j, nil)
	flash := t.TempDir()
	d := cdevtest.Start(t, flash, "-r", "-p", pubHex())
	stop := attach(t, g, d.TTY)
	img := makeImage(120_000, "2.0.0", signer)
	done := make(chan error, 1)
	go func() { done <- g.Transfer(ctx, img) }()
	if err := waitFor(ctx, "half the image held", func() bool { return fwHeld(t, flash) >= 40_000 }); err != nil {
		t.Fatal(err)
	}
	d.Kill()
	stop()
	held := fwHeld(t, flash)
	d = cdevtest.Start(t, flash, "-r", "-p", pubHex())
	stop = attach(t, g, d.TTY)
	if err := <-done; err != nil {
		t.Fatalf("transfer: %v", err)
	}
	// The bytes written to the slot in this life start where the device's
	// saved state said it held: nothing below was sent again. (Counting the
	// gateway's wire bytes instead would count retransmissions, which a
	// loaded machine makes many of.)
	if low := deviceStatus(t, d).Int("fw_low"); low < int64(held) {
		t.Errorf("after the reboot the slot was written from offset %d, but the device held %d bytes: not resumed", low, held)
	}
	boot := make(chan error, 1)
	go func() { boot <- g.TestBoot(ctx, img.SHA256()) }()
	// The device reboots into the image under test: serve its next life.
	if err := d.Rebooted(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	stop()
	d = cdevtest.Start(t, flash, "-r", "-p", pubHex())
	attach(t, g, d.TTY)
	if err := <-boot; err != nil {
		t.Fatalf("test boot: %v", err)
	}
	if st := g.Status(); st.Firmware != "2.0.0" || st.Image != msg.ImageTesting {
		t.Fatalf("after the test boot the device runs %q in state %v", st.Firmware, st.Image)
	}
	if err := g.Confirm(ctx, img.SHA256()); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	if v, err := os.ReadFile(filepath.Join(flash, "version")); err != nil || !strings.HasPrefix(string(v), "2.0.0") {
		t.Fatalf("confirmed version in flash: %q, %v", v, err)
	}
	t.Logf("held at power loss: %d of %d bytes", held, len(img.Data))
	if err := d.Kill(); err != nil {
		t.Fatal(err)
	}
}

// TestBadSignature (§10.1): an image signed by another key is refused
// bad_signature and not kept.
func TestBadSignature(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 30*time.Second)
	g := newGateway(t, new(linktest.Journal), nil)
	d := cdevtest.Start(t, t.TempDir(), "-r", "-p", pubHex())
	attach(t, g, d.TTY)
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	err := g.Transfer(ctx, makeImage(3000, "6.6.6", other))
	var re *link.RejectError
	if !errors.As(err, &re) || re.Code != msg.CodeBadSignature {
		t.Fatalf("transfer of a badly signed image: %v, want bad_signature", err)
	}
	d.Kill()
}

// TestFootprint builds the library for a Cortex-M0+ (footprint.sh) and
// fails when a goal is missed: core ≤ 8 KB flash and ≤ 2 KB RAM besides
// the caller's buffers, everything ≤ 24 KB flash.
func TestFootprint(t *testing.T) {
	cdevtest.NeedTool(t, "arm-none-eabi-gcc")
	out, err := exec.Command(filepath.Join(cdevtest.Dir(), "footprint.sh"), "--check").CombinedOutput()
	t.Logf("\n%s", out)
	if err != nil {
		t.Fatalf("footprint.sh --check: %v", err)
	}
}

// TestClockRange: the device's clock at the ends of its range, without a
// signed overflow (test/clock_test.c, built with the sanitizers).
func TestClockRange(t *testing.T) { runProgram(t, "clock_test.c") }
