package uplink

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/officegate/officegate/internal/natstest"
)

// TestCommandsQoS0 (mqtt.command_qos = 0): on the NATS cluster a gateway
// whose command subscriptions are QoS 1 costs two JetStream consumers of
// $MQTT_msgs, which make every stored event cost the cluster in proportion
// to the sessions (docs/SCALING.md); at QoS 0 it costs none, and a command
// published at QoS 1 on another node still reaches it.
func TestCommandsQoS0(t *testing.T) {
	c := natstest.Start(t)
	urls := c.MQTTURLs()
	nc, err := nats.Connect(strings.Join(c.NATSURLs(), ","))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	consumers := func() int {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := js.Stream(ctx, "$MQTT_msgs")
		if err != nil {
			t.Fatalf("stream $MQTT_msgs: %v", err)
		}
		n := 0
		for range s.ListConsumers(ctx).Info() {
			n++
		}
		return n
	}
	admin := featureClient(t, urls[len(urls)-1], "admin")
	for _, qos0 := range []bool{false, true} {
		before := consumers()
		j := openJournal(t)
		u := startUplink(t, j, urls[0], func(o *Options) {
			o.CommandsQoS0 = qos0
			o.ClientID = "officegate-gw-test-" + map[bool]string{false: "qos1", true: "qos0"}[qos0]
		})
		waitFor(t, "the uplink subscribed", 30*time.Second, func() bool { up, _ := u.Connected(); return up })
		got := consumers() - before
		want := 2
		if qos0 {
			want = 0
		}
		if got != want {
			t.Fatalf("command QoS 0 %v: the session made %d consumers of $MQTT_msgs, want %d", qos0, got, want)
		}
		topic := topics.Gateway
		topic = "officegate/" + topic + "/commands/reboot"
		if tok := admin.Publish(topic, 1, false, []byte(`{"id":"c1"}`)); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish command: %v", tok.Error())
		}
		select {
		case in := <-u.Commands():
			if in.Topic != topic || string(in.Payload) != `{"id":"c1"}` {
				t.Fatalf("command QoS 0 %v: got %s %q", qos0, in.Topic, in.Payload)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("command QoS 0 %v: no command arrived", qos0)
		}
	}
}
