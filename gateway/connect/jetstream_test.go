package connect_test

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/officegate/officegate/gateway/connect"
)

// runInProcess runs connect in this process until the test ends or stop is
// called (a clean stop: SIGTERM's path), once it runs (runWithMetrics).
func runInProcess(t *testing.T, sp spec) (stop func()) {
	t.Helper()
	stop, _ = runWithMetrics(t, sp)
	return stop
}

// TestJetStreamToSinks: events a gateway publishes over MQTT to one node of
// the cluster reach PostgreSQL and a file through connect, which consumes
// the stream from another node: each event once, in each device's order,
// though the gateway published some twice (a lost PUBACK).
func TestJetStreamToSinks(t *testing.T) {
	c := backbone(t)
	pg, set := startPG(t)
	dir := t.TempDir()
	sp := spec{State: filepath.Join(dir, "c1"), NATS: c.NATSURLs()[1:], Consumer: "connect", AckWait: 10 * time.Second,
		PG: set, File: filepath.Join(dir, "events.jsonl")}
	runInProcess(t, sp)
	devs := []string{"t1", "t2", "t3"}
	pub := newPublisher(t, c.Nodes[0].MQTTURL, "gw-1")
	pub.publish("gw-1", devs, 1, 1, 100)
	pub.publish("gw-1", devs, 1, 81, 150) // 81..100 again: the PUBACKs were lost
	const n = 150
	waitUntil(t, 90*time.Second, "PostgreSQL holds every event", func() bool {
		_, rows := pgRows(t, pg)
		return rows >= n*len(devs)
	})
	got, rows := pgRows(t, pg)
	if rows != n*len(devs) {
		t.Fatalf("PostgreSQL holds %d rows, want %d", rows, n*len(devs))
	}
	checkComplete(t, "PostgreSQL by journal_seq", got, devs, n)
	waitUntil(t, 30*time.Second, "the file sink has every event", func() bool {
		_, ids := fileLines(t, sp.File)
		return len(ids) >= n*len(devs)
	})
	fseqs, ids := fileLines(t, sp.File)
	for id, k := range ids {
		if k != 1 {
			t.Errorf("file sink: event %s %d times", id, k)
		}
	}
	checkComplete(t, "file sink", fseqs, devs, n)
}

// TestDedupSurvivesRestart: events connect took before a restart, published
// again after it (a gateway that lost its PUBACKs and came back days
// later), are recognised: the file sink, which does not deduplicate, gets
// each event once.
func TestDedupSurvivesRestart(t *testing.T) {
	c := backbone(t)
	dir := t.TempDir()
	sp := spec{State: filepath.Join(dir, "c1"), NATS: c.NATSURLs(), Consumer: "connect", AckWait: 10 * time.Second,
		File: filepath.Join(dir, "events.jsonl")}
	devs := []string{"t1", "t2"}
	pub := newPublisher(t, c.Nodes[2].MQTTURL, "gw-1")
	stop := runInProcess(t, sp)
	pub.publish("gw-1", devs, 7, 1, 60)
	waitUntil(t, 60*time.Second, "the file sink has the first 120 events", func() bool {
		_, ids := fileLines(t, sp.File)
		return len(ids) >= 120
	})
	stop()
	pub.publish("gw-1", devs, 7, 1, 80) // 1..60 again, then 61..80 new
	runInProcess(t, sp)
	waitUntil(t, 60*time.Second, "the file sink has 160 events", func() bool {
		_, ids := fileLines(t, sp.File)
		return len(ids) >= 160
	})
	// The last published event is in the file: whatever was duplicated
	// came before it.
	seqs, ids := fileLines(t, sp.File)
	for id, k := range ids {
		if k != 1 {
			t.Errorf("file sink: event %s %d times: deduplication forgot it across the restart", id, k)
		}
	}
	checkComplete(t, "file sink", seqs, devs, 80)
	if len(ids) != 160 {
		t.Errorf("%d distinct events, want 160", len(ids))
	}
}

// TestRestartTakesHeldMessagesFirst: a replica killed after fetching a
// batch and before journaling it leaves the batch pending; the cluster
// hands it out again only after AckWait, after later messages. The
// restarted connect gathers until every pending message is in its hands and
// takes them in stream order: each device's events reach the file sink in
// the device's order.
func TestRestartTakesHeldMessagesFirst(t *testing.T) {
	c := backbone(t)
	dir := t.TempDir()
	sp := spec{State: filepath.Join(dir, "c1"), NATS: c.NATSURLs(), Consumer: "connect", AckWait: 3 * time.Second,
		File: filepath.Join(dir, "events.jsonl")}
	devs := []string{"t1", "t2"}
	pub := newPublisher(t, c.Nodes[0].MQTTURL, "gw-1")
	pub.publish("gw-1", devs, 1, 1, 50)

	// The killed run: it fetched the first 40 messages and died.
	nc, err := nats.Connect(c.Nodes[1].NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	src := &connect.JetStream{Consumer: sp.Consumer, AckWait: sp.AckWait}
	cons, err := js.CreateOrUpdateConsumer(ctx, connect.MQTTStream, src.ConsumerConfig())
	if err != nil {
		t.Fatal(err)
	}
	// In as many pulls as it takes: a pull ends when its wait does, with
	// what arrived by then, and a loaded machine can leave it short.
	n := 0
	for n < 40 && ctx.Err() == nil {
		b, err := cons.Fetch(40-n, jetstream.FetchMaxWait(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for range b.Messages() {
			n++
		}
	}
	if n != 40 {
		t.Fatalf("the killed run fetched %d messages, want 40", n)
	}
	nc.Close()

	pub.publish("gw-1", devs, 1, 51, 80)
	runInProcess(t, sp)
	waitUntil(t, 60*time.Second, "the file sink has every event", func() bool {
		_, ids := fileLines(t, sp.File)
		return len(ids) >= 160
	})
	seqs, ids := fileLines(t, sp.File)
	if len(ids) != 160 {
		t.Errorf("%d events, want 160", len(ids))
	}
	checkComplete(t, "file sink", seqs, devs, 80)
}

// TestDocsConsumerIsConnects: the consumer docs/nats/connect-consumer.json
// creates at the cluster's set-up is the one connect creates with its
// defaults, so connect binds to it unchanged (the cluster tests create it
// from the file: backbone).
func TestDocsConsumerIsConnects(t *testing.T) {
	var doc jetstream.ConsumerConfig
	readDoc(t, "connect-consumer.json", &doc)
	want := (&connect.JetStream{Consumer: "connect"}).ConsumerConfig()
	if !reflect.DeepEqual(doc, want) {
		t.Errorf("docs/nats/connect-consumer.json is\n%+v\nconnect creates\n%+v", doc, want)
	}
}

// TestLostBatchGathered: messages handed out and lost on their way to the
// fetching replica (its node died; here a pull of another client, waiting
// beside connect's, takes every other message and never acknowledges)
// come back only after AckWait, after later ones. Connect sees the gap in
// the consumer's delivery sequence and gathers until it holds them before
// journaling any: each device's events reach the file sink in order.
func TestLostBatchGathered(t *testing.T) {
	c := backbone(t)
	dir := t.TempDir()
	sp := spec{State: filepath.Join(dir, "c1"), NATS: c.NATSURLs(), Consumer: "connect", AckWait: 3 * time.Second,
		File: filepath.Join(dir, "events.jsonl")}
	devs := []string{"t1", "t2"}
	pub := newPublisher(t, c.Nodes[0].MQTTURL, "gw-1")
	runInProcess(t, sp)
	pub.publish("gw-1", devs, 1, 1, 20)
	lines := func() int { _, ids := fileLines(t, sp.File); return len(ids) }
	waitUntil(t, 60*time.Second, "the first 40 events in the file sink", func() bool { return lines() >= 40 })

	js := c.Nodes[1].JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cons, err := js.Consumer(ctx, connect.MQTTStream, sp.Consumer)
	if err != nil {
		t.Fatal(err)
	}
	lost := make(chan int, 1)
	go func() {
		n := 0
		if b, err := cons.Fetch(10, jetstream.FetchMaxWait(30*time.Second)); err == nil {
			for range b.Messages() {
				n++ // never acknowledged: lost on its way
			}
		}
		lost <- n
	}()
	// The consumer hands the pulls waiting on it messages in turn.
	waitUntil(t, 30*time.Second, "a pull waiting beside connect's", func() bool {
		info, err := cons.Info(ctx)
		return err == nil && info.NumWaiting >= 2
	})
	pub.publish("gw-1", devs, 1, 21, 60)
	if n := <-lost; n == 0 {
		t.Fatal("the other pull took nothing")
	}
	waitUntil(t, 90*time.Second, "the file sink has every event", func() bool { return lines() >= 120 })
	seqs, ids := fileLines(t, sp.File)
	for id, k := range ids {
		if k != 1 {
			t.Errorf("file sink: event %s %d times", id, k)
		}
	}
	checkComplete(t, "file sink", seqs, devs, 60)
}
