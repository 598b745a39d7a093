package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/gateway/contract"
	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/gateway/demo"
	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/gateway/uplink"
)

const (
	childStateEnv   = "OFFICEGATE_TEST_STATE"
	childBrokerEnv  = "OFFICEGATE_TEST_BROKER"
	childDevicesEnv = "OFFICEGATE_TEST_DEVICES"
)

// TestGatewayChild is the gateway process the kill test starts and kills.
func TestGatewayChild(t *testing.T) {
	state := os.Getenv(childStateEnv)
	if state == "" {
		t.Skip("child process of TestGatewayKilled")
	}
	var devs []daemon.Device
	for _, d := range strings.Split(os.Getenv(childDevicesEnv), ",") {
		id, path, _ := strings.Cut(d, "=")
		devs = append(devs, daemon.Device{ID: id, Kind: "terminal", Port: path, Baud: 115200})
	}
	ctx, stop := context.WithCancel(context.Background())
	go func() {
		c := make(chan os.Signal, 1)
		signalNotify(c)
		<-c
		stop()
	}()
	err := daemon.Run(ctx, daemon.Options{
		Gateway: "gw-kill", StateDir: state,
		Journal: journal.Options{SegmentSize: 256 << 10, MaxBytes: 64 << 20, SyncWindow: 5 * time.Millisecond},
		Uplink:  uplink.Options{Broker: os.Getenv(childBrokerEnv), ClientID: "officegate-gw-kill", BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond},
		Devices: devs, Log: zerolog.New(os.Stderr).Level(zerolog.ErrorLevel),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func TestGatewayKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	b := mqtttest.Start(t, nil)
	dir := t.TempDir()
	const kills = 20
	ids := []string{"t-1", "t-2", "t-3", "t-4"}
	var devs []*demo.Device
	var spec []string
	for i, id := range ids {
		d, err := demo.StartDevice(dir, id, msg.KindAttendance, 0, uint64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Stop() })
		devs = append(devs, d)
		spec = append(spec, id+"="+d.Path)
	}
	sub := newCollector(t, b.URL, "officegate/gw-kill/devices/+/events/attendance.punch") // device.status events are the gateway's own

	// Devices punch all the time, whatever the gateway is doing.
	stop := make(chan struct{})
	var gen sync.WaitGroup
	emitted := make([]int, len(devs))
	for i, d := range devs {
		gen.Add(1)
		go func() {
			defer gen.Done()
			tick := time.NewTicker(10 * time.Millisecond) // 100 events/s per device
			defer tick.Stop()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				if _, err := d.Emu.Emit("punch", map[string]any{"user": fmt.Sprintf("%05d", n%500), "state": uint64(n % 2)}); err != nil {
					t.Errorf("emit: %v", err)
					return
				}
				emitted[i]++
			}
		}()
	}
	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestGatewayChild$")
		cmd.Env = append(os.Environ(), childStateEnv+"="+filepath.Join(dir, "gw"), childBrokerEnv+"="+b.URL,
			childDevicesEnv+"="+strings.Join(spec, ","))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	for k := 0; k < kills; k++ {
		cmd := start()
		time.Sleep(time.Duration(150+rand.IntN(500)) * time.Millisecond) // a random moment under load
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	close(stop)
	gen.Wait()

	// A last run drains everything the devices still hold, then stops on SIGTERM.
	cmd := start()
	waitUntil(t, 60*time.Second, "devices drained and every event received", func() bool {
		for _, d := range devs {
			if d.Emu.Held() > 0 {
				return false
			}
		}
		return sub.complete(ids, emitted)
	})
	cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("gateway exited with %v after SIGTERM", err)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("gateway did not exit within 10 s of SIGTERM")
	}
	total := 0
	for _, n := range emitted {
		total += n
	}
	n, unique, dups := sub.check(t, ids, emitted)
	t.Logf("%d kills; %d events emitted by devices; subscriber got %d messages, %d unique, %d duplicates (same id, same device content)", kills, total, n, unique, dups)
}

var collectors atomic.Int64

// collector is the HR consumer: it keeps every message it receives.
type collector struct {
	mu   sync.Mutex
	msgs [][]byte
}

func newCollector(t *testing.T, broker, filter string) *collector {
	c := &collector{}
	id := fmt.Sprintf("hr-collector-%d", collectors.Add(1)) // two with one id would take turns
	cl := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID(id).SetCleanSession(true).SetOrderMatters(true))
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("collector: %v", tok.Error())
	}
	if tok := cl.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) {
		c.mu.Lock()
		c.msgs = append(c.msgs, append([]byte(nil), m.Payload()...))
		c.mu.Unlock()
	}); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("collector subscribe: %v", tok.Error())
	}
	t.Cleanup(func() { cl.Disconnect(0) })
	return c
}

type evt struct {
	ID     string         `json:"id"`
	Device string         `json:"device"`
	Boot   uint32         `json:"boot"`
	Seq    uint64         `json:"seq"`
	Data   map[string]any `json:"data"`
}

// complete: every device's events 1..emitted have arrived.
func (c *collector) complete(ids []string, emitted []int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := map[string]map[uint64]bool{}
	for _, m := range c.msgs {
		var e evt
		json.Unmarshal(m, &e)
		if seen[e.Device] == nil {
			seen[e.Device] = map[uint64]bool{}
		}
		seen[e.Device][e.Seq] = true
	}
	for i, id := range ids {
		for seq := 1; seq <= emitted[i]; seq++ {
			if !seen[id][uint64(seq)] {
				return false
			}
		}
	}
	return true
}

// check: every event id is derived from (hardware id, boot, seq) and every
// seq from 1 to the last arrived, per device first occurrences in order, and
// duplicates byte-identical.
func (c *collector) check(t *testing.T, ids []string, emitted []int) (n, unique, dups int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := map[string]uint64{}
	first := map[string][]byte{}
	for i, m := range c.msgs {
		var e evt
		if err := json.Unmarshal(m, &e); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if i < 300 {
			if err := contract.Strict(contract.Event, m); err != nil {
				t.Fatalf("envelope breaks the contract: %v\n%s", err, m)
			}
		}
		if p, ok := first[e.ID]; ok {
			// MQTT.md §1: a device's resend after a gateway restart may carry a
			// later received and clock; everything the device reported is equal.
			dups++
			if a, b := deviceContent(p), deviceContent(m); a != b {
				t.Fatalf("duplicate of %s differs in what the device reported:\n%s\n%s", e.ID, a, b)
			}
			continue
		}
		first[e.ID] = m
		if e.ID != envelope.EventID("EMU-"+e.Device, e.Boot, e.Seq) {
			t.Fatalf("event %s/%d has id %s: not the stable one", e.Device, e.Seq, e.ID)
		}
		if e.Seq != next[e.Device]+1 {
			t.Fatalf("device %s: seq %d arrived after %d: lost or reordered", e.Device, e.Seq, next[e.Device])
		}
		next[e.Device] = e.Seq
	}
	for i, id := range ids {
		if next[id] != uint64(emitted[i]) {
			t.Fatalf("device %s: emitted %d events, %d arrived in order", id, emitted[i], next[id])
		}
	}
	return len(c.msgs), len(first), dups
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func deviceContent(p []byte) string {
	var m map[string]any
	json.Unmarshal(p, &m)
	delete(m, "received")
	delete(m, "clock")
	b, _ := json.Marshal(m)
	return string(b)
}

// runGateway runs the whole gateway with o until the test ends (Ready is
// taken) and returns it once every part runs; a Run that fails fails t.
func runGateway(t *testing.T, o daemon.Options) *daemon.Gateway {
	t.Helper()
	ready := make(chan *daemon.Gateway, 1)
	o.Ready = func(g *daemon.Gateway) { ready <- g }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- daemon.Run(ctx, o) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case g := <-ready:
		return g
	case err := <-done:
		done <- err // for the cleanup
		t.Fatalf("gateway did not start: %v", err)
		return nil
	}
}
