package natstest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TestDocsStreamCapturesContract creates the stream docs/nats recommends
// from its file and checks that a QoS 1 event a gateway publishes over MQTT
// on one node is stored in it, readable by a durable consumer on another.
func TestDocsStreamCapturesContract(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "nats", "officegate-stream.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg jetstream.StreamConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatalf("officegate-stream.json: %v", err)
	}
	if cfg.Replicas != 3 || cfg.MaxAge < 7*24*time.Hour || cfg.Storage != jetstream.FileStorage {
		t.Fatalf("officegate-stream.json: replicas %d, max_age %v, storage %v: want 3, a week or more, file", cfg.Replicas, cfg.MaxAge, cfg.Storage)
	}
	// The harness's nodes hold 1 GB each (Start); the week's bytes are a
	// production figure.
	cfg.MaxBytes = 64 << 20
	c := Start(t)
	js := c.Nodes[2].JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := js.CreateStream(ctx, cfg)
	if err != nil {
		t.Fatalf("create stream from officegate-stream.json: %v", err)
	}
	pub := client(t, c.Nodes[0].MQTTURL, "gw", true)
	if tok := pub.Publish("officegate/gw-1/devices/t1/events/attendance.punch", 1, false, []byte(`{"id":"e1"}`)); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	cons, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "connect", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	fetch(ctx, t, cons, 1, func(m jetstream.Msg) {
		got = append(got, m.Subject()+" "+string(m.Data()))
		m.Ack()
	})
	// A '.' in a topic level is "//" in the subject (docs/nats/README.md).
	want := `officegate.gw-1.devices.t1.events.attendance//punch {"id":"e1"}`
	if len(got) != 1 || got[0] != want {
		t.Fatalf("stream holds %q, want [%s]", got, want)
	}
}

// TestMQTTMsgsBoundedRefusesNotDrops: $MQTT_msgs, bounded as docs/nats
// says (max_bytes with discard new, here 4 MB for 350 GB), with connect's
// consumer of connect-consumer.json: once full, the next QoS 1 message is
// refused (no PUBACK: the publisher keeps it), every message PUBACKed
// before is still there from the first, and once the consumer acknowledged
// some the stream takes messages again.
func TestMQTTMsgsBoundedRefusesNotDrops(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "nats", "connect-consumer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ccfg jetstream.ConsumerConfig
	if err := json.Unmarshal(raw, &ccfg); err != nil {
		t.Fatalf("connect-consumer.json: %v", err)
	}
	c := Start(t)
	js := c.Nodes[2].JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The MQTT listener made the stream at the first MQTT session (Start's
	// probes); the set-up adds the consumer and the bound.
	cons, err := js.CreateConsumer(ctx, "$MQTT_msgs", ccfg)
	if err != nil {
		t.Fatalf("create the consumer of connect-consumer.json: %v", err)
	}
	st, err := js.Stream(ctx, "$MQTT_msgs")
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	if cfg.Retention != jetstream.InterestPolicy || cfg.MaxBytes > 0 || cfg.MaxAge != 0 {
		t.Fatalf("$MQTT_msgs as the listener made it: retention %v, max_bytes %d, max_age %v: want interest and no limits (docs/nats)", cfg.Retention, cfg.MaxBytes, cfg.MaxAge)
	}
	cfg.MaxBytes, cfg.Discard = 4<<20, jetstream.DiscardNew
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatalf("bound $MQTT_msgs: %v", err)
	}

	const topic = "officegate/gw-1/devices/t1/events/attendance.punch"
	payload := func(i int) []byte { return fmt.Appendf(make([]byte, 0, 4096), "%06d%4090s", i, "") }
	pub := client(t, c.Nodes[0].MQTTURL, "gw-1", true)
	acked, refused := 0, false
	for i := 1; i <= 2000 && !refused; i++ {
		tok := pub.Publish(topic, 1, false, payload(i))
		if tok.WaitTimeout(30*time.Second) && tok.Error() == nil {
			acked++
			continue
		}
		t.Logf("message %d refused: %v", i, tok.Error())
		refused = true
	}
	if !refused {
		t.Fatalf("%d messages of 4 KB PUBACKed into a stream of 4 MB", acked)
	}
	if si, err := st.Info(ctx); err == nil && si.State.Msgs > 0 {
		// docs/SCALING.md's stored size: the payload and this much.
		t.Logf("$MQTT_msgs: %d messages of 4096 bytes on %s take %d bytes: %d bytes each beyond the payload",
			si.State.Msgs, topic, si.State.Bytes, si.State.Bytes/si.State.Msgs-4096)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.NumPending != uint64(acked) {
		t.Fatalf("the consumer has %d messages, %d were PUBACKed", info.NumPending, acked)
	}
	n := 0
	fetch(ctx, t, cons, 100, func(m jetstream.Msg) {
		n++
		if want := fmt.Sprintf("%06d", n); string(m.Data()[:6]) != want {
			t.Fatalf("message %d of the consumer is %q, want %s: the oldest were dropped", n, m.Data()[:6], want)
		}
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatal(err)
		}
	})
	if n != 100 {
		t.Fatalf("fetched %d, want 100", n)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		si, err := st.Info(ctx)
		if err == nil && si.State.Msgs <= uint64(acked-100) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stream still holds the acknowledged messages: %+v, %v", si, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	again := client(t, c.Nodes[1].MQTTURL, "gw-1-again", true)
	if tok := again.Publish(topic, 1, false, payload(acked+1)); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		t.Fatalf("publish once the consumer made room: %v", tok.Error())
	}
}

// fetch pulls n messages from cons, in as many pulls as they take, and
// gives each to fn as it comes: a pull ends when its wait does, with what
// arrived by then, and a loaded machine can leave it short. It stops when
// ctx ends, whatever it has had.
func fetch(ctx context.Context, t *testing.T, cons jetstream.Consumer, n int, fn func(jetstream.Msg)) {
	t.Helper()
	for got := 0; got < n && ctx.Err() == nil; {
		b, err := cons.Fetch(n-got, jetstream.FetchMaxWait(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range b.Messages() {
			got++
			fn(m)
		}
	}
}
