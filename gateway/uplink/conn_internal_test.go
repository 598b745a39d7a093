package uplink

import (
	"bytes"
	"net"
	"net/url"
	"testing"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

// countingConn is a connection whose peer has already sent all of in: each
// Read returns as much as asked of what is left, and is counted (a read
// system call on a real socket).
type countingConn struct {
	net.Conn // nil: only Read is used
	in       *bytes.Reader
	reads    int
}

func (c *countingConn) Read(p []byte) (int, error) {
	c.reads++
	return c.in.Read(p)
}

// TestPubacksReadInBursts: a burst of PUBACKs that has arrived is read with
// one read of the connection, not three per PUBACK as paho reads a bare
// connection (a byte of header, a byte of length, the packet id).
func TestPubacksReadInBursts(t *testing.T) {
	const n = 64 // a window of publishes
	var burst bytes.Buffer
	for id := range uint16(n) {
		ack := packets.NewControlPacket(packets.Puback).(*packets.PubackPacket)
		ack.MessageID = id + 1
		if err := ack.Write(&burst); err != nil {
			t.Fatal(err)
		}
	}
	read := func(c net.Conn) {
		t.Helper()
		for id := range uint16(n) {
			p, err := packets.ReadPacket(c)
			if err != nil {
				t.Fatal(err)
			}
			if ack, ok := p.(*packets.PubackPacket); !ok || ack.MessageID != id+1 {
				t.Fatalf("packet %d: %v, want PUBACK %d", id, p, id+1)
			}
		}
	}
	bare := &countingConn{in: bytes.NewReader(burst.Bytes())}
	read(bare)
	inner := &countingConn{in: bytes.NewReader(burst.Bytes())}
	read(newBufferedConn(inner))
	if inner.reads != 1 {
		t.Errorf("%d PUBACKs took %d reads of the connection through the buffer, want 1 (%d bare)", n, inner.reads, bare.reads)
	}
}

// TestBufferedSchemes: only plain TCP brokers get the buffered connection;
// TLS and the other schemes are opened by paho as before.
func TestBufferedSchemes(t *testing.T) {
	for raw, want := range map[string]bool{
		"tcp://b:1883": true, "mqtt://b:1883": true,
		"ssl://b:8883": false, "tls://b:8883": false, "mqtts://b:8883": false, "ws://b/mqtt": false, "unix:///run/b.sock": false,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if plainTCP(u) != want {
			t.Errorf("%s: buffered %v, want %v", raw, !want, want)
		}
	}
}
