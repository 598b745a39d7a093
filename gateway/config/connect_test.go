package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseConnect(t *testing.T) {
	c, err := ParseConnect("/etc/officegate/connect.toml", []byte(`
[connect]
state_dir = "state"

[connect.jetstream]
urls = ["nats://n1", "nats://n2:4333"]

[journal]
max_bytes = "4GiB"

[[sinks]]
name = "hr"
kind = "postgres"
streams = ["attendance"]
[sinks.settings]
host = "db"
`))
	if err != nil {
		t.Fatal(err)
	}
	js := c.JetStream
	switch {
	case c.StateDir != "/etc/officegate/state" || c.DedupWindow != DefaultDedupWindow || c.TopicRoot != "officegate" ||
		c.Socket != DefaultConnectSocket || c.HTTP.Listen != DefaultConnectListen:
		t.Errorf("connect defaults: %+v", c)
	case js == nil || strings.Join(js.URLs, " ") != "nats://n1:4222 nats://n2:4333" || js.Stream != "$MQTT_msgs" ||
		js.Consumer != "connect" || js.AckWait != 30*time.Second || js.MaxAckPending != 4096 || js.Batch != 256 ||
		js.Replicas != ReplicasStandby || js.LeaseTTL != DefaultLeaseTTL:
		t.Errorf("jetstream: %+v", js)
	case c.Journal.MaxBytes != 4<<30 || len(c.Sinks) != 1 || c.Sinks[0].Settings["host"] != "db":
		t.Errorf("journal, sinks: %+v %+v", c.Journal, c.Sinks)
	}
}

func TestParseConnectErrors(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"[connect]\n", `connect: no source`},
		{"[connect.jetstream]\nurls = [\"http://x\"]\n[[sinks]]\nname=\"a\"\nkind=\"file\"\n", `:2: connect.jetstream.urls[0] = "http://x": scheme "http"`},
		{"[connect.jetstream]\nurls = [\"nats://x\"]\n", `no [[sinks]]`},
		{"[connect.jetstream]\nurls = [\"nats://x\"]\n[connect.mqtt]\nurls=[\"tcp://y\"]\nclient_id=\"c\"\n[[sinks]]\nname=\"a\"\nkind=\"file\"\n", `one source`},
		{"[connect.mqtt]\nurls = [\"tcp://x\"]\n[[sinks]]\nname=\"a\"\nkind=\"file\"\n", `connect.mqtt.client_id: required`},
		{"[connect.jetstream]\nurls = [\"nats://x\"]\nack_wait = \"1h\"\n[[sinks]]\nname=\"a\"\nkind=\"file\"\n", `:3: connect.jetstream.ack_wait = "1h": must be 1s..10m0s`},
		{"[journal]\ndir = \"/x\"\n[connect.jetstream]\nurls = [\"nats://x\"]\n[[sinks]]\nname=\"a\"\nkind=\"file\"\n", `:2: journal.dir = "/x": connect keeps its journal in connect.state_dir`},
		{"[connect]\ntopic_root = \"a/#\"\n[connect.jetstream]\nurls = [\"nats://x\"]\n[[sinks]]\nname=\"a\"\nkind=\"file\"\n", `:2: connect.topic_root`},
		{"[connect.mqtt]\nurls = [\"ssl://x\", \"tcp://y\"]\nclient_id = \"c\"\n[[sinks]]\nname=\"a\"\nkind=\"file\"\n", `TLS and plain URLs mixed`},
		{"[connect.jetstream]\nurls = [\"nats://x\"]\nreplicas = \"all\"\n[[sinks]]\nname=\"a\"\nkind=\"file\"\n", `:3: connect.jetstream.replicas = "all": want "standby"`},
		{"[connect.jetstream]\nurls = [\"nats://x\"]\nlease_ttl = \"500ms\"\n[[sinks]]\nname=\"a\"\nkind=\"file\"\n", `:3: connect.jetstream.lease_ttl = "500ms": must be 1s..10m0s`},
		{"[connect]\nbogus = 1\n[connect.jetstream]\nurls = [\"nats://x\"]\n[[sinks]]\nname=\"a\"\nkind=\"file\"\n", `connect.bogus`},
	} {
		_, err := ParseConnect("c.toml", []byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want it to contain %q", tc.doc, err, tc.want)
		}
	}
}

func TestParseConnectReplicas(t *testing.T) {
	c, err := ParseConnect("c.toml", []byte("[connect.jetstream]\nurls = [\"nats://x\"]\nreplicas = \"standby\"\nlease_ttl = \"30s\"\n[[sinks]]\nname=\"a\"\nkind=\"file\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if js := c.JetStream; js.Replicas != ReplicasStandby || js.LeaseTTL != 30*time.Second || len(c.Warnings) != 0 {
		t.Errorf("standby: %+v, warnings %v", js, c.Warnings)
	}
	c, err = ParseConnect("c.toml", []byte("[connect.jetstream]\nurls = [\"nats://x\"]\nreplicas = \"shared\"\nlease_ttl = \"30s\"\n[[sinks]]\nname=\"a\"\nkind=\"file\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if js := c.JetStream; js.Replicas != ReplicasShared || len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0].String(), "lease_ttl") {
		t.Errorf("shared with a lease_ttl: %+v, warnings %v", js, c.Warnings)
	}
}
