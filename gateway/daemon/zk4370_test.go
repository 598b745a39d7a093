package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/zk4370"
	"github.com/officegate/officegate/devices/zk4370/zk4370sim"
	"github.com/officegate/officegate/devices/zkteco"
	"github.com/officegate/officegate/gateway/contract"
	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/gateway/uplink"
)

// TestZK4370LinkCut: a terminal that only speaks 4370, run by the whole
// gateway against a real mosquitto. Its stored log is backfilled, real-time
// punches follow, the link is cut while people keep punching, and after the
// reconnect every punch reaches the broker once per id, in the terminal's
// order, under the id a PUSH upload of the same punch gets.
func TestZK4370LinkCut(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	b := mqtttest.Start(t, nil)
	dir := t.TempDir()
	const serial = "CQZ7224460"
	term := zk4370sim.New(zk4370sim.Options{Serial: serial, CommKey: 777, Location: time.UTC})
	if err := term.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(term.Cut)
	addr := term.Addr()
	var recs []zk4370.AttRecord
	punch := func(pin string) {
		for {
			r, err := term.Punch(pin, 1, 0)
			if err == nil {
				recs = append(recs, r)
				return
			}
			if !errors.Is(err, zk4370sim.ErrDisabled) {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err = term.Wait(ctx, func(s zk4370sim.State) bool { return !s.Disabled })
			cancel()
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range 3 {
		punch(fmt.Sprint(100 + i)) // stored before the gateway starts
	}
	section := fmt.Sprintf("address = %q\ncomm_key = 777\ntime_zone = \"UTC\"\nbackoff_min = \"10ms\"\nbackoff_max = \"100ms\"\n", addr)
	state := filepath.Join(dir, "gw")
	drv, err := zk4370.New("att-entrance", devices.Options{Config: tomlSection(section), StateDir: state})
	if err != nil {
		t.Fatal(err)
	}
	events := newCollector(t, b.URL, "officegate/gw-z/devices/att-entrance/events/#")
	runGateway(t, daemon.Options{
		Gateway: "gw-z", StateDir: state,
		Uplink:  uplink.Options{Broker: b.URL, ClientID: "officegate-gw-z"},
		Drivers: []devices.Driver{drv}, Log: zerolog.Nop(),
	})
	count := func() int { events.mu.Lock(); defer events.mu.Unlock(); return len(events.msgs) }
	waitUntil(t, 20*time.Second, "the stored log backfilled", func() bool { return count() >= 3 })
	for i := range 4 {
		punch(fmt.Sprint(200 + i)) // real time
	}
	waitUntil(t, 20*time.Second, "real-time punches", func() bool { return count() >= 7 })
	term.Cut()
	for i := range 4 {
		punch(fmt.Sprint(300 + i)) // while the link is down
	}
	if err := term.Listen(addr); err != nil {
		t.Fatal(err)
	}
	punch("999")
	waitUntil(t, 30*time.Second, "every punch after the reconnect", func() bool { return count() >= len(recs) })

	events.mu.Lock()
	for i, m := range events.msgs {
		if err := contract.ValidateEvent(m); err != nil {
			t.Errorf("event %d breaks the contract: %v\n%s", i, err, m)
		}
	}
	events.mu.Unlock()
	evs := events.events()
	seen := map[string]bool{}
	for i, e := range evs {
		if seen[e.ID] {
			t.Errorf("event %d: id %s published twice", i, e.ID)
		}
		seen[e.ID] = true
	}
	if len(seen) != len(recs) {
		t.Fatalf("%d distinct ids for %d punches", len(seen), len(recs))
	}
	for i, r := range recs {
		src := zkteco.PunchKey(serial, r.PIN, r.Time.String(), int(r.State), int(r.Verify))
		if want := envelope.KeyID(src.HardwareID, src.Key); evs[i].ID != want || evs[i].Data["person"] != r.PIN {
			t.Errorf("event %d: id %s person %v, want %s %s (the terminal's order, the PUSH id)", i, evs[i].ID, evs[i].Data["person"], want, r.PIN)
		}
	}
}
