package daemon_test

import (
	"bufio"
	"bytes"
	"fmt"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/firmware-bridge/fwemu"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/gateway/uplink"
)

// What an idle link device costs the gateway in goroutines (docs/PERFORMANCE.md):
// one, which reads the port (parked in the runtime's poller: no thread) and runs
// the session's turns. The writer and the commit worker run only while they have
// work, the session's timer is a callback, and one watcher mirrors every link's
// status; so for all the links together, the status watcher (with the
// carry-forward of last_seen) and the serial error watch.
const (
	goroutinesPerIdleLink = 1
	goroutinesLinksShared = 2
)

// TestIdleLinkGoroutines: with its devices connected and idle, the links stage runs
// at most goroutinesPerIdleLink goroutines per device and goroutinesLinksShared for
// them all: nothing per device that a shared goroutine serves (the status watcher
// is one for all), and no goroutine that waits for work (the writer, the worker,
// a timer).
func TestIdleLinkGoroutines(t *testing.T) {
	b := mqtttest.Start(t, nil)
	dir := t.TempDir()
	const links = 4
	var devs []daemon.Device
	for i := range links {
		id := fmt.Sprintf("t-%d", i)
		d, err := fwemu.StartDevice(dir, id, msg.KindAttendance, 0, uint64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Stop() })
		devs = append(devs, daemon.Device{ID: id, Kind: "terminal", Port: d.Path, Baud: 115200})
	}
	g := runGateway(t, daemon.Options{
		Gateway: "gw-idle", StateDir: dir + "/gw",
		Uplink:  uplink.Options{Broker: b.URL, ClientID: "officegate-gw-idle"},
		Devices: devs, Log: zerolog.Nop(),
	})
	waitUntil(t, 30*time.Second, "every link up", func() bool {
		for _, d := range devs {
			if !g.Links[d.ID].Status().Online {
				return false
			}
		}
		return true
	})
	want := links*goroutinesPerIdleLink + goroutinesLinksShared
	var got int
	// A link's first minutes have short-lived work (the clock's first measurement);
	// what is asserted is the idle state it settles in.
	waitUntil(t, 30*time.Second, fmt.Sprintf("at most %d goroutines in the links stage", want), func() bool {
		got = stageGoroutines(t, "links")
		return got <= want
	})
	t.Logf("links stage: %d goroutines for %d idle devices", got, links)
}

// stageGoroutines counts the goroutines labelled with stage (daemon/labels.go).
func stageGoroutines(t *testing.T, stage string) int {
	t.Helper()
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		t.Fatal(err)
	}
	// debug=1: a record is "N @ pc…", then "# labels: {…}" if it has any.
	n, count := 0, 0
	label := fmt.Sprintf(`"stage":%q`, stage)
	sc := bufio.NewScanner(&buf)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if f, _, ok := strings.Cut(l, " @ "); ok {
			count, _ = strconv.Atoi(f)
			continue
		}
		if strings.HasPrefix(l, "# labels: ") && strings.Contains(l, label) {
			n += count
		}
	}
	return n
}
