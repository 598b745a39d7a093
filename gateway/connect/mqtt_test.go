package connect_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/mqtttest"
)

// TestMQTTSourceKilled: connect reading a persistent MQTT session on
// mosquitto is SIGKILLed again and again while a gateway publishes; the
// broker keeps the session's messages, resends the unacknowledged ones
// first, and PostgreSQL ends with every event once, in each device's order.
func TestMQTTSourceKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	b := mqtttest.Start(t, nil)
	pg, set := startPG(t)
	dir := t.TempDir()
	sp := spec{State: filepath.Join(dir, "c1"), MQTT: []string{b.URL}, ClientID: "connect-1", AckWait: 3 * time.Second, PG: set}
	devs := []string{"t1", "t2", "t3"}
	// The session exists before the gateway publishes: a first run
	// subscribes it.
	first := startChild(t, sp)
	pub := newPublisher(t, b.URL, "gw-1")
	waitUntil(t, 30*time.Second, "connect subscribed (an event reaches PostgreSQL)", func() bool {
		pub.publish("gw-1", devs, 5, 1, 1)
		_, n := pgRows(t, pg)
		return n > 0
	})
	kill(first)
	stop := pub.publishing("gw-1", devs, 5)
	const kills = 4
	last := killsThenComplete(t, sp, pg, devs, kills, stop)
	t.Logf("%d events per device, connect killed %d times", last, kills+1)
}
