package fwcheck_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/officegate/officegate/firmware-bridge/c/cdevtest"
	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/fwcheck"
	"github.com/officegate/officegate/firmware-bridge/fwemu"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/internal/testkit"
)

var vendor = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize))

// every check a full-featured device is put through.
var allChecks = []string{"HELLO fields", "enrollment, tagged frames", "session opens on WELCOME", "window",
	"retransmission timing", "BUSY honoured", "duplicate suppression", "damaged frames dropped", "command results", "time sync",
	"resume after a session reset", "bad firmware signature refused", "framing and CRC"}

func runCheck(t *testing.T, tty string) *fwcheck.Report {
	t.Helper()
	port, err := fwemu.OpenTTY(tty)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := fwcheck.Run(testkit.Ctx(t, 90*time.Second), port, fwcheck.Options{})
	var out strings.Builder
	if rep != nil {
		rep.WriteTo(&out)
	}
	t.Logf("fwcheck report:\n%s", out.String())
	if err != nil {
		t.Fatalf("fwcheck: %v", err)
	}
	return rep
}

func expectPass(t *testing.T, rep *fwcheck.Report, names []string) {
	t.Helper()
	for _, n := range names {
		c, ok := rep.Find(n)
		switch {
		case !ok:
			t.Errorf("check %q did not run", n)
		case c.Err != nil:
			t.Errorf("check %q failed: §%s: %v", n, c.Section, c.Err)
		case c.Skipped != "":
			t.Errorf("check %q skipped: %s", n, c.Skipped)
		}
	}
}

// TestCDevice: the C device library (firmware-bridge/c) passes every check,
// enrollment and firmware included.
func TestCDevice(t *testing.T) {
	testkit.NoLeaks(t)
	d := cdevtest.Start(t, t.TempDir(), "-r", "-e", "-p", hex.EncodeToString(vendor.Public().(ed25519.PublicKey)))
	if err := d.Emit(30); err != nil {
		t.Fatal(err)
	}
	rep := runCheck(t, d.TTY)
	expectPass(t, rep, allChecks)
	if err := d.Kill(); err != nil {
		t.Fatal(err)
	}
}

// TestEmulator: the Go emulated firmware (fwemu) passes every check.
func TestEmulator(t *testing.T) {
	testkit.NoLeaks(t)
	d, err := fwemu.StartPTY("fwcheck", fwemu.Options{StatePath: filepath.Join(t.TempDir(), "flash"), HardwareID: "EMU-FWCHECK",
		Kind: msg.KindAttendance, RTC: true, SigningKey: vendor.Public().(ed25519.PublicKey)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	d.Emu.EmitN(30)
	rep := runCheck(t, d.Path)
	expectPass(t, rep, allChecks)
}

// brokenDevice is a deliberately wrong firmware: its HELLO is fine, but it
// ignores the window and BUSY (it sends every record at once and again
// every 100 ms whatever it is told), never checks a CRC, answers every
// command ok, never answers TIME_REQ, and sends some frames with a bad CRC.
func brokenDevice(ctx context.Context, t *testing.T, rw *ptyEnd) {
	hello := &msg.Hello{HardwareID: "BROKEN-1", Model: "BAD", Kind: msg.KindAttendance, Firmware: "0.1", Boot: 3,
		Caps: msg.CapEvents | msg.CapCommands | msg.CapTime, ProtoMin: 1, ProtoMax: 1, MTU: 1024, Window: 8}
	send := func(m msg.Message, seq uint32) {
		f, _ := msg.Frame(m, seq, 0)
		f.Flags = frame.FlagFromDevice
		b, _ := frame.Append(nil, f, nil)
		rw.Write(b)
	}
	send(hello, 0)
	frames := readFrames(rw)
	seq := uint32(0)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case f, ok := <-frames:
			if !ok {
				return
			}
			if f.Type == frame.TypeCommand {
				m, err := msg.Decode(f)
				if err == nil {
					seq++
					send(&msg.Result{ID: m.(*msg.Command).ID, Status: msg.StatusOK}, seq)
				}
			}
			if f.Type == frame.TypeClose {
				send(hello, 0)
			}
		case <-tick.C:
			for i := uint32(1); i <= 12; i++ {
				send(&msg.Event{ID: msg.EventID{Boot: 3, Seq: i}, Kind: "punch", Time: 1}, i)
			}
			rw.Write([]byte{0x05, 0x01, 0x10, 0x02, 0x09, 0x00}) // a frame whose CRC is wrong
		}
	}
}

// readFrames decodes what the gateway side writes into frames, whatever
// their CRC (a broken device's bug: it takes every frame), until the line
// closes.
func readFrames(rw *ptyEnd) <-chan frame.Frame {
	frames := make(chan frame.Frame, 64)
	go func() {
		defer close(frames)
		var enc []byte
		buf := make([]byte, 512)
		for {
			n, err := rw.Read(buf)
			if err != nil {
				return
			}
			for _, b := range buf[:n] {
				if b != 0 {
					enc = append(enc, b)
					continue
				}
				raw, err := frame.AppendDecode(nil, enc)
				enc = enc[:0]
				if err != nil || len(raw) < frame.MinLen {
					continue
				}
				// The bug: whatever CRC came, it takes the frame.
				binary.BigEndian.PutUint32(raw[len(raw)-4:], frame.Checksum(raw[:len(raw)-4]))
				if f, err := frame.Parse(raw); err == nil {
					frames <- f
				}
			}
		}
	}()
	return frames
}

// TestBrokenDevice: fwcheck catches a wrong device, naming the section of
// each rule it breaks.
func TestBrokenDevice(t *testing.T) {
	testkit.NoLeaks(t)
	dev, gw := newPTY(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); brokenDevice(ctx, t, dev) }()
	defer func() { cancel(); dev.Close(); <-done }()
	rep := runCheck(t, gw)
	want := map[string]string{"window": "5.2", "command results": "9.2", "time sync": "8", "framing and CRC": "2.6",
		"BUSY honoured": "5.5", "damaged frames dropped": "2.6", "retransmission timing": "5.4", "resume after a session reset": "6.4"}
	for name, sec := range want {
		c, ok := rep.Find(name)
		if !ok || c.Err == nil || c.Section != sec {
			t.Errorf("check %q: %+v, want a failure citing §%s", name, c, sec)
		}
	}
	var out strings.Builder
	rep.WriteTo(&out)
	if !strings.Contains(out.String(), "FAIL  window") || !strings.Contains(out.String(), "PROTOCOL.md §5.2") {
		t.Errorf("the report does not name the failure and its section:\n%s", out.String())
	}
}

// TestCDeviceOnAStalledHost: the C device passes the retransmission check
// although this process (the checker) is stopped for 600 ms while it times
// the device: from 300 ms after the first frame, so the first
// retransmission (due after the 500 ms timeout) is read 400 ms late and the
// interval to the second looks 600 ms long, short of the doubled 1 s. The
// checker sees its own stall and allows for it, and says so.
func TestCDeviceOnAStalledHost(t *testing.T) {
	testkit.NoLeaks(t)
	d := cdevtest.Start(t, t.TempDir(), "-r", "-e", "-p", hex.EncodeToString(vendor.Public().(ed25519.PublicKey)))
	if err := d.Emit(30); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	fwcheck.SetFirstTimed(t.Cleanup, func() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(300 * time.Millisecond)
			// Told to, the child continues this process after 600 ms, and
			// again every 600 ms, five times: should the stop come late,
			// one ends it.
			cont := exec.Command("sh", "-c", "read go; for i in 1 2 3 4 5; do sleep 0.6; kill -CONT "+strconv.Itoa(os.Getpid())+"; done")
			in, err := cont.StdinPipe()
			if err != nil {
				t.Error(err)
				return
			}
			if err := cont.Start(); err != nil {
				t.Error(err)
				return
			}
			defer cont.Wait()
			in.Write([]byte("go\n"))
			syscall.Kill(os.Getpid(), syscall.SIGSTOP)
		}()
	})
	rep := runCheck(t, d.TTY)
	expectPass(t, rep, []string{"retransmission timing"})
	if c, _ := rep.Find("retransmission timing"); !strings.Contains(c.Detail, "this host stalled") {
		t.Errorf("retransmission timing: %+v, want a note of the stall allowed for", c)
	}
	if err := d.Kill(); err != nil {
		t.Fatal(err)
	}
}
