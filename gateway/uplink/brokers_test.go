package uplink

import (
	"fmt"
	"net"
	"net/url"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/internal/natstest"
)

// brokers are the brokers the contract is tested on (MQTT.md §"Brokers"):
// each returns the URLs of one deployment; a cluster's first and last URL
// are different nodes.
var brokers = []struct {
	name  string
	start func(t *testing.T) []string
}{
	{"mosquitto", func(t *testing.T) []string { return []string{mqtttest.Start(t, nil).URL} }},
	{"nats-cluster", func(t *testing.T) []string { return natstest.Start(t).MQTTURLs() }},
}

func featureClient(t *testing.T, broker, id string) mqtt.Client {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID(id).
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s to %s: %v", id, broker, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c
}

// receiver subscribes at QoS 1 and hands on what arrives.
func receiver(t *testing.T, c mqtt.Client, filter string) <-chan mqtt.Message {
	t.Helper()
	ch := make(chan mqtt.Message, 16)
	if tok := c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) { ch <- m }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", filter, tok.Error())
	}
	return ch
}

func expect(t *testing.T, ch <-chan mqtt.Message, topic, payload string, retained bool) {
	t.Helper()
	select {
	case m := <-ch:
		if m.Topic() != topic || string(m.Payload()) != payload || m.Retained() != retained {
			t.Fatalf("got %s %q retained=%v, want %s %q retained=%v", m.Topic(), m.Payload(), m.Retained(), topic, payload, retained)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("nothing on %s", topic)
	}
}

// TestBrokerFeatures checks, on each broker, what the contract needs of it
// (MQTT.md §"Brokers"): QoS 1 on the contract's topics (event types have
// dots), retained messages for a later subscriber, and the Last Will on an
// unclean disconnect, published on one node and received on another.
func TestBrokerFeatures(t *testing.T) {
	for _, b := range brokers {
		t.Run(b.name, func(t *testing.T) {
			urls := b.start(t)
			in, out := urls[0], urls[len(urls)-1]
			sub := featureClient(t, out, "hr")
			pub := featureClient(t, in, "gw")

			events := receiver(t, sub, "officegate/+/devices/+/events/+")
			topic := "officegate/gw-1/devices/t1/events/attendance.punch"
			if tok := pub.Publish(topic, 1, false, []byte("e1")); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				t.Fatalf("QoS 1 publish on %s: %v", topic, tok.Error())
			}
			expect(t, events, topic, "e1", false)

			status := "officegate/gw-1/devices/t1/status"
			if tok := pub.Publish(status, 1, true, []byte("online")); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				t.Fatalf("retained publish: %v", tok.Error())
			}
			later := featureClient(t, out, "admin")
			expect(t, receiver(t, later, "officegate/+/devices/+/status"), status, "online", true)

			wills := receiver(t, sub, "officegate/+/status")
			willConnect(t, in, "gw-2", "officegate/gw-2/status", "offline")
			expect(t, wills, "officegate/gw-2/status", "offline", false)
			after := featureClient(t, out, "admin-2")
			expect(t, receiver(t, after, "officegate/+/status"), "officegate/gw-2/status", "offline", true)
		})
	}
}

// willConnect connects with a retained QoS 1 will, then drops the TCP
// connection without DISCONNECT, as a gateway that lost power would.
func willConnect(t *testing.T, broker, id, topic, payload string) {
	t.Helper()
	u, err := url.Parse(broker)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	str := func(s string) []byte { return append([]byte{byte(len(s) >> 8), byte(len(s))}, s...) }
	// [MQTT-3.1.2] protocol name and level 4, flags: will retain (0x20),
	// will QoS 1 (0x08), will flag (0x04), clean session (0x02); keep alive 60 s.
	body := append(str("MQTT"), 4, 0x2E, 0, 60)
	body = append(body, str(id)...)
	body = append(body, str(topic)...)
	body = append(body, str(payload)...)
	if len(body) > 127 {
		t.Fatal("CONNECT too long for a one-byte remaining length")
	}
	if _, err := conn.Write(append([]byte{0x10, byte(len(body))}, body...)); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	ack := make([]byte, 4)
	if _, err := conn.Read(ack); err != nil || fmt.Sprintf("% x", ack) != "20 02 00 00" {
		t.Fatalf("CONNACK % x: %v", ack, err)
	}
}
