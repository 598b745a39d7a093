package rollout_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/officegate/officegate/devices/serialport"
	"github.com/officegate/officegate/firmware-bridge/fwemu"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/link/linktest"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/provisioning/rollout"
)

// Fast link timers so recovery takes milliseconds; the protocol allows
// them (heartbeat ≥ 100 ms, retransmit timeout ≥ 10 ms).
var fastTiming = link.Timing{
	Heartbeat: 150 * time.Millisecond,
	RTO:       60 * time.Millisecond,
	AckDelay:  5 * time.Millisecond,
	BusyRetry: 20 * time.Millisecond,
	HelloMin:  30 * time.Millisecond,
	HelloMax:  240 * time.Millisecond,
}

// emuDevice is an emulated device on a real PTY: the firmware holds the
// master, the gateway opens the slave by name with devices/serialport.
type emuDevice struct {
	opts  fwemu.Options
	slave string
	emu   *fwemu.Emulator
	stop  func() // kills the firmware; its flash (state file, slot) stays
}

func startEmu(t *testing.T, opts fwemu.Options) *emuDevice {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Fatalf("pty: %v", err)
	}
	if err := fwemu.MakeRaw(s); err != nil {
		t.Fatal(err)
	}
	// A creack/pty master ignores Close while a Read is blocked; a
	// non-blocking duplicate under Go's poller does not.
	fd, err := unix.Dup(int(m.Fd()))
	if err == nil {
		err = unix.SetNonblock(fd, true)
	}
	m.Close()
	if err != nil {
		t.Fatal(err)
	}
	master := os.NewFile(uintptr(fd), "ptmx")
	e, err := fwemu.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	d := &emuDevice{opts: opts, slave: s.Name(), emu: e}
	d.stop = goRun(t, func(ctx context.Context) error { return e.Run(ctx, master) })
	// The slave stays open so the PTY outlives the gateway's re-opens.
	t.Cleanup(func() { master.Close(); s.Close() })
	return d
}

// goRun starts f and returns a stop that cancels it and waits; cleanup
// stops it too.
func goRun(t *testing.T, f func(ctx context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	fin := make(chan struct{})
	go func() { f(ctx); close(fin) }()
	stop = func() { cancel(); <-fin }
	t.Cleanup(stop)
	return stop
}

// gatewaySide is what a gateway process holds: one link per port.
type gatewaySide struct {
	links map[string]*link.Gateway // by device id (the hardware id: no directory)
	stop  []func()
}

func startGateway(t *testing.T, devs map[string]*emuDevice) *gatewaySide {
	t.Helper()
	gs := &gatewaySide{links: map[string]*link.Gateway{}}
	for id, d := range devs {
		g, err := link.NewGateway(link.GatewayConfig{Sink: new(linktest.Journal), Timing: fastTiming,
			TimeSync: link.TimeSync{Every: time.Hour}})
		if err != nil {
			t.Fatal(err)
		}
		p, err := serialport.Open(serialport.Config{Name: d.slave})
		if err != nil {
			t.Fatalf("open %s: %v", d.slave, err)
		}
		stop := goRun(t, func(ctx context.Context) error { return g.Run(ctx, p) })
		gs.stop = append(gs.stop, func() { stop(); p.Close() })
		gs.links[id] = g
	}
	return gs
}

func (gs *gatewaySide) close() {
	for _, s := range gs.stop {
		s()
	}
}

func (gs *gatewaySide) fleet() rollout.Fleet {
	return rollout.FleetFunc(func(id string) (rollout.Device, error) {
		g, ok := gs.links[id]
		if !ok {
			return nil, fmt.Errorf("no device %q", id)
		}
		return rollout.Link(g), nil
	})
}

func emuOpts(dir, id string) fwemu.Options {
	return fwemu.Options{
		StatePath: filepath.Join(dir, id), HardwareID: id, Kind: msg.KindAttendance, Seed: 7,
		SigningKey: signer.Public().(ed25519.PublicKey), Timing: fastTiming, SlotSize: 256 << 10,
	}
}

func linkImage(version string, size int, seed uint64) rollout.Image {
	r := rand.New(rand.NewPCG(seed, 1))
	data := make([]byte, size)
	for i := range data {
		if i%7 != 0 { // some zero bytes for COBS
			data[i] = byte(r.Uint32())
		}
	}
	sum := sha256.Sum256(data)
	return rollout.NewImage("/images/fw-"+version+".bin", version, data, sign(sum[:]))
}

func linkConfig(c *rollout.Config) {
	c.Probation = 100 * time.Millisecond
	c.BootTimeout = 20 * time.Second
	c.Poll = 20 * time.Millisecond
}

// TestRolloutOverPTYs: three emulated devices sharing the signing key; the
// second crashes in its test boot. The canary and the third are confirmed,
// the second is rolled back by its bootloader and reported with the code.
func TestRolloutOverPTYs(t *testing.T) {
	dir := t.TempDir()
	ids := []string{"TERM-0001", "TERM-0002", "TERM-0003"}
	devs := map[string]*emuDevice{}
	for _, id := range ids {
		o := emuOpts(dir, id)
		if id == "TERM-0002" {
			o.FailTestBoot = func(v string) bool { return v == "2.0.0" }
		}
		devs[id] = startEmu(t, o)
	}
	gs := startGateway(t, devs)
	defer gs.close()
	o, ev := newOrch(t, filepath.Join(dir, "rollouts"), gs.fleet(), func(c *rollout.Config) {
		linkConfig(c)
		c.Parallel = 2
	})
	r, err := o.Start(rollout.Spec{Image: linkImage("2.0.0", 60_000, 1), Devices: ids})
	if err != nil {
		t.Fatal(err)
	}
	rec := wait(t, r)
	want := map[string]rollout.Phase{"TERM-0001": rollout.Confirmed, "TERM-0002": rollout.RolledBack, "TERM-0003": rollout.Confirmed}
	if rec.State != rollout.Done || !maps(phases(rec), want) {
		t.Fatalf("%s %q: %+v", rec.State, rec.Reason, rec.Devices)
	}
	for _, id := range ids {
		v, st := devs[id].emu.Firmware()
		if wantV := map[bool]string{true: "1.0.0", false: "2.0.0"}[id == "TERM-0002"]; v != wantV || st == msg.ImageTesting {
			t.Errorf("%s runs %s in state %d", id, v, st)
		}
	}
	if !ev.has(func(e rollout.Event) bool {
		return e.Device == "TERM-0002" && e.Phase == rollout.RolledBack && strings.Contains(e.Reason, "test_boot_failed")
	}) {
		t.Error("rollback of TERM-0002 not reported with its code")
	}
	if !ev.has(func(e rollout.Event) bool {
		return e.Summary != nil && *e.Summary == rollout.Summary{Confirmed: 2, RolledBack: 1}
	}) {
		t.Error("no summary")
	}
}

// TestRolloutGatewayRestart: the canary's firmware dies mid-transfer and
// the gateway (links and orchestrator) is stopped; the device comes back
// with part of the image in its slot, a new gateway resumes the rollout
// from the state directory and every device ends on the new image.
func TestRolloutGatewayRestart(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "rollouts")
	ids := []string{"TERM-0001", "TERM-0002", "TERM-0003"}
	devs := map[string]*emuDevice{}
	for _, id := range ids {
		devs[id] = startEmu(t, emuOpts(dir, id))
	}
	img := linkImage("2.1.0", 200_000, 2)
	gs := startGateway(t, devs)
	o, _ := newOrch(t, state, gs.fleet(), linkConfig)
	r, err := o.Start(rollout.Spec{Image: img, Devices: ids})
	if err != nil {
		t.Fatal(err)
	}
	canary := devs["TERM-0001"]
	waitFor(t, "the canary mid-transfer", func() bool { return canary.emu.SlotHeld() >= 20_000 })
	canary.stop()
	canary.emu.Close()
	o.Close() // the gateway stops: its context is canceled
	gs.close()
	rec := r.Snapshot()
	if rec.State != rollout.Running || phases(rec)["TERM-0001"] != rollout.Transferring {
		t.Fatalf("after the stop: %s %v", rec.State, phases(rec))
	}

	devs["TERM-0001"] = startEmu(t, canary.opts) // same flash
	held := devs["TERM-0001"].emu.SlotHeld()
	if held == 0 || held >= uint32(len(img.Data)) {
		t.Fatalf("the canary's slot holds %d bytes after its restart", held)
	}
	gs = startGateway(t, devs)
	defer gs.close()
	o2, ev := newOrch(t, state, gs.fleet(), linkConfig)
	rs, err := o2.Resume()
	if err != nil || len(rs) != 1 {
		t.Fatalf("resume: %v %v", rs, err)
	}
	rec = wait(t, rs[0])
	want := map[string]rollout.Phase{"TERM-0001": rollout.Confirmed, "TERM-0002": rollout.Confirmed, "TERM-0003": rollout.Confirmed}
	if rec.State != rollout.Done || !maps(phases(rec), want) {
		t.Fatalf("%s %q: %+v", rec.State, rec.Reason, rec.Devices)
	}
	if a := rec.Devices[0].Attempts; a != 2 {
		t.Errorf("canary: %d transfer attempts, want 2", a)
	}
	for _, id := range ids {
		if v, st := devs[id].emu.Firmware(); v != "2.1.0" || st != msg.ImageConfirmed {
			t.Errorf("%s runs %s in state %d", id, v, st)
		}
	}
	if !ev.has(func(e rollout.Event) bool { return e.Reason == "resumed" }) {
		t.Error("no resumed event")
	}
}
