//go:build linux

package wiegand

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// gpioSimConfig is where the kernel's gpio-sim module takes chip definitions
// (Documentation/admin-guide/gpio/gpio-sim.rst).
const gpioSimConfig = "/sys/kernel/config/gpio-sim"

// simChip creates a live gpio-sim chip with lines lines and returns its device path and
// a function that drives a line's input level through the simulator's pull.
func simChip(t *testing.T, lines int) (string, func(offset int, high bool)) {
	t.Helper()
	if _, err := os.Stat(gpioSimConfig); err != nil {
		t.Skipf("gpio-sim not available, so the ioctl path is untested here: needs the gpio-sim module (modprobe gpio-sim), configfs at %s and root (%v)", gpioSimConfig, err)
	}
	dir := filepath.Join(gpioSimConfig, fmt.Sprintf("officegate-wiegand-%d", os.Getpid()))
	bank := filepath.Join(dir, "bank0")
	write := func(path, v string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(v), 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("gpio-sim: cannot create a chip: %v", err)
	}
	t.Cleanup(func() { os.Remove(dir) })
	if err := os.Mkdir(bank, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(bank) })
	write(filepath.Join(bank, "num_lines"), fmt.Sprint(lines))
	write(filepath.Join(dir, "live"), "1")
	t.Cleanup(func() { os.WriteFile(filepath.Join(dir, "live"), []byte("0"), 0) })
	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	dev, chip := read(filepath.Join(dir, "dev_name")), read(filepath.Join(bank, "chip_name"))
	pull := func(offset int, high bool) {
		v := "pull-down"
		if high {
			v = "pull-up"
		}
		write(fmt.Sprintf("/sys/devices/platform/%s/%s/sim_gpio%d/pull", dev, chip, offset), v)
	}
	return "/dev/" + chip, pull
}

// TestGPIOSim runs the real ioctl path against the kernel's simulated GPIO chip: one
// request for both lines, falling edges with sequence numbers, a decoded frame, the busy
// error, and a read that returns when ctx is cancelled.
func TestGPIOSim(t *testing.T) {
	path, pull := simChip(t, 4)
	const d0, d1 = 1, 2
	pull(d0, true)
	pull(d1, true)
	c, err := OpenChip(path, d0, d1, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	if _, err := OpenChip(path, d1, 3, nil); !errors.Is(err, ErrLineBusy) || !strings.Contains(err.Error(), "officegate-wiegand") {
		t.Errorf("second request: %v", err)
	}

	raw, _ := Encode(H10301, 12, 3456)
	for i := 25; i >= 0; i-- {
		l := int(d0)
		if raw>>uint(i)&1 == 1 {
			l = d1
		}
		pull(l, false)
		pull(l, true)
	}
	var edges []Edge
	buf := make([]Edge, 64)
	for len(edges) < 26 {
		n, err := c.ReadEdges(context.Background(), buf, 5*time.Second)
		if err != nil || n == 0 {
			t.Fatalf("after %d edges: n %d err %v", len(edges), n, err)
		}
		edges = append(edges, buf[:n]...)
	}
	for i, e := range edges {
		if !e.Falling || i > 0 && (e.Seq != edges[i-1].Seq+1 || e.Time < edges[i-1].Time) {
			t.Fatalf("edge %d: %+v after %+v", i, e, edges[max(i-1, 0)])
		}
	}
	// sysfs writes are microseconds apart, far closer than a reader's pulses.
	d, _ := New(&Config{MinSpacing: 1, BothLowWindow: 1})
	frames := d.Flush(d.Append(nil, edges...))
	if len(frames) != 1 || frames[0].Facility != 12 || frames[0].Card != 3456 {
		t.Errorf("frames %v stats %+v", frames, d.Stats())
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.ReadEdges(ctx, buf, time.Hour)
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("read still blocked 10 s after cancel")
	}
}
