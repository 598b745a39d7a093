package daemon_test

import (
	"bufio"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/mqtttest"
)

// fileCollector reads what a file sink wrote: one line per delivery, each
// holding the payload the uplink publishes. A missing file is no lines.
func fileCollector(t *testing.T, path string) *collector {
	t.Helper()
	c := &collector{}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return c
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l struct {
			Payload json.RawMessage `json:"payload"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			// A line cut by SIGKILL mid-write is not a delivery: the
			// record was not acknowledged and comes again.
			continue
		}
		c.msgs = append(c.msgs, l.Payload)
	}
	return c
}

// TestSinkDownAndGatewayKilled: a second sink (a file on a mount that is not
// there yet) is down while the uplink keeps delivering; then the gateway is
// SIGKILLed again and again mid-delivery with both sinks up. In the end the
// file holds every punch each device reported, at least once, in order,
// none lost — as does the broker's subscriber.
func TestSinkDownAndGatewayKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	b := mqtttest.Start(t, nil)
	dir := t.TempDir()
	mount := filepath.Join(dir, "mount")
	path := filepath.Join(mount, "archive.jsonl")
	t.Setenv(childSinkEnv, path)
	ids := []string{"t-1", "t-2"}
	devs, spec := startTerminals(t, dir, ids)
	sub := newCollector(t, b.URL, "officegate/gw-kill/devices/+/events/+")

	stopPunching := punchAlways(t, devs)
	punches := func(c *collector) int {
		n := 0
		for _, e := range c.events() {
			if e.Type == "attendance.punch" {
				n++
			}
		}
		return n
	}

	// The sink is down: the uplink delivers regardless.
	cmd := startChild(t, dir, b.URL, spec)
	waitUntil(t, 60*time.Second, "the uplink delivers while the file sink is down", func() bool { return punches(sub) >= 200 })
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the file sink wrote with its mount missing: %v", err)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	// The mount is back; kills at random moments mid-delivery.
	if err := os.Mkdir(mount, 0o700); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		cmd := startChild(t, dir, b.URL, spec)
		time.Sleep(time.Duration(150+rand.IntN(1500)) * time.Millisecond) // a random moment to kill at, not a wait for a condition
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	emitted := stopPunching()

	cmd = startChild(t, dir, b.URL, spec)
	waitUntil(t, 90*time.Second, "every punch in the broker and in the file", func() bool {
		for _, d := range devs {
			if d.Emu.Held() > 0 {
				return false
			}
		}
		return sub.complete(ids, emitted) && fileCollector(t, path).complete(ids, emitted)
	})
	stopChild(t, cmd)
	n, unique, dups := fileCollector(t, path).check(t, ids, emitted)
	t.Logf("file sink: %d lines, %d unique punches, %d redelivered; emitted %v", n, unique, dups, emitted)
	sub.check(t, ids, emitted)
}
