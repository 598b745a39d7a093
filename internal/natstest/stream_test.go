package natstest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
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
	nc, err := nats.Connect(c.Nodes[2].NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
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
	msgs, err := cons.Fetch(1, jetstream.FetchMaxWait(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for m := range msgs.Messages() {
		got = append(got, m.Subject()+" "+string(m.Data()))
		m.Ack()
	}
	// A '.' in a topic level is "//" in the subject (docs/nats/README.md).
	want := `officegate.gw-1.devices.t1.events.attendance//punch {"id":"e1"}`
	if len(got) != 1 || got[0] != want {
		t.Fatalf("stream holds %q, want [%s]", got, want)
	}
}
