package uplink

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/officegate/officegate/gateway/contract"
	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/mqtttest"
)

var topics = envelope.Topics{Root: "officegate", Gateway: "gw-test"}

func openJournal(t *testing.T) *journal.Journal {
	t.Helper()
	j, err := journal.Open(t.TempDir(), &journal.Options{
		Streams: []journal.Stream{
			{Name: "control", Priority: journal.PriorityControl},
			{Name: "attendance", Priority: journal.PriorityRecord},
			{Name: "rooms", Priority: journal.PriorityTelemetry},
		},
		SyncWindow: 2 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

// appendEvent journals one event the way the gateway's intake does.
func appendEvent(t *testing.T, j *journal.Journal, stream, device string, seq uint64) {
	t.Helper()
	data, err := envelope.EncodeData(map[string]any{"person": fmt.Sprintf("E-%d", seq%97), "credential": "card", "state": "in"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	o := envelope.Outbound{Event: &envelope.Event{
		V: envelope.Version, ID: envelope.EventID("hw-"+device, 1, seq), Type: "attendance.punch",
		Gateway: topics.Gateway, Device: device, Boot: 1, Seq: seq,
		Time: envelope.StampOf(now), TimeRaw: now.Format("2006-01-02T15:04:05"), Clock: envelope.ClockSynced,
		Received: envelope.StampOf(now.UTC()), Data: data,
	}}
	body, err := o.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append(context.Background(), stream, body); err != nil {
		t.Fatal(err)
	}
}

func startUplink(t *testing.T, j *journal.Journal, broker string, mod func(*Options)) *Uplink {
	t.Helper()
	o := Options{
		Broker: broker, ClientID: "officegate-" + topics.Gateway, Topics: topics, Boot: "boot-1", Version: "test",
		Streams: []string{"control", "attendance", "rooms"}, BackoffMin: 50 * time.Millisecond, BackoffMax: time.Second,
	}
	if mod != nil {
		mod(&o)
	}
	u, err := New(j, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return u
}

// subscriber collects what HR would receive.
type subscriber struct {
	mu sync.Mutex
	// Guarded by mu.
	msgs []received
	ids  map[string]bool
	c    mqtt.Client
}

type received struct {
	topic   string
	payload []byte
	ev      map[string]any
}

func subscribe(t *testing.T, broker, filter string) *subscriber {
	t.Helper()
	s := &subscriber{ids: map[string]bool{}}
	o := mqtt.NewClientOptions().AddBroker(broker).SetClientID(fmt.Sprintf("hr-%d", time.Now().UnixNano())).
		SetCleanSession(true).SetAutoReconnect(false).SetOrderMatters(true)
	s.c = mqtt.NewClient(o)
	if tok := s.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber connect: %v", tok.Error())
	}
	tok := s.c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		var ev map[string]any
		json.Unmarshal(m.Payload(), &ev)
		s.mu.Lock()
		s.msgs = append(s.msgs, received{m.Topic(), m.Payload(), ev})
		if id, ok := ev["id"].(string); ok {
			s.ids[id] = true
		}
		s.mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	t.Cleanup(func() { s.c.Disconnect(0) })
	return s
}

func (s *subscriber) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ids[id]
}

func (s *subscriber) snapshot() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.msgs...)
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkDelivery: every (device, seq) in want arrived; per device, first
// occurrences are in order; every copy of an id is byte-identical.
func checkDelivery(t *testing.T, msgs []received, want map[string]uint64) {
	t.Helper()
	first := map[string]bool{}
	payloadOf := map[string]string{}
	next := map[string]uint64{}
	dups := 0
	for i, m := range msgs {
		if i < 200 || i%50 == 0 { // the schema check is slow under -race: a sample beyond the first 200
			if err := contract.Strict(contract.Event, m.payload); err != nil {
				t.Fatalf("published event breaks the contract: %v\n%s", err, m.payload)
			}
		}
		id, _ := m.ev["id"].(string)
		dev, _ := m.ev["device"].(string)
		seq := uint64(m.ev["seq"].(float64))
		if p, ok := payloadOf[id]; ok {
			dups++
			if p != string(m.payload) {
				t.Fatalf("duplicate of %s differs:\n%s\n%s", id, p, m.payload)
			}
			continue
		}
		payloadOf[id] = string(m.payload)
		first[id] = true
		if seq != next[dev]+1 {
			t.Fatalf("device %s: seq %d arrived after %d (lost or reordered)", dev, seq, next[dev])
		}
		next[dev] = seq
		if want := envelope.EventID("hw-"+dev, 1, seq); id != want {
			t.Fatalf("device %s seq %d has id %s, want the stable %s", dev, seq, id, want)
		}
	}
	for dev, n := range want {
		if next[dev] != n {
			t.Fatalf("device %s: %d of %d events arrived", dev, next[dev], n)
		}
	}
	t.Logf("%d messages, %d unique, %d duplicates (same id, same bytes)", len(msgs), len(first), dups)
}

func TestPublishesEverythingInOrder(t *testing.T) {
	b := mqtttest.Start(t, nil)
	j := openJournal(t)
	sub := subscribe(t, b.URL, "officegate/gw-test/devices/+/events/#")
	want := map[string]uint64{}
	for seq := uint64(1); seq <= 300; seq++ {
		for _, dev := range []string{"t-1", "t-2", "t-3"} {
			appendEvent(t, j, "attendance", dev, seq)
			want[dev] = seq
		}
	}
	startUplink(t, j, b.URL, nil)
	waitFor(t, "900 events", 30*time.Second, func() bool { return len(sub.snapshot()) >= 900 })
	checkDelivery(t, sub.snapshot(), want)
	waitFor(t, "journal drained", 10*time.Second, func() bool {
		for _, s := range j.Stats().Streams {
			if s.Depth != 0 {
				return false
			}
		}
		return true
	})
	for _, m := range sub.snapshot()[:1] {
		if m.topic != "officegate/gw-test/devices/"+m.ev["device"].(string)+"/events/attendance.punch" {
			t.Fatalf("topic %q", m.topic)
		}
	}
}

func TestBrokerKilledMidStream(t *testing.T) {
	b := mqtttest.Start(t, nil)
	j := openJournal(t)
	filter := "officegate/gw-test/devices/+/events/#"
	var subMu sync.Mutex
	subs := []*subscriber{subscribe(t, b.URL, filter)}
	// The gateway reaches the broker through a gate: after a restart the
	// test's subscriber must be back before the gateway republishes (the
	// broker keeps no sessions across its restart), so the gate opens only
	// then — a timing margin would fail on a loaded machine.
	gate := newGate(t, b.Addr)
	u := startUplink(t, j, "tcp://"+gate.addr, func(o *Options) {
		o.BackoffMin, o.BackoffMax = 50*time.Millisecond, 500*time.Millisecond
	})
	devices := []string{"t-1", "t-2", "t-3", "t-4"}
	want := map[string]uint64{}
	var wantMu sync.Mutex
	stop := make(chan struct{})
	var appenders sync.WaitGroup
	start := time.Now()
	for _, dev := range devices { // ≈ 250 events/s each, ≈ 1 000/s in all
		appenders.Add(1)
		go func() {
			defer appenders.Done()
			tick := time.NewTicker(4 * time.Millisecond)
			defer tick.Stop()
			for seq := uint64(1); ; seq++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				appendEvent(t, j, "attendance", dev, seq)
				wantMu.Lock()
				want[dev] = seq
				wantMu.Unlock()
			}
		}()
	}
	// flowing waits until the broker has been given n more events in the
	// current session: the stream is in full flow, however slow the machine.
	flowing := func(n int) {
		t.Helper()
		from := gate.passedCount()
		waitFor(t, "events flowing", 20*time.Second, func() bool { return gate.passedCount() >= from+n })
	}
	for kill := 0; kill < 3; kill++ {
		waitFor(t, "connected", 20*time.Second, func() bool { ok, _ := u.Connected(); return ok })
		flowing(200)
		// A broker without persistence that is killed loses what it has
		// acknowledged but not yet passed on to a slow subscriber: the
		// gateway's custody ends at the PUBACK. So the gate stops giving the
		// broker events (it drops the gateway's packets: the publishes in
		// flight are lost on the wire), and the broker is killed once every
		// event it was given is with the subscribers.
		gate.setOpen(false)
		pending := gate.passedIDs()
		waitFor(t, "the subscribers have every event the broker was given", 60*time.Second, func() bool {
			subMu.Lock()
			defer subMu.Unlock()
			pending = slices.DeleteFunc(pending, func(id string) bool {
				return slices.ContainsFunc(subs, func(s *subscriber) bool { return s.has(id) })
			})
			return len(pending) == 0
		})
		b.Kill()
		waitFor(t, "uplink noticed", 20*time.Second, func() bool { ok, _ := u.Connected(); return !ok })
		b.Restart()
		s := subscribe(t, b.URL, filter)
		subMu.Lock()
		subs = append(subs, s)
		subMu.Unlock()
		gate.setOpen(true)
	}
	waitFor(t, "connected", 20*time.Second, func() bool { ok, _ := u.Connected(); return ok })
	flowing(200)
	close(stop)
	appenders.Wait()
	t.Logf("offered %.0f events/s", float64(sum(want))/time.Since(start).Seconds())
	total := uint64(0)
	for _, n := range want {
		total += n
	}
	var all []received
	waitFor(t, "every event", 60*time.Second, func() bool {
		all = all[:0]
		for _, s := range subs {
			all = append(all, s.snapshot()...)
		}
		seen := map[string]bool{}
		for _, m := range all {
			seen[m.ev["id"].(string)] = true
		}
		return uint64(len(seen)) >= total
	})
	checkDelivery(t, all, want)
}

func TestRetainedStatusAfterBrokerRestart(t *testing.T) {
	b := mqtttest.Start(t, nil)
	j := openJournal(t)
	u := startUplink(t, j, b.URL, nil)
	u.SetDeviceStatus(envelope.DeviceStatus{Device: "t-1", State: envelope.StateOnline, Kind: "terminal"})
	u.SetDeviceStatus(envelope.DeviceStatus{Device: "t-2", State: envelope.StateOffline, Kind: "terminal"})
	for round := 0; round < 2; round++ {
		waitFor(t, "connected", 20*time.Second, func() bool { ok, _ := u.Connected(); return ok })
		s := subscribe(t, b.URL, "officegate/gw-test/#")
		waitFor(t, "retained statuses", 20*time.Second, func() bool {
			got := map[string]string{}
			for _, m := range s.snapshot() {
				kind := contract.DeviceStatus
				if m.topic == "officegate/gw-test/status" {
					kind = contract.GatewayStatus
				}
				if err := contract.Strict(kind, m.payload); err != nil {
					t.Fatalf("%s breaks the contract: %v\n%s", m.topic, err, m.payload)
				}
				got[m.topic], _ = m.ev["state"].(string)
			}
			return got["officegate/gw-test/status"] == "online" &&
				got["officegate/gw-test/devices/t-1/status"] == "online" &&
				got["officegate/gw-test/devices/t-2/status"] == "offline"
		})
		s.c.Disconnect(0)
		b.Kill() // no persistence: every retained message is gone
		waitFor(t, "uplink noticed", 20*time.Second, func() bool { ok, _ := u.Connected(); return !ok })
		b.Restart()
	}
}

func TestWillAndCleanShutdown(t *testing.T) {
	b := mqtttest.Start(t, nil)
	j := openJournal(t)
	s := subscribe(t, b.URL, "officegate/gw-test/status")
	u, err := New(j, Options{Broker: b.URL, ClientID: "gw", Topics: topics, Boot: "boot-7", Streams: []string{"control"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- u.Run(ctx) }()
	waitFor(t, "online", 20*time.Second, func() bool {
		m := s.snapshot()
		return len(m) > 0 && m[len(m)-1].ev["state"] == "online"
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "offline after clean shutdown", 20*time.Second, func() bool {
		m := s.snapshot()
		return len(m) > 0 && m[len(m)-1].ev["state"] == "offline" && m[len(m)-1].ev["boot"] == "boot-7"
	})
}

func sum(m map[string]uint64) (n uint64) {
	for _, v := range m {
		n += v
	}
	return n
}

// gate is a TCP relay to the broker. Open, it passes everything; closed,
// it refuses new connections and drops what the gateway sends on the ones it
// has, so the broker is given nothing more. It records the id of every event
// it gave the broker.
type gate struct {
	addr string

	mu sync.Mutex
	// Guarded by mu; held while passing a packet, so that once setOpen(false)
	// returns no packet is on its way.
	open   bool
	passed []string // event ids, in the order given to the broker
}

func (g *gate) setOpen(open bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open = open
}

func (g *gate) isOpen() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.open
}

func (g *gate) passedCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.passed)
}

func (g *gate) passedIDs() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.passed)
}

func newGate(t *testing.T, broker string) *gate {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{addr: ln.Addr().String(), open: true}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !g.isOpen() {
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", broker)
			if err != nil {
				c.Close()
				continue
			}
			wg.Add(2)
			go func() { defer wg.Done(); g.relay(up, c); up.Close() }()
			go func() { defer wg.Done(); io.Copy(c, up); c.Close() }()
		}
	}()
	return g
}

// relay passes the gateway's MQTT packets to the broker while the gate is
// open, and drops them while it is closed, until either side fails.
func (g *gate) relay(up, c net.Conn) {
	r := bufio.NewReader(c)
	for {
		pkt, err := readPacket(r)
		if err != nil {
			return
		}
		g.mu.Lock()
		if g.open {
			if _, err = up.Write(pkt); err == nil {
				if id := eventID(pkt); id != "" {
					g.passed = append(g.passed, id)
				}
			}
		}
		g.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// readPacket reads one MQTT control packet: a type byte, the remaining
// length (1–4 bytes, 7 bits each, least significant first), the rest.
func readPacket(r *bufio.Reader) ([]byte, error) {
	pkt := make([]byte, 1, 64)
	var err error
	if pkt[0], err = r.ReadByte(); err != nil {
		return nil, err
	}
	n := 0
	for i := 0; ; i++ {
		b, err := r.ReadByte()
		if err != nil {
			return nil, err
		}
		pkt = append(pkt, b)
		n |= int(b&0x7f) << (7 * i)
		if b&0x80 == 0 {
			break
		}
		if i == 3 {
			return nil, fmt.Errorf("mqtt remaining length over 4 bytes")
		}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	return append(pkt, body...), nil
}

// eventID is the id of the event a PUBLISH packet carries, or "" for any
// other packet.
func eventID(pkt []byte) string {
	if pkt[0]>>4 != 3 { // PUBLISH
		return ""
	}
	i := 1
	for pkt[i]&0x80 != 0 { // the remaining length
		i++
	}
	i++
	tlen := int(pkt[i])<<8 | int(pkt[i+1])
	topic := string(pkt[i+2 : i+2+tlen])
	i += 2 + tlen
	if pkt[0]>>1&3 > 0 { // QoS 1 or 2: a packet identifier
		i += 2
	}
	if !strings.Contains(topic, "/events/") {
		return ""
	}
	var ev struct {
		ID string `json:"id"`
	}
	json.Unmarshal(pkt[i:], &ev)
	return ev.ID
}
