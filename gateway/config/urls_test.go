package config

import (
	"reflect"
	"strings"
	"testing"
)

// TestBrokerURLs: mqtt.urls lists a cluster's nodes; the first is MQTT.URL,
// the others MQTT.Failover, each normalised like mqtt.url.
func TestBrokerURLs(t *testing.T) {
	c, err := Parse("c.toml", []byte("[gateway]\nid = \"gw1\"\n[mqtt]\nurls = [\"tcp://nats-1\", \"tcp://nats-2:1884\", \"mqtt://nats-3\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.MQTT.URL != "tcp://nats-1:1883" || !reflect.DeepEqual(c.MQTT.Failover, []string{"tcp://nats-2:1884", "mqtt://nats-3:1883"}) {
		t.Fatalf("url %q failover %q", c.MQTT.URL, c.MQTT.Failover)
	}
	for _, tc := range []struct{ doc, want string }{
		{`url = "tcp://a"` + "\nurls = [\"tcp://b\"]", `mqtt.urls: set together with mqtt.url: choose one`},
		{`urls = []`, `mqtt.urls: want 1..16 broker URLs, got 0`},
		{`urls = ["tcp://a", "ssl://b"]`, `mqtt.urls[1] = "ssl://b": TLS and plain URLs mixed`},
		{`urls = ["tcp://a", "tcp://a:1883"]`, `mqtt.urls[1] = "tcp://a:1883": the same broker as mqtt.urls[0]`},
		{`urls = ["tcp://a", "http://b"]`, `mqtt.urls[1] = "http://b": scheme "http"`},
	} {
		_, err := Parse("c.toml", []byte("[gateway]\nid = \"gw1\"\n[mqtt]\n"+tc.doc+"\n"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.doc, err, tc.want)
		}
	}
}
