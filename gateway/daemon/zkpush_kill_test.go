package daemon_test

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/zkpush/pushdrv"
	"github.com/officegate/officegate/devices/zkpush/zkpushsim"
	"github.com/officegate/officegate/devices/zkteco"
	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/mqtttest"
)

// zkpushDrivers builds the child gateway's PUSH terminals from
// "listen=SN1,SN2" ("" for none).
func zkpushDrivers(spec string) ([]devices.Driver, error) {
	if spec == "" {
		return nil, nil
	}
	listen, sns, _ := strings.Cut(spec, "=")
	hub := pushdrv.NewHub(nil)
	var ds []devices.Driver
	for _, sn := range strings.Split(sns, ",") {
		d, err := pushdrv.New(hub, "zk-"+strings.ToLower(sn), devices.Options{Config: pushCfg{Serial: sn, Listen: listen, TimeZone: "UTC"}})
		if err != nil {
			return nil, err
		}
		ds = append(ds, d)
	}
	return ds, nil
}

type pushCfg pushdrv.Options

func (c pushCfg) Decode(v any) error { *(v.(*pushdrv.Options)) = pushdrv.Options(c); return nil }

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestGatewayKilledZKPush: a morning rush — 8 PUSH terminals upload all
// the time while the gateway (a real process) is SIGKILLed 20 times, each
// time mid-upload: once it has answered uploads and while a terminal waits
// for the answer to another. Afterwards every punch has reached the broker
// under the id zkteco.PunchKey gives it, first arrivals in each
// terminal's order, and a duplicate only ever repeats an id.
func TestGatewayKilledZKPush(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	b := mqtttest.Start(t, nil)
	dir := t.TempDir()
	listen := freePort(t)
	sns := []string{"ZKA1", "ZKB2", "ZKC3", "ZKD4", "ZKE5", "ZKF6", "ZKG7", "ZKH8"}
	sub := newCollector(t, b.URL, "officegate/gw-kill/devices/+/events/attendance.punch")
	start := func() *exec.Cmd { return startChildZK(t, dir, b.URL, listen, sns...) }

	ctx, cancel := context.WithCancel(context.Background())
	var terms []*zkpushsim.Terminal
	var wg sync.WaitGroup
	stopPunching := make(chan struct{})
	var stopOnce sync.Once
	stop := func() { stopOnce.Do(func() { close(stopPunching) }) }
	// On every path, a failure's too: the terminals stop before they are
	// waited for.
	defer func() { stop(); cancel(); wg.Wait() }()
	for _, sn := range sns {
		term := zkpushsim.New(sn, "http://"+listen, &zkpushsim.Opts{Batch: 25})
		terms = append(terms, term)
		wg.Add(2)
		go func() { defer wg.Done(); term.Run(ctx, 20*time.Millisecond, 50*time.Millisecond) }()
		go func() {
			defer wg.Done()
			// A person every 40 ms at each terminal: up to 200 punches a
			// second at the gateway, a rush far above what 8 real terminals
			// see. A terminal holding 30 not yet acknowledged waits: the
			// punches stay bounded however long a loaded machine takes to
			// start a gateway (one person queueing behind the next).
			tick := time.NewTicker(40 * time.Millisecond)
			defer tick.Stop()
			for n := 0; ; n++ {
				select {
				case <-stopPunching:
					return
				case <-tick.C:
				}
				if term.Pending() >= 30 {
					continue
				}
				// Every punch its own PIN: two punches of one person in the
				// same second with the same codes are one record on a terminal.
				if _, err := term.Punch(fmt.Sprintf("%d", 10000+n), n%2, 1); err != nil {
					t.Errorf("%s: %v", sn, err)
					return
				}
			}
		}()
	}
	uploads := func() int {
		n := 0
		for _, term := range terms {
			n += term.Uploads()
		}
		return n
	}
	uploading := func() bool {
		for _, term := range terms {
			if term.Uploading() {
				return true
			}
		}
		return false
	}
	const kills = 20
	for i := range kills {
		before := uploads()
		cmd := start()
		// Mid-upload, by conditions, not by a timer: this gateway has
		// acknowledged uploads (it runs and journals), and an upload is on
		// its way to it now.
		waitUntil(t, 60*time.Second, fmt.Sprintf("kill %d: the gateway acknowledges uploads", i+1), func() bool { return uploads() >= before+len(sns) })
		waitUntil(t, 10*time.Second, fmt.Sprintf("kill %d: an upload in flight", i+1), uploading)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	stop()

	cmd := start()
	want := map[string][]string{} // device → ids in the terminal's order
	// What is still missing, for the condition and for a failure's message.
	missing := func() (pending, absent int) {
		for _, term := range terms {
			pending += term.Pending()
		}
		got := map[string]bool{}
		for _, e := range sub.events() {
			got[e.ID] = true
		}
		for _, term := range terms {
			for _, r := range term.Records() {
				if !got[envelope.KeyID(term.SN(), zkteco.PunchKey(term.SN(), r.PIN, r.Time, r.Status, r.Verify).Key)] {
					absent++
				}
			}
		}
		return pending, absent
	}
	deadline := time.Now().Add(120 * time.Second)
	for {
		pending, absent := missing()
		if pending == 0 && absent == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the last restart: %d punches still held by the terminals, %d recorded punches not at the broker", pending, absent)
		}
		time.Sleep(100 * time.Millisecond) // polling a condition
	}
	stopChild(t, cmd)
	cancel()

	total := 0
	for _, term := range terms {
		dev := "zk-" + strings.ToLower(term.SN())
		for _, r := range term.Records() {
			want[dev] = append(want[dev], envelope.KeyID(term.SN(), zkteco.PunchKey(term.SN(), r.PIN, r.Time, r.Status, r.Verify).Key))
		}
		total += len(term.Records())
	}
	pos := map[string]int{}
	for dev, ids := range want {
		for i, id := range ids {
			pos[dev+" "+id] = i
		}
	}
	next := map[string]int{}
	seen := map[string]string{} // id → person
	msgs, dups := 0, 0
	for _, e := range sub.events() {
		msgs++
		person := fmt.Sprint(e.Data["person"])
		if p, ok := seen[e.ID]; ok {
			if p != person {
				t.Fatalf("id %s stands for person %s and %s", e.ID, p, person)
			}
			dups++
			continue
		}
		seen[e.ID] = person
		i, ok := pos[e.Device+" "+e.ID]
		if !ok {
			t.Fatalf("punch %s of %s was never recorded by a terminal", e.ID, e.Device)
		}
		if i != next[e.Device] {
			t.Fatalf("%s: first arrival of punch %d of the terminal's log where %d was expected: order broken", e.Device, i, next[e.Device])
		}
		next[e.Device]++
	}
	if len(seen) != total {
		t.Fatalf("%d distinct punches arrived, the terminals recorded %d", len(seen), total)
	}
	t.Logf("%d kills; %d punches recorded by %d terminals; %d messages, %d duplicates (same id)", kills, total, len(terms), msgs, dups)
}
