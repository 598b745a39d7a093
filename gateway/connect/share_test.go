package connect_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/mqtttest"
)

// TestMQTTShareGroupKilled: two replicas subscribe through one $share group
// on mosquitto (doc.go, "MQTT"), each with its own file sink, while a
// gateway publishes at QoS 1. Both take a part of the events; one is
// SIGKILLed mid-stream and the other keeps delivering; once the killed one
// is back (same client id, same state directory) every event has reached
// the sinks exactly once: what was in flight to the killed replica, and
// what mosquitto routed to its offline session, came back to it, to nobody
// else. The order of a device across the two replicas is not asserted:
// the docs do not promise it.
func TestMQTTShareGroupKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	b := mqtttest.Start(t, nil)
	pg, set := startPG(t)
	dir := t.TempDir()
	a := spec{State: filepath.Join(dir, "a"), MQTT: []string{b.URL}, ClientID: "connect-a", Share: "connect",
		PG: set, File: filepath.Join(dir, "a.jsonl")}
	bs := a
	bs.State, bs.ClientID, bs.File = filepath.Join(dir, "b"), "connect-b", filepath.Join(dir, "b.jsonl")
	ca := startChild(t, a)
	startChild(t, bs)
	// count is a sink's complete lines: its events so far (a line being
	// written is not one yet).
	count := func(sp spec) int {
		raw, _ := os.ReadFile(sp.File)
		return bytes.Count(raw, []byte("\n"))
	}

	// Both members subscribed: a warm-up device's events (one at a time,
	// each its own id) until each replica delivered one. mosquitto drops
	// what it routes while a group has no member.
	pub := newPublisher(t, b.URL, "gw-1")
	var warm uint64
	waitUntil(t, time.Minute, "both replicas subscribed (each delivered a warm-up event)", func() bool {
		warm++
		pub.publish("gw-w", []string{"w0"}, 1, warm, warm)
		return count(a) > 0 && count(bs) > 0
	})

	// Three devices: mosquitto hands the group's messages round-robin, so
	// with an even number of devices each device would stay with one
	// replica.
	devs := []string{"t1", "t2", "t3"}
	stop := pub.publishing("gw-1", devs, 7)
	a0, b0 := count(a), count(bs)
	waitUntil(t, 2*time.Minute, "both replicas delivered events of the stream", func() bool {
		return count(a) > a0+20 && count(bs) > b0+20
	})
	kill(ca)
	aKilled, bKilled := count(a), count(bs)
	waitUntil(t, 2*time.Minute, "the other replica keeps delivering", func() bool {
		return count(bs) > bKilled+100
	})
	last := stop()
	bAlone := count(bs) - bKilled

	startChild(t, a)
	// The stream's events (the warm-up's are not counted: those published
	// before a member subscribed were dropped).
	want := int(last) * len(devs)
	rows := func(got map[string][]uint64) int {
		n := 0
		for _, d := range devs {
			n += len(got[d])
		}
		return n
	}
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got, _ := pgRows(t, pg); rows(got) >= want {
			break
		}
	}
	got, _ := pgRows(t, pg)
	n := rows(got)
	if n != want {
		t.Errorf("PostgreSQL holds %d rows, want %d", n, want)
	}
	for _, d := range devs {
		seen := map[uint64]bool{}
		for _, s := range got[d] {
			seen[s] = true
		}
		for s := uint64(1); s <= last; s++ {
			if !seen[s] {
				t.Errorf("PostgreSQL: device %s: seq %d missing", d, s)
			}
		}
	}
	// The file sinks say which replica delivered what; they have no key, so
	// a replica killed between appending and recording its cursor appends
	// those lines again when it comes back (sinks' doc: a retry may resend).
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		sa, _ := fileLines(t, a.File)
		sb, _ := fileLines(t, bs.File)
		if len(firstsAll(sa, devs))+len(firstsAll(sb, devs)) >= want {
			break
		}
	}

	sa, ia := fileLines(t, a.File)
	sb, ib := fileLines(t, bs.File)
	var dupSame, dupCross int
	for id, n := range ia {
		dupSame += n - 1
		if ib[id] > 0 {
			dupCross++
		}
	}
	for _, n := range ib {
		dupSame += n - 1
	}
	for _, d := range devs {
		seen := map[uint64]bool{}
		for _, s := range append(append([]uint64(nil), sa[d]...), sb[d]...) {
			seen[s] = true
		}
		for s := uint64(1); s <= last; s++ {
			if !seen[s] {
				t.Errorf("file sinks: device %s: seq %d missing (killed at A %d B %d lines)", d, s, aKilled, bKilled)
			}
		}
	}
	if back := len(firstsAll(sa, devs)) - aKilled; back <= 0 {
		t.Errorf("replica A delivered nothing after its restart: its share was not kept for it")
	}
	if dupCross != 0 {
		t.Errorf("%d events delivered by both replicas: mosquitto gave a message to two members", dupCross)
	}
	if dupSame > aKilled+1 {
		// Only A was killed: at most what it had appended before.
		t.Errorf("%d lines appended twice by a replica, A had appended %d before its kill", dupSame, aKilled)
	}

	// Order: each replica's own part of a device, in its sink's order, and
	// whether the two parts interleave (the device's order is not kept
	// across replicas).
	var backwards, interleaved int
	for _, d := range devs {
		for _, part := range [][]uint64{firsts(sa[d]), firsts(sb[d])} {
			if !sort.SliceIsSorted(part, func(i, j int) bool { return part[i] < part[j] }) {
				backwards++
			}
		}
		if len(sa[d]) > 0 && len(sb[d]) > 0 {
			interleaved++
		}
	}
	t.Logf("mosquitto share group: %d events per device × %d devices + %d warm-up; file lines: A %d before its kill, %d after its restart, B %d while A was down, %d in all; distinct stream events: A %d, B %d; lines appended twice %d, events in both replicas' sinks %d; %d of %d devices split across both replicas, %d replica parts out of seq order",
		last, len(devs), warm, aKilled, count(a)-aKilled, bAlone, count(bs), len(firstsAll(sa, devs)), len(firstsAll(sb, devs)), dupSame, dupCross, interleaved, len(devs), backwards)
}

// firsts is seqs without the repeats of a seq already seen.
func firsts(seqs []uint64) []uint64 {
	seen, out := map[uint64]bool{}, []uint64(nil)
	for _, s := range seqs {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// firstsAll is the distinct events of devs in a file sink.
func firstsAll(seqs map[string][]uint64, devs []string) []string {
	var out []string
	for _, d := range devs {
		for _, s := range firsts(seqs[d]) {
			out = append(out, fmt.Sprint(d, "/", s))
		}
	}
	return out
}
