package connect_test

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/officegate/officegate/gateway/connect"
	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/intake"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/uplink"
	"github.com/officegate/officegate/internal/natstest"
)

// TestStreamLeaderKilled: gateways (real journals and uplinks) publish
// punches at QoS 1 to the 3-node cluster while connect takes them into a
// file sink; the node that leads the stream connect reads, and its
// consumer, is SIGKILLed under load and started again. Every event the
// gateways journaled is PUBACKed in the end (their journals drain), and
// every one reaches the file sink exactly once and in its device's order.
// Read from the OFFICEGATE stream instead (Stream: "OFFICEGATE"), events
// PUBACKed while the leader died are missing: the stream captures a
// message apart from the store the PUBACK waits for (docs/nats/README.md).
func TestStreamLeaderKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	c := backbone(t)
	dir := t.TempDir()
	sp := spec{State: filepath.Join(dir, "c1"), NATS: c.NATSURLs(), Consumer: "connect", AckWait: 3 * time.Second,
		File: filepath.Join(dir, "events.jsonl")}
	stream := cmp.Or(sp.Stream, connect.MQTTStream)
	runInProcess(t, sp)

	const gateways, devices = 4, 3
	var gws []*gateway
	for g := range gateways {
		gws = append(gws, startGateway(t, filepath.Join(dir, fmt.Sprintf("gw%d", g)), fmt.Sprintf("gw-%d", g+1), devices, rotate(c.MQTTURLs(), g)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	var load sync.WaitGroup
	stopLoad := func() { cancel(); load.Wait() }
	t.Cleanup(stopLoad)
	for _, gw := range gws {
		load.Go(func() { gw.punch(ctx, t, 20*time.Millisecond) })
	}
	lines := func() int { _, ids := fileLines(t, sp.File); return len(ids) }
	waitUntil(t, 60*time.Second, "events flowing into the file sink", func() bool { return lines() >= 300 })

	nc, err := nats.Connect(strings.Join(c.NATSURLs(), ","), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	leader := alignLeaders(t, nc, js, stream, sp.Consumer)
	before := lines()
	node := nodeNamed(c, leader)
	t.Logf("killing %s, leader of the stream %s and of its consumer %s, at %d events in the file sink", leader, stream, sp.Consumer, before)
	node.Kill()
	killed := time.Now()
	waitUntil(t, 60*time.Second, "events flowing again after the kill", func() bool { return lines() >= before+600 })
	if err := node.Spawn(); err != nil {
		t.Fatal(err)
	}
	back := lines()
	t.Logf("%s started again %v after the kill, at %d events", leader, time.Since(killed).Round(time.Millisecond), back)
	waitUntil(t, 60*time.Second, "events flowing with the node back", func() bool { return lines() >= back+300 })
	stopLoad()
	t.Logf("load stopped %v after the kill", time.Since(killed).Round(time.Millisecond))

	want := map[string]uint64{}
	for _, gw := range gws {
		for _, d := range gw.devs {
			want[d] = gw.last
		}
	}
	waitUntil(t, 90*time.Second, "every gateway's journal PUBACKed whole", func() bool {
		for _, gw := range gws {
			if gw.depth() > 0 {
				return false
			}
		}
		return true
	})
	t.Logf("every journal PUBACKed %v after the kill", time.Since(killed).Round(time.Millisecond))
	// Every event is in the backbone now: wait until the file sink has
	// them all, or until the consumer has nothing left to give: nothing
	// pending, nothing unacknowledged (connect acknowledges once the sink
	// has written), so what the file has then is all it will ever have.
	total := 0
	for _, n := range want {
		total += int(n)
	}
	waitUntil(t, 90*time.Second, "the file sink has every event, or the consumer has nothing left", func() bool {
		if lines() >= total {
			return true
		}
		ictx, icancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer icancel()
		cons, err := js.Consumer(ictx, stream, sp.Consumer)
		if err != nil {
			return false
		}
		info, err := cons.Info(ictx)
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	})
	t.Logf("the file sink complete or the consumer idle %v after the kill", time.Since(killed).Round(time.Millisecond))
	seqs, ids := fileLines(t, sp.File)
	for id, k := range ids {
		if k != 1 {
			t.Errorf("file sink: event %s %d times", id, k)
		}
	}
	missing := 0
	for d, n := range want {
		missing += int(n) - len(seqs[d])
	}
	t.Logf("%d events from %d devices, %d missing from the file sink", total, len(want), missing)
	for _, gw := range gws {
		checkComplete(t, "file sink", seqs, gw.devs, gw.last)
	}
}

func rotate(s []string, k int) []string {
	k %= len(s)
	return append(append([]string{}, s[k:]...), s[:k]...)
}

func nodeNamed(c *natstest.Cluster, name string) *natstest.Server {
	for _, s := range c.Nodes {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// alignLeaders moves the consumer's leadership until the node leading the
// stream leads the consumer too (each step-down elects one of the other
// replicas), so one kill takes both; it returns that node's name.
func alignLeaders(t *testing.T, nc *nats.Conn, js jetstream.JetStream, stream, consumer string) string {
	t.Helper()
	leaders := func() (string, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		st, err := js.Stream(ctx, stream)
		if err != nil {
			return "", ""
		}
		si, err := st.Info(ctx)
		if err != nil || si.Cluster == nil {
			return "", ""
		}
		cons, err := st.Consumer(ctx, consumer)
		if err != nil {
			return si.Cluster.Leader, ""
		}
		ci, err := cons.Info(ctx)
		if err != nil || ci.Cluster == nil {
			return si.Cluster.Leader, ""
		}
		return si.Cluster.Leader, ci.Cluster.Leader
	}
	for range 20 {
		var s, cl string
		waitUntil(t, 30*time.Second, "the stream and the consumer have leaders", func() bool {
			s, cl = leaders()
			return s != "" && cl != ""
		})
		if s == cl {
			return s
		}
		if _, err := nc.Request("$JS.API.CONSUMER.LEADER.STEPDOWN."+stream+"."+consumer, nil, 5*time.Second); err != nil {
			t.Logf("consumer step-down: %v", err)
		}
		waitUntil(t, 30*time.Second, "the consumer has a new leader", func() bool {
			_, now := leaders()
			return now != "" && now != cl
		})
	}
	t.Fatal("the consumer's leadership never landed on the stream's leader in 20 step-downs")
	return ""
}

// gateway is a gateway's journal and real uplink.
type gateway struct {
	name string
	devs []string
	j    *journal.Journal
	last uint64 // events per device journaled; punch's own until it returns
}

func startGateway(t *testing.T, dir, name string, devices int, urls []string) *gateway {
	t.Helper()
	j, err := journal.Open(dir, &journal.Options{SyncWindow: 2 * time.Millisecond, Streams: intake.JournalStreams()})
	if err != nil {
		t.Fatal(err)
	}
	var streams []string
	for _, s := range intake.Streams() {
		streams = append(streams, s.Name)
	}
	u, err := uplink.New(j, uplink.Options{Broker: urls[0], Brokers: urls[1:], ClientID: "officegate-" + name,
		Topics: envelope.Topics{Root: "officegate", Gateway: name}, Boot: "boot-1", Streams: streams,
		BackoffMin: 50 * time.Millisecond, BackoffMax: time.Second, ConnectTimeout: 2 * time.Second, KeepAlive: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("uplink %s: %v", name, err)
		}
		j.Close()
	})
	gw := &gateway{name: name, j: j}
	for d := range devices {
		gw.devs = append(gw.devs, fmt.Sprintf("%s-t%d", name, d+1))
	}
	return gw
}

// punch journals the next event of every device each period until ctx
// ends, as the intake does (one group commit for the batch).
func (gw *gateway) punch(ctx context.Context, t *testing.T, period time.Duration) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		n := gw.last + 1
		var bodies [][]byte
		for _, d := range gw.devs {
			e := punchEvent(gw.name, d, 1, n)
			b, err := (&envelope.Outbound{Event: &e}).Encode()
			if err != nil {
				t.Errorf("encode: %v", err)
				return
			}
			bodies = append(bodies, b)
		}
		if _, err := gw.j.AppendBatch(context.Background(), intake.StreamRecords, bodies); err != nil {
			t.Errorf("journal %s: %v", gw.name, err)
			return
		}
		gw.last = n
	}
}

// depth is what the uplink has not had PUBACKed yet.
func (gw *gateway) depth() uint64 {
	for _, s := range gw.j.Stats().Streams {
		if s.Name == intake.StreamRecords {
			return s.Depth
		}
	}
	return 0
}
