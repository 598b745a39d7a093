package daemon_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/gateway/uplink"
)

// cardReader is a driver that emits one card punch and then waits, as a
// Wiegand reader wired to the gateway does.
type cardReader struct{ card string }

func (c cardReader) Describe() devices.Description {
	return devices.Description{ID: "reader-door", Kind: "reader"}
}

func (c cardReader) Run(ctx context.Context, sink devices.Sink) error {
	err := sink.Emit(ctx, devices.Event{Device: "reader-door", Type: "attendance.punch", Time: time.Now(), Clock: devices.ClockSynced,
		Data: map[string]any{"credential": "card", "state": "unknown", "card": c.card}})
	if err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// With no card key configured, a card number still never leaves the
// gateway: it makes a site key in its state directory at the first start
// (0600), hashes the card under it, and keeps the key, so the same card
// has the same hash after a restart.
func TestCardsHashedWithoutConfiguredKey(t *testing.T) {
	b := mqtttest.Start(t, nil)
	state := filepath.Join(t.TempDir(), "gw")
	const card = "12:4660"
	sub := newCollector(t, b.URL, "officegate/gw-card/devices/+/events/attendance.punch")
	run := func() {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- daemon.Run(ctx, daemon.Options{Gateway: "gw-card", StateDir: state,
				Uplink:  uplink.Options{Broker: b.URL, ClientID: "officegate-gw-card", BackoffMin: 50 * time.Millisecond, BackoffMax: 500 * time.Millisecond},
				Drivers: []devices.Driver{cardReader{card: card}}, Log: zerolog.Nop()})
		}()
		n := len(ids(sub))
		waitUntil(t, 20*time.Second, "the punch published", func() bool { return len(ids(sub)) > n })
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
	}
	run()
	keyFile := filepath.Join(state, devices.SiteKeyFile)
	fi, err := os.Stat(keyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("site key %s: %v %v, want a 0600 file", keyFile, fi, err)
	}
	key, err := devices.ReadKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	run()
	want := devices.KeyedHash(key, card)
	evs := sub.events()
	if n := len(ids(sub)); n != 2 {
		t.Fatalf("%d punches published, want 2 (one per start)", n)
	}
	for i, e := range evs {
		if _, clear := e.Data["card"]; clear || e.Data["card_hash"] != want {
			t.Fatalf("punch %d data %v: want card_hash %s and no card", i, e.Data, want)
		}
	}
	sub.mu.Lock()
	defer sub.mu.Unlock()
	for _, m := range sub.msgs {
		if bytes.Contains(m, []byte(card)) || bytes.Contains(m, []byte("4660")) {
			t.Fatalf("the card number was published: %s", m)
		}
	}
}

// ids are the distinct event ids c received (a restart may publish an
// event again: at least once, by the same id).
func ids(c *collector) map[string]bool {
	out := map[string]bool{}
	for _, e := range c.events() {
		out[e.ID] = true
	}
	return out
}
