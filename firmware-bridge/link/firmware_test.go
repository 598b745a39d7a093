package link_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/link/linktest"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/internal/testkit"
)

func makeImage(size int, version string, seed uint64) link.Image {
	r := rand.New(rand.NewPCG(seed, 1))
	data := make([]byte, size)
	for i := range data {
		if i%7 != 0 { // some zero bytes for COBS
			data[i] = byte(r.Uint32())
		}
	}
	sum := sha256.Sum256(data)
	return link.Image{Data: data, Version: version, Signature: ed25519.Sign(signer, msg.FirmwareSigningInput(sum[:]))}
}

// TestFirmwareUpdate sends an image, test-boots it (the emulator reboots
// into it with a new boot id; its HELLO says "testing"), confirms it, and
// keeps events flowing throughout.
func TestFirmwareUpdate(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 40*time.Second)
	j := new(linktest.Journal)
	g := newGateway(t, j, nil)
	e := newEmu(t, emuOpts(t, t.TempDir()))
	l := newLine(t)
	port := openGateway(t, l)
	run(t, func(ctx context.Context) error { return g.Run(ctx, port) })
	run(t, func(ctx context.Context) error { return e.Run(ctx, l.dev) })
	want, _ := e.EmitN(300)
	img := makeImage(100_000, "2.0.0", 1)
	if err := g.Transfer(ctx, img); err != nil {
		t.Fatalf("transfer: %v", err)
	}
	boot0 := e.Boot()
	// An activation whose caller has already given up is never sent: the
	// device would reboot for a caller told it would not.
	for range 100 {
		if err := g.TestBoot(canceled(), img.SHA256()); !errors.Is(err, context.Canceled) {
			t.Fatalf("test boot with a cancelled context: %v, want context.Canceled", err)
		}
	}
	if err := g.TestBoot(ctx, img.SHA256()); err != nil {
		t.Fatalf("test boot: %v", err)
	}
	if b := e.Boot(); b != boot0+1 {
		t.Fatalf("the device booted %d times for one test boot", b-boot0)
	}
	st := g.Status()
	if st.Firmware != "2.0.0" || st.Image != msg.ImageTesting || st.Boot <= boot0 {
		t.Fatalf("after test boot: %+v", st)
	}
	more, _ := e.EmitN(300)
	want = append(want, more...)
	if err := g.Confirm(ctx, img.SHA256()); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	if v, s := e.Firmware(); v != "2.0.0" || s != msg.ImageConfirmed {
		t.Fatalf("device runs %s in state %d", v, s)
	}
	waitEvents(t, ctx, j, len(want))
	checkEvents(t, j.Events(), want)
}

// TestFirmwareResume interrupts a transfer at random offsets: by pulling
// the cable (the session resumes), and by killing the emulated firmware
// (a new session: the gateway offers again and the device reports the
// bytes it kept in its slot). The transfer never starts over and the
// device ends with the image verified.
func TestFirmwareResume(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 50*time.Second)
	j := new(linktest.Journal)
	g := newGateway(t, j, nil)
	opts := emuOpts(t, t.TempDir())
	img := makeImage(200_000, "2.1.0", 2)
	done := make(chan error, 1)
	go func() { done <- g.Transfer(ctx, img) }()
	r := rand.New(rand.NewPCG(3, 3))
	e := newEmu(t, opts)
	for round := 0; ; round++ {
		l := newLine(t)
		port := openGateway(t, l)
		stopG, _ := run(t, func(ctx context.Context) error { return g.Run(ctx, port) })
		stopE, _ := run(t, func(ctx context.Context) error { return e.Run(ctx, l.dev) })
		if round == 6 {
			if err := <-done; err != nil {
				t.Fatalf("transfer: %v", err)
			}
			stopG()
			stopE()
			break
		}
		// Interrupt once the device holds a random amount more.
		held0 := e.SlotHeld()
		target := held0 + uint32(r.IntN(len(img.Data)/8)) + 1
		if err := waitFor(ctx, func() bool { return e.SlotHeld() >= target }); err != nil {
			t.Fatalf("round %d: slot stuck at %d, want %d: %v", round, e.SlotHeld(), target, err)
		}
		if round%2 == 0 {
			l.dev.Close() // unplug
			stopG()
			stopE()
			continue
		}
		stopE() // kill the firmware: the slot and the persisted held count survive
		stopG()
		e = newEmu(t, opts)
		if e.SlotHeld() == 0 && target > 16*512 {
			t.Fatalf("round %d: restart lost the partial transfer (held %d before)", round, target)
		}
	}
	slot, err := readFile(opts.StatePath + ".slot")
	if err != nil || !bytes.Equal(slot, img.Data) {
		t.Fatalf("slot holds %d bytes (err %v), not the image", len(slot), err)
	}
}

// TestFirmwareRejected: a bad signature, a manifest hash that does not
// match the bytes, and an image too large for the slot are refused with
// the protocol's codes, and the next transfer still works.
func TestFirmwareRejected(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 30*time.Second)
	j := new(linktest.Journal)
	g := newGateway(t, j, nil)
	e := newEmu(t, emuOpts(t, t.TempDir()))
	l := newLine(t)
	port := openGateway(t, l)
	run(t, func(ctx context.Context) error { return g.Run(ctx, port) })
	run(t, func(ctx context.Context) error { return e.Run(ctx, l.dev) })

	badSig := makeImage(5000, "3.0.0", 4)
	badSig.Signature = bytes.Clone(badSig.Signature)
	badSig.Signature[0] ^= 1
	badHash := makeImage(5000, "3.0.1", 5)
	badHash.SHA = bytes.Repeat([]byte{0xAB}, 32)
	badHash.Signature = ed25519.Sign(signer, msg.FirmwareSigningInput(badHash.SHA)) // signed manifest, wrong bytes
	tooBig := makeImage(300<<10, "3.0.2", 6)
	for _, tc := range []struct {
		img  link.Image
		code msg.Code
	}{{badSig, msg.CodeBadSignature}, {badHash, msg.CodeBadHash}, {tooBig, msg.CodeTooLarge}} {
		err := g.Transfer(ctx, tc.img)
		var re *link.RejectError
		if !errors.As(err, &re) || re.Code != tc.code || !errors.Is(err, link.ErrRejected) {
			t.Fatalf("%s: %v, want rejected %v", tc.img.Version, err, tc.code)
		}
	}
	if err := g.TestBoot(ctx, badSig.SHA256()); !errors.Is(err, link.ErrRejected) {
		t.Fatalf("test boot of a rejected image: %v", err)
	}
	good := makeImage(5000, "3.0.3", 7)
	if err := g.Transfer(ctx, good); err != nil {
		t.Fatalf("good image after rejections: %v", err)
	}
}

// TestTestBootRollback: the test image crashes; the bootloader reverts it,
// the next HELLO says so, TestBoot reports the rollback and the status
// shows it.
func TestTestBootRollback(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 30*time.Second)
	j := new(linktest.Journal)
	g := newGateway(t, j, nil)
	opts := emuOpts(t, t.TempDir())
	opts.FailTestBoot = func(v string) bool { return v == "4.0.0-bad" }
	e := newEmu(t, opts)
	l := newLine(t)
	port := openGateway(t, l)
	run(t, func(ctx context.Context) error { return g.Run(ctx, port) })
	run(t, func(ctx context.Context) error { return e.Run(ctx, l.dev) })
	img := makeImage(20_000, "4.0.0-bad", 8)
	if err := g.Transfer(ctx, img); err != nil {
		t.Fatal(err)
	}
	err := g.TestBoot(ctx, img.SHA256())
	var re *link.RejectError
	if !errors.Is(err, link.ErrRolledBack) || !errors.As(err, &re) || re.Code != msg.CodeTestBootFailed {
		t.Fatalf("test boot: %v, want rolled back", err)
	}
	st := g.Status()
	if st.Image != msg.ImageReverted || st.Reverted != "4.0.0-bad" || st.RevertCode != msg.CodeTestBootFailed || st.Firmware != "1.0.0" {
		t.Fatalf("status after rollback: %+v", st)
	}
	if err := g.Confirm(ctx, img.SHA256()); !errors.Is(err, link.ErrRejected) {
		t.Fatalf("confirm after rollback: %v", err)
	}
}

// TestConfigPush: a configuration is applied, pushed again it is
// unchanged, an invalid one is refused naming the reason, and a device
// that reboots with an older one gets the desired one again.
func TestConfigPush(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 30*time.Second)
	j := new(linktest.Journal)
	g := newGateway(t, j, nil)
	opts := emuOpts(t, t.TempDir())
	e := newEmu(t, opts)
	l := newLine(t)
	port := openGateway(t, l)
	run(t, func(ctx context.Context) error { return g.Run(ctx, port) })
	dev := newKeepOpen(l.dev) // the UART stays when the device restarts
	stopE, _ := run(t, func(ctx context.Context) error { return e.Run(ctx, dev) })
	cfg, _ := cbor.Marshal(map[string]any{"door_ms": 3000, "lang": "zh-CN"})
	st, err := g.SetConfig(ctx, cfg)
	if err != nil || st.State != msg.ConfigApplied {
		t.Fatalf("first push: %+v %v", st, err)
	}
	if st, err := g.SetConfig(ctx, cfg); err != nil || st.State != msg.ConfigUnchanged {
		t.Fatalf("second push: %+v %v", st, err)
	}
	_, err = g.SetConfig(ctx, []byte{0x01})
	var re *link.RejectError
	if !errors.As(err, &re) || re.Code != msg.CodeConfigInvalid {
		t.Fatalf("invalid config: %v", err)
	}
	// The device comes back from a restart holding cfg; the desired one is
	// cfg2: pushed at the new session without being asked.
	cfg2, _ := cbor.Marshal(map[string]any{"door_ms": 5000})
	sum2 := sha256.Sum256(cfg2)
	stopE()
	g.SetConfig(canceled(), cfg2) // only sets the desired configuration
	e = newEmu(t, opts)
	dev = newKeepOpen(l.dev)
	run(t, func(ctx context.Context) error { return e.Run(ctx, dev) })
	if err := waitFor(ctx, func() bool { return bytes.Equal(e.ConfigHash(), sum2[:]) }); err != nil {
		t.Fatalf("config not pushed at the new session: %v", err)
	}
}

func canceled() context.Context {
	ctx, c := context.WithCancel(context.Background())
	c()
	return ctx
}
