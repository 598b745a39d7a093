package daemon_test

import (
	"context"
	"fmt"
	"math/rand/v2"
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

// TestGatewayKilledZKPush: PUSH terminals upload all the time while the
// gateway is SIGKILLed again and again, mid-upload; afterwards every punch
// has reached the broker under the id zkteco.PunchKey gives it, first
// arrivals in each terminal's order, and a duplicate only ever repeats an id.
func TestGatewayKilledZKPush(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	b := mqtttest.Start(t, nil)
	dir := t.TempDir()
	listen := freePort(t)
	sns := []string{"ZKA1", "ZKB2", "ZKC3", "ZKD4"}
	sub := newCollector(t, b.URL, "officegate/gw-kill/devices/+/events/attendance.punch")
	start := func() *exec.Cmd { return startChildZK(t, dir, b.URL, listen, sns...) }

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var terms []*zkpushsim.Terminal
	var wg sync.WaitGroup
	defer wg.Wait()
	stopPunching := make(chan struct{})
	for _, sn := range sns {
		term := zkpushsim.New(sn, "http://"+listen, &zkpushsim.Opts{Batch: 25})
		terms = append(terms, term)
		wg.Add(2)
		go func() { defer wg.Done(); term.Run(ctx, 20*time.Millisecond, 50*time.Millisecond) }()
		go func() {
			defer wg.Done()
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for n := 0; ; n++ {
				select {
				case <-stopPunching:
					return
				case <-tick.C:
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
	const kills = 8
	for range kills {
		cmd := start()
		time.Sleep(time.Duration(300+rand.IntN(1500)) * time.Millisecond) // a random moment under load
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	close(stopPunching)

	cmd := start()
	want := map[string][]string{} // device → ids in the terminal's order
	waitUntil(t, 90*time.Second, "terminals drained and every punch received", func() bool {
		for _, term := range terms {
			if term.Pending() > 0 {
				return false
			}
		}
		got := map[string]bool{}
		for _, e := range sub.events() {
			got[e.ID] = true
		}
		for _, term := range terms {
			for _, r := range term.Records() {
				if !got[envelope.KeyID(term.SN(), zkteco.PunchKey(term.SN(), r.PIN, r.Time, r.Status, r.Verify).Key)] {
					return false
				}
			}
		}
		return true
	})
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
