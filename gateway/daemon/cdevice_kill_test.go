package daemon_test

import (
	"math/rand/v2"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/officegate/officegate/firmware-bridge/c/cdevtest"
	"github.com/officegate/officegate/gateway/mqtttest"
)

// TestGatewayKilledCDevice: the device side in C (firmware-bridge/c, built
// for the host with ASan and UBSan, on real PTYs) against the whole
// gateway, killed with SIGKILL again and again while two terminals punch
// 3000 times in all. Every punch reaches the HR consumer once, in order,
// with its stable id, and the devices' stores empty.
func TestGatewayKilledCDevice(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	b := mqtttest.Start(t, nil)
	dir := t.TempDir()
	ids := []string{"c-1", "c-2"}
	var devs []*cdevtest.Device
	var spec []string
	for _, id := range ids {
		d := cdevtest.Start(t, t.TempDir(), "-r", "-i", "EMU-"+id)
		devs = append(devs, d)
		spec = append(spec, id+"="+d.TTY)
	}
	sub := newCollector(t, b.URL, "officegate/gw-kill/devices/+/events/+")

	const perDevice = 1500
	emitted := make([]int, len(devs))
	var gen sync.WaitGroup
	for i, d := range devs {
		gen.Add(1)
		go func() {
			defer gen.Done()
			for emitted[i] < perDevice {
				if err := d.Emit(25); err != nil {
					t.Errorf("emit: %v", err)
					return
				}
				emitted[i] += 25
				time.Sleep(10 * time.Millisecond) // a steady rush: ≈ 2000 punches/s per terminal at most
			}
		}()
	}
	start := func() *exec.Cmd { return startChild(t, dir, b.URL, spec) }
	for k := 0; k < 5; k++ {
		cmd := start()
		time.Sleep(time.Duration(300+rand.IntN(900)) * time.Millisecond) // a random moment mid-stream
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	gen.Wait()
	cmd := start()
	waitUntil(t, 90*time.Second, "every punch received and the terminals' stores empty", func() bool {
		if !sub.complete(ids, emitted) {
			return false
		}
		for _, d := range devs {
			st, err := d.Status()
			if err != nil || st.Int("held") != 0 {
				return false
			}
		}
		return true
	})
	stopChild(t, cmd)
	n, unique, dups := sub.check(t, ids, emitted)
	t.Logf("5 kills; %d punches; subscriber got %d messages, %d unique, %d duplicates", perDevice*len(ids), n, unique, dups)
	for _, e := range sub.notes() {
		t.Errorf("false device.events_lost: device %s boot %d lost %v before seq %v", e.Device, e.Boot, e.Data["lost"], e.Data["before_seq"])
	}
	for _, d := range devs {
		if err := d.Kill(); err != nil {
			t.Error(err)
		}
	}
}
