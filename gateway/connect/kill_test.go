package connect_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestConnectKilled: connect, a process of its own, is SIGKILLed again and
// again while a gateway publishes; in the end PostgreSQL holds every event
// once, and each device's events in the order connect journaled them
// (journal_seq) are the device's order: a restarted connect takes the
// messages its killed run had fetched and not acknowledged before the
// later ones (settle).
func TestConnectKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	c := backbone(t)
	pg, set := startPG(t)
	dir := t.TempDir()
	sp := spec{State: filepath.Join(dir, "c1"), NATS: c.NATSURLs(), Consumer: "connect", AckWait: 3 * time.Second, PG: set}
	devs := []string{"t1", "t2", "t3", "t4"}
	pub := newPublisher(t, c.Nodes[1].MQTTURL, "gw-1")
	stop := pub.publishing("gw-1", devs, 3)
	const kills = 5
	last := killsThenComplete(t, sp, pg, devs, kills, stop)
	t.Logf("%d events per device, connect killed %d times", last, kills)
}

// TestSharedReplicaTakesOver: two replicas share the consumer (replicas =
// "shared"); one is SIGKILLed for good mid-stream: the other takes the
// messages it had not finished (they come back after AckWait) and
// PostgreSQL holds every event once.
func TestSharedReplicaTakesOver(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	c := backbone(t)
	pg, set := startPG(t)
	dir := t.TempDir()
	a := spec{State: filepath.Join(dir, "a"), NATS: c.NATSURLs(), Consumer: "connect", AckWait: 3 * time.Second, PG: set, Shared: true}
	b := a
	b.State = filepath.Join(dir, "b")
	devs := []string{"t1", "t2", "t3", "t4"}
	pub := newPublisher(t, c.Nodes[2].MQTTURL, "gw-1")
	stop := pub.publishing("gw-1", devs, 1)
	ca := startChild(t, a)
	startChild(t, b)
	waitUntil(t, time.Minute, "both replicas took messages", func() bool {
		return dedupBytes(a.State) > 0 && dedupBytes(b.State) > 0
	})
	kill(ca)
	time.Sleep(time.Second) // more published while the replica is gone (a duration of load, not a wait for a condition)
	last := stop()
	want := int(last) * len(devs)
	waitUntil(t, 2*time.Minute, "PostgreSQL holds every event", func() bool {
		_, n := pgRows(t, pg)
		return n >= want
	})
	got, n := pgRows(t, pg)
	if n != want {
		t.Fatalf("PostgreSQL holds %d rows, want %d", n, want)
	}
	for _, d := range devs {
		seen := map[uint64]bool{}
		for _, s := range got[d] {
			seen[s] = true
		}
		for s := uint64(1); s <= last; s++ {
			if !seen[s] {
				t.Errorf("device %s: seq %d missing", d, s)
			}
		}
	}
}

// dedupBytes is the size of a replica's dedup files: keys it recorded.
func dedupBytes(state string) int64 {
	ents, _ := os.ReadDir(filepath.Join(state, "dedup"))
	var n int64
	for _, e := range ents {
		if fi, err := e.Info(); err == nil {
			n += fi.Size()
		}
	}
	return n
}
