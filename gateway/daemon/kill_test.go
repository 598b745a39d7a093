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

	"github.com/officegate/officegate/firmware-bridge/fwemu"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/gateway/contract"
	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/gateway/uplink"
)

const (
	childStateEnv   = "OFFICEGATE_TEST_STATE"
	childBrokerEnv  = "OFFICEGATE_TEST_BROKER"
	childDevicesEnv = "OFFICEGATE_TEST_DEVICES"
	childSinkEnv    = "OFFICEGATE_TEST_SINK"   // a file sink's path, if set
	childZKPushEnv  = "OFFICEGATE_TEST_ZKPUSH" // "listen=SN1,SN2": PUSH terminals, if set
	childPGEnv      = "OFFICEGATE_TEST_PG"     // a postgres sink's settings (JSON), if set
)

// TestMain runs the gateway child instead of the tests when a kill test
// started this process as one, so a normal run has no child test to skip.
func TestMain(m *testing.M) {
	if state := os.Getenv(childStateEnv); state != "" {
		gatewayChild(state)
		return
	}
	os.Exit(m.Run())
}

// gatewayChild is the gateway process the kill tests start and kill.
func gatewayChild(state string) {
	var devs []daemon.Device
	for _, d := range strings.Split(os.Getenv(childDevicesEnv), ",") {
		if d == "" {
			continue
		}
		id, path, _ := strings.Cut(d, "=")
		devs = append(devs, daemon.Device{ID: id, Kind: "terminal", Port: path, Baud: 115200})
	}
	drivers, err := zkpushDrivers(os.Getenv(childZKPushEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
	ctx, stop := context.WithCancel(context.Background())
	go func() {
		c := make(chan os.Signal, 1)
		signalNotify(c)
		<-c
		stop()
	}()
	var sinks []daemon.Sink
	if path := os.Getenv(childSinkEnv); path != "" {
		sinks = append(sinks, daemon.Sink{Name: "archive", Kind: "file", Streams: []string{"attendance"},
			Settings: map[string]string{"path": path}})
	}
	if pg := os.Getenv(childPGEnv); pg != "" {
		var set map[string]string
		if err := json.Unmarshal([]byte(pg), &set); err != nil {
			fmt.Fprintln(os.Stderr, "gateway:", err)
			os.Exit(1)
		}
		sinks = append(sinks, daemon.Sink{Name: "db", Kind: "postgres", Streams: []string{"attendance"}, Settings: set})
	}
	err = daemon.Run(ctx, daemon.Options{
		Gateway: "gw-kill", StateDir: state, Sinks: sinks, Drivers: drivers,
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
	const kills = 12
	ids := []string{"t-1", "t-2", "t-3", "t-4"}
	devs, spec := startTerminals(t, dir, ids)
	// One subscription for punches and gap notes, so a note arrives before
	// the punch it precedes (device.status events are skipped by check).
	sub := newCollector(t, b.URL, "officegate/gw-kill/devices/+/events/+")

	// Devices punch all the time, whatever the gateway is doing.
	stopPunching := punchAlways(t, devs)
	start := func() *exec.Cmd { return startChild(t, dir, b.URL, spec) }
	for k := 0; k < kills; k++ {
		cmd := start()
		// A random moment under load, early or late in the run: some runs
		// outlive the intake's periodic saves, some die before their first.
		time.Sleep(time.Duration(150+rand.IntN(2000)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	emitted := stopPunching()

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
	stopChild(t, cmd)
	total := 0
	for _, n := range emitted {
		total += n
	}
	n, unique, dups := sub.check(t, ids, emitted)
	t.Logf("%d kills; %d events emitted by devices; subscriber got %d messages, %d unique, %d duplicates (same id, same device content)", kills, total, n, unique, dups)
	// No device lost anything: a note of loss would be false (each of them
	// used to claim events the consumer had already received).
	for _, e := range sub.notes() {
		t.Errorf("false device.events_lost: device %s boot %d lost %v before seq %v", e.Device, e.Boot, e.Data["lost"], e.Data["before_seq"])
	}
}

// TestGatewayKilledDeviceOverflow: a device whose store really overflows
// while the gateway is down (killed under load) gets one note, exact: it
// names every event the device dropped and none it delivered.
func TestGatewayKilledDeviceOverflow(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	b := mqtttest.Start(t, nil)
	dir := t.TempDir()
	const capacity = 40
	d, err := fwemu.StartPTY("t-9", fwemu.Options{StatePath: filepath.Join(dir, "t-9.state"), HardwareID: "EMU-t-9",
		Kind: msg.KindAttendance, RTC: true, Capacity: capacity})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Stop() })
	sub := newCollector(t, b.URL, "officegate/gw-kill/devices/+/events/+")
	spec := []string{"t-9=" + d.Path}
	var emitted []msg.EventID
	emit := func(n int) {
		for i := 0; i < n; i++ {
			id, err := d.Emu.Emit("punch", map[string]any{"user": fmt.Sprintf("%05d", len(emitted)), "state": uint64(0)})
			if err != nil {
				t.Fatal(err)
			}
			emitted = append(emitted, id)
		}
	}
	delivered := func() map[uint64]bool {
		seen := map[uint64]bool{}
		for _, e := range sub.events() {
			if e.Type == "attendance.punch" {
				seen[e.Seq] = true
			}
		}
		return seen
	}

	// Under load, then killed as soon as the device forgot what it sent:
	// the gateway's record of what it holds is at its freshest and most
	// at risk.
	cmd := startChild(t, dir, b.URL, spec)
	emit(1)
	waitUntil(t, 30*time.Second, "the gateway is up", func() bool { return d.Emu.Held() == 0 })
	tick := time.NewTicker(5 * time.Millisecond)
	for range 300 { // 1.5 s: longer than any periodic save's interval
		<-tick.C
		emit(1)
	}
	tick.Stop()
	waitUntil(t, 30*time.Second, "the device's store is empty", func() bool { return d.Emu.Held() == 0 })
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	// The gateway is down: the device records more than its store holds.
	// (A gateway slow to keep up under load may have made it drop some
	// before: they must be noted too.)
	early := d.Emu.Lost()
	emit(3 * capacity)
	dropped := d.Emu.Lost()
	if dropped-early != 2*capacity {
		t.Fatalf("the device dropped %d events while the gateway was down, want %d", dropped-early, 2*capacity)
	}
	cmd = startChild(t, dir, b.URL, spec)
	waitUntil(t, 30*time.Second, "the device's store is empty", func() bool { return d.Emu.Held() == 0 })
	emit(5) // the first event after the gap is recorded once the store has room
	waitUntil(t, 30*time.Second, "every event the device kept arrives", func() bool { return len(delivered()) == len(emitted)-int(dropped) })
	stopChild(t, cmd)

	got := delivered()
	var lost []uint64
	for _, id := range emitted {
		if !got[uint64(id.Seq)] {
			lost = append(lost, uint64(id.Seq))
		}
	}
	if uint64(len(lost)) != dropped {
		t.Fatalf("%d events never arrived; the device dropped %d", len(lost), dropped)
	}
	// The notes name exactly the events the device dropped: each a run of
	// them ending just before the event it precedes, together all of them.
	isLost := map[uint64]bool{}
	for _, seq := range lost {
		isLost[seq] = true
	}
	notes := sub.notes()
	if len(notes) == 0 {
		t.Fatal("no device.events_lost note for a store that overflowed")
	}
	noted := map[string]bool{}
	var sum uint64
	for _, n := range notes {
		if noted[n.ID] {
			continue // a republished copy
		}
		noted[n.ID] = true
		before, _ := n.Data["before_seq"].(float64)
		count, _ := n.Data["lost"].(float64)
		boot, _ := n.Data["boot"].(float64)
		b, c := uint64(before), uint64(count)
		if uint32(boot) != emitted[0].Boot || c == 0 || c >= b || isLost[b] || !got[b] {
			t.Fatalf("note: boot %v, lost %v before seq %v; the device dropped seqs %v", boot, count, before, lost)
		}
		for seq := b - c; seq < b; seq++ {
			if !isLost[seq] {
				t.Fatalf("note: lost %d before seq %d, but seq %d arrived", c, b, seq)
			}
		}
		if n.ID == envelope.EventID("EMU-t-9", emitted[0].Boot, b-c) {
			t.Fatal("the note took the id of the first event it declares lost")
		}
		sum += c
		t.Logf("note: lost %d before seq %d", c, b)
	}
	if sum != dropped {
		t.Fatalf("notes declare %d events lost; the device dropped %d: %v", sum, dropped, lost)
	}
}

// startChild starts the gateway as a child process (gatewayChild, from TestMain) with
// its state in dir/gw and the devices of spec ("id=tty").
func startChild(t *testing.T, dir, broker string, spec []string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childStateEnv+"="+filepath.Join(dir, "gw"), childBrokerEnv+"="+broker,
		childDevicesEnv+"="+strings.Join(spec, ","))
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// childProcAttr has the kernel kill a child gateway when the test binary
// dies: a test binary that panics on go test's timeout runs no cleanup, and
// a gateway left behind keeps reading the PTYs later tests and benches get.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// stopChild stops the child gateway with SIGTERM; it must exit cleanly,
// within the 30 s the unit gives it (systemd/officegate.service
// TimeoutStopSec).
func stopChild(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("gateway exited with %v after SIGTERM", err)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("gateway did not exit within 30 s of SIGTERM")
	}
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
	Type   string         `json:"type"`
	Device string         `json:"device"`
	Boot   uint32         `json:"boot"`
	Seq    uint64         `json:"seq"`
	Data   map[string]any `json:"data"`
}

// events decodes what the collector received, in order.
func (c *collector) events() []evt {
	c.mu.Lock()
	defer c.mu.Unlock()
	evs := make([]evt, len(c.msgs))
	for i, m := range c.msgs {
		json.Unmarshal(m, &evs[i])
	}
	return evs
}

// notes are the device.events_lost events received.
func (c *collector) notes() []evt {
	var n []evt
	for _, e := range c.events() {
		if e.Type == "device.events_lost" {
			n = append(n, e)
		}
	}
	return n
}

// complete: every device's punches 1..emitted have arrived.
func (c *collector) complete(ids []string, emitted []int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := map[string]map[uint64]bool{}
	for _, m := range c.msgs {
		var e evt
		json.Unmarshal(m, &e)
		if e.Type != "attendance.punch" {
			continue
		}
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
		if e.Type != "attendance.punch" {
			continue
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

// punchAlways has every device punch every 10 ms (100 punches/s each)
// from now on, whatever the gateway is doing, until the stop it returns;
// stop returns how many punches each device emitted.
func punchAlways(t *testing.T, devs []*fwemu.PTYDevice) (stop func() []int) {
	t.Helper()
	done := make(chan struct{})
	var gen sync.WaitGroup
	emitted := make([]int, len(devs))
	for i, d := range devs {
		gen.Go(func() {
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for n := 0; ; n++ {
				select {
				case <-done:
					return
				case <-tick.C:
				}
				if _, err := d.Emu.Emit("punch", map[string]any{"user": fmt.Sprintf("%05d", n%500), "state": uint64(n % 2)}); err != nil {
					t.Errorf("emit: %v", err)
					return
				}
				emitted[i]++
			}
		})
	}
	return func() []int {
		close(done)
		gen.Wait()
		return emitted
	}
}

// startTerminals starts an emulated attendance terminal on a PTY for each id
// (stopped when the test ends) and returns them with the child gateway's
// device list ("id=path" each).
func startTerminals(t *testing.T, dir string, ids []string) ([]*fwemu.PTYDevice, []string) {
	t.Helper()
	var devs []*fwemu.PTYDevice
	var spec []string
	for i, id := range ids {
		d, err := fwemu.StartDevice(dir, id, msg.KindAttendance, 0, uint64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Stop() })
		devs = append(devs, d)
		spec = append(spec, id+"="+d.Path)
	}
	return devs, spec
}
