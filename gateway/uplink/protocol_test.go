package uplink

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

// TestConnectSpeaksOnly311: a refused or timed-out CONNECT is retried as
// MQTT 3.1.1 by the uplink's own backoff, never as MQTT 3.1 (protocol name
// MQIsdp), which paho tries by default after a failed handshake and which
// brokers such as NATS refuse ("older protocol MQIsdp not supported"): a
// fleet reconnecting at once to a busy backbone would then retry in a
// protocol it can never use (docs/SCALING.md).
func TestConnectSpeaksOnly311(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		connects []*packets.ConnectPacket
		enough   = make(chan struct{})
		wg       sync.WaitGroup
	)
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			// A broker too busy to take the session: read the CONNECT, refuse it.
			c.SetDeadline(time.Now().Add(10 * time.Second))
			p, err := packets.ReadPacket(c)
			if cp, ok := p.(*packets.ConnectPacket); err == nil && ok {
				mu.Lock()
				connects = append(connects, cp)
				if len(connects) == 3 {
					close(enough)
				}
				mu.Unlock()
				ack := packets.NewControlPacket(packets.Connack).(*packets.ConnackPacket)
				ack.ReturnCode = packets.ErrRefusedServerUnavailable
				ack.Write(c)
			}
			c.Close()
		}
	}()
	startUplink(t, openJournal(t), "tcp://"+ln.Addr().String(), nil)
	<-enough
	mu.Lock()
	defer mu.Unlock()
	for i, cp := range connects[:3] {
		if cp.ProtocolName != "MQTT" || cp.ProtocolVersion != 4 {
			t.Fatalf("CONNECT %d: protocol %q level %d, want MQTT level 4 (3.1.1)", i+1, cp.ProtocolName, cp.ProtocolVersion)
		}
	}
}
