// Command fwemu runs the emulated device firmware on a tty, for the demo,
// tests and benchmarks:
//
//	go run ./firmware-bridge/cmd/fwemu -port /dev/pts/N -kind terminal -rate 5 -state term1.flash
//
// It keeps its flash (event records, boot counter, configuration,
// firmware slots, a terminal's users and attendance log) in the state
// file, so a killed and restarted fwemu is the same device after a
// reboot. SIGINT or SIGTERM stops it cleanly.
package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/officegate/officegate/firmware-bridge/fwemu"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

type config struct {
	port, state, kind, hwid, model, firmware string
	pubkey, key, failTest                    string
	epoch                                    uint
	rate                                     float64
	seed                                     uint64
	capacity, logCapacity                    int
	rtc, door                                bool
}

func main() {
	var c config
	flag.StringVar(&c.port, "port", "", "tty to serve, e.g. /dev/pts/3 (required)")
	flag.StringVar(&c.state, "state", "", "state file: the device's flash (required)")
	flag.StringVar(&c.kind, "kind", "terminal", "device kind: terminal, kiosk, panel or other")
	flag.Float64Var(&c.rate, "rate", 1, "events generated per second (0: none)")
	flag.Uint64Var(&c.seed, "seed", 1, "seed of the event generator")
	flag.StringVar(&c.hwid, "hwid", "", "hardware id (default from the seed)")
	flag.StringVar(&c.model, "model", "OG-EMU-1", "model")
	flag.StringVar(&c.firmware, "firmware", "1.0.0", "factory firmware version")
	flag.IntVar(&c.capacity, "capacity", 10000, "event records the flash holds")
	flag.StringVar(&c.pubkey, "pubkey", "", "firmware signing public key, hex (none: every image is rejected)")
	flag.StringVar(&c.key, "key", "", "link key, hex (32 bytes; none: frames are not tagged)")
	flag.UintVar(&c.epoch, "epoch", 1, "link key epoch")
	flag.StringVar(&c.failTest, "fail-test-boot", "", "firmware version that crashes in its test boot")
	flag.BoolVar(&c.rtc, "rtc", false, "the clock is battery-backed (set at boot)")
	flag.BoolVar(&c.door, "door", false, "a door relay is wired to the terminal (door_pulse)")
	flag.IntVar(&c.logCapacity, "log-capacity", fwemu.DefaultLogCapacity, "punches a terminal's attendance log keeps")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "fwemu:", err)
		os.Exit(1)
	}
}

func options(c config) (fwemu.Options, error) {
	o := fwemu.Options{StatePath: c.state, HardwareID: c.hwid, Model: c.model, Firmware: c.firmware,
		Rate: c.rate, Seed: c.seed, Capacity: c.capacity, RTC: c.rtc, Door: c.door, LogCapacity: c.logCapacity}
	if c.port == "" || c.state == "" {
		return o, errors.New("-port and -state are required")
	}
	switch c.kind {
	case "terminal":
		o.Kind = msg.KindAttendance
	case "kiosk":
		o.Kind = msg.KindKiosk
	case "panel":
		o.Kind = msg.KindRoomPanel
	case "other":
		o.Kind = msg.KindOther
	default:
		return o, fmt.Errorf("-kind %q: want terminal, kiosk, panel or other", c.kind)
	}
	if c.pubkey != "" {
		k, err := hex.DecodeString(c.pubkey)
		if err != nil || len(k) != ed25519.PublicKeySize {
			return o, fmt.Errorf("-pubkey %q: want %d bytes of hex", c.pubkey, ed25519.PublicKeySize)
		}
		o.SigningKey = k
	}
	if c.key != "" {
		k, err := hex.DecodeString(c.key)
		if err != nil || len(k) != 32 || c.epoch == 0 || c.epoch > 0xffff {
			return o, fmt.Errorf("-key/-epoch: want 32 bytes of hex and an epoch in 1..65535")
		}
		o.Key = &link.Key{Epoch: uint16(c.epoch), Secret: k}
	}
	if c.failTest != "" {
		v := c.failTest
		o.FailTestBoot = func(s string) bool { return s == v }
	}
	return o, nil
}

// run serves the tty until ctx is done, opening it again when it fails
// (the other end went away) as a device's UART would simply carry on.
func run(ctx context.Context, c config) error {
	o, err := options(c)
	if err != nil {
		return err
	}
	e, err := fwemu.New(o)
	if err != nil {
		return err
	}
	v, _ := e.Firmware()
	fmt.Fprintf(os.Stderr, "fwemu: %s boot %d firmware %s on %s\n", o.HardwareID, e.Boot(), v, c.port)
	defer e.Close()
	for {
		f, err := fwemu.OpenTTY(c.port)
		if err == nil {
			err = e.Run(ctx, f)
			f.Close()
		}
		if ctx.Err() != nil {
			return nil
		}
		fmt.Fprintf(os.Stderr, "fwemu: %s: %v; again in 1s\n", c.port, err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}
