package natstest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Production is the configuration docs/nats recommends for node i (1..3).
func Production(i int) Node {
	host := func(i int) string { return fmt.Sprintf("nats-%d.backbone.example.com", i) }
	var routes []string
	for j := 1; j <= Size; j++ {
		routes = append(routes, host(j)+":6222")
	}
	return Node{
		Name:     fmt.Sprintf("nats-%d", i),
		Client:   "0.0.0.0:4222",
		Cluster:  "0.0.0.0:6222",
		Routes:   routes,
		MQTT:     "0.0.0.0:1883",
		HTTP:     "127.0.0.1:8222",
		StoreDir: "/var/lib/nats/jetstream",
		// $MQTT_msgs bounded at 350 GB (a week of 1 000 gateways ×
		// 64 devices, docs/SCALING.md), reserved out of this, and room
		// for the MQTT sessions, retained messages and consumers' state;
		// every node keeps a replica.
		MaxFileStore:  "450GB",
		MaxAckPending: 1024,
	}
}

// TestDocsConfigIsRendered holds docs/nats/nats-N.conf to the text Render
// produces, the text every cluster this package starts runs.
func TestDocsConfigIsRendered(t *testing.T) {
	for i := 1; i <= Size; i++ {
		path := filepath.Join("..", "..", "docs", "nats", fmt.Sprintf("nats-%d.conf", i))
		want := Render(Production(i))
		if os.Getenv("NATSTEST_WRITE_DOCS") == "1" {
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s differs from natstest.Render(Production(%d)): regenerate with NATSTEST_WRITE_DOCS=1 go test -run TestDocsConfigIsRendered ./internal/natstest\n--- want\n%s", path, i, want)
		}
	}
}

func client(t *testing.T, url, id string, clean bool) mqtt.Client {
	t.Helper()
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID(id).SetCleanSession(clean).
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s to %s: %v", id, url, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c
}

// TestClusterRetainedAcrossNodes: a retained QoS 1 message published on one
// node reaches a subscriber of another, also after that node was killed and
// restarted.
func TestClusterRetainedAcrossNodes(t *testing.T) {
	c := Start(t)
	pub := client(t, c.Nodes[0].MQTTURL, "pub", true)
	if tok := pub.Publish("officegate/gw/status", 1, true, []byte("online")); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	// Each subscriber has a client id of its own: the cluster tracks ids
	// across nodes, and a session reusing the id of one that ended with a
	// node's kill is refused (EOF) until the cluster has let the old go.
	subs := 0
	receive := func(node int) {
		t.Helper()
		got := make(chan string, 1)
		subs++
		sub := client(t, c.Nodes[node].MQTTURL, fmt.Sprintf("sub%d-%d", node, subs), true)
		tok := sub.Subscribe("officegate/+/status", 1, func(_ mqtt.Client, m mqtt.Message) {
			if m.Retained() {
				select {
				case got <- string(m.Payload()):
				default:
				}
			}
		})
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("subscribe: %v", tok.Error())
		}
		select {
		case p := <-got:
			if p != "online" {
				t.Fatalf("node %d: retained %q, want online", node+1, p)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("node %d: no retained message", node+1)
		}
		sub.Disconnect(0)
	}
	receive(1)
	c.Nodes[1].Kill()
	c.Nodes[1].Restart()
	receive(1)
	receive(2)
}
