package uplink

import (
	"bytes"
	"errors"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

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

func (c *countingConn) Close() error { return nil }

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
	bc := newBufferedConn(inner, 0)
	defer bc.Close()
	read(bc)
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

// gateConn is a connection whose writes are recorded, and wait while the
// gate is shut (a socket whose buffer is full).
type gateConn struct {
	net.Conn // nil: only Write, Close and the deadlines are used
	mu       sync.Mutex
	cond     *sync.Cond
	shut     bool     // guarded by mu
	writes   [][]byte // guarded by mu
	blocked  int      // guarded by mu: writes waiting at the gate
	closed   bool     // guarded by mu
	fail     error    // guarded by mu: what writes return
}

func newGateConn() *gateConn {
	c := &gateConn{}
	c.cond = sync.NewCond(&c.mu)
	return c
}

func (c *gateConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.blocked++
	c.cond.Broadcast()
	for c.shut && !c.closed {
		c.cond.Wait()
	}
	c.blocked--
	if c.closed {
		return 0, net.ErrClosed
	}
	if c.fail != nil {
		return 0, c.fail
	}
	c.writes = append(c.writes, bytes.Clone(p))
	c.cond.Broadcast()
	return len(p), nil
}

func (c *gateConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	c.cond.Broadcast()
	return nil
}

func (c *gateConn) SetWriteDeadline(time.Time) error { return nil }

func (c *gateConn) set(shut bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.shut = shut
	c.cond.Broadcast()
}

// waitFor waits until ok holds, under c.mu.
func (c *gateConn) waitFor(ok func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for !ok() {
		c.cond.Wait()
	}
}

func publishPacket(t *testing.T, id uint16) []byte {
	t.Helper()
	p := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	p.TopicName, p.Qos, p.MessageID, p.Payload = "officegate/gw/t", 1, id, []byte(`{"id":"x"}`)
	var b bytes.Buffer
	if err := p.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestPublishesWrittenInBursts: publishes paho hands over while a write is
// in progress go out together in the next write, in order, and none waits
// for the others: the first is written on its own at once.
func TestPublishesWrittenInBursts(t *testing.T) {
	inner := newGateConn()
	inner.set(true)
	c := newBufferedConn(inner, time.Minute)
	defer c.Close()
	var want []byte
	for id := range uint16(64) {
		p := publishPacket(t, id+1)
		want = append(want, p...)
		if _, err := c.Write(p); err != nil {
			t.Fatal(err)
		}
		if id == 0 {
			inner.waitFor(func() bool { return inner.blocked == 1 }) // the first, written alone
		}
	}
	inner.set(false)
	inner.waitFor(func() bool {
		n := 0
		for _, w := range inner.writes {
			n += len(w)
		}
		return n == len(want)
	})
	if got := bytes.Join(inner.writes, nil); !bytes.Equal(got, want) {
		t.Fatalf("wrote %x, want %x", got, want)
	}
	if len(inner.writes) != 2 {
		t.Errorf("64 publishes took %d writes, want 2 (the first, then the 63 gathered meanwhile)", len(inner.writes))
	}
}

// TestCloseFlushes: Close writes what was gathered (paho's DISCONNECT)
// before it closes the connection; a Write after Close fails.
func TestCloseFlushes(t *testing.T) {
	inner := newGateConn()
	c := newBufferedConn(inner, time.Minute)
	inner.set(true)
	first, last := publishPacket(t, 1), []byte{0xe0, 0x00} // a DISCONNECT
	for _, p := range [][]byte{first, last} {
		if _, err := c.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	inner.waitFor(func() bool { return inner.blocked == 1 })
	inner.set(false)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if got := bytes.Join(inner.writes, nil); !bytes.Equal(got, append(first, last...)) || !inner.closed {
		t.Fatalf("wrote %x (closed %v), want %x%x then closed", got, inner.closed, first, last)
	}
	if _, err := c.Write(first); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close: %v, want net.ErrClosed", err)
	}
}

// TestFailedFlushFails: once a write of the connection fails, the
// connection is closed (paho's reader reports the loss) and every Write
// fails with that error.
func TestFailedFlushFails(t *testing.T) {
	inner := newGateConn()
	broken := errors.New("connection reset by peer")
	inner.fail = broken
	c := newBufferedConn(inner, time.Minute)
	defer c.Close()
	if _, err := c.Write(publishPacket(t, 1)); err != nil {
		t.Fatal(err) // gathered: the failure is the flush's
	}
	inner.waitFor(func() bool { return inner.closed })
	if _, err := c.Write(publishPacket(t, 2)); !errors.Is(err, broken) {
		t.Fatalf("Write after a failed flush: %v, want %v", err, broken)
	}
}

// TestGatherBounded: Write waits for the flusher once writeBufferLimit is
// gathered, as a write waits for a full socket; closing the connection
// ends the wait.
func TestGatherBounded(t *testing.T) {
	inner := newGateConn()
	inner.set(true)
	c := newBufferedConn(inner, time.Minute)
	chunk := make([]byte, 1024)
	if _, err := c.Write(chunk); err != nil {
		t.Fatal(err)
	}
	inner.waitFor(func() bool { return inner.blocked == 1 }) // the flusher holds the first
	for range writeBufferLimit / len(chunk) {
		if _, err := c.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.Write(chunk)
		done <- err
	}()
	bc := c.(*bufferedConn)
	bc.mu.Lock()
	n := len(bc.pending)
	bc.mu.Unlock()
	if n != writeBufferLimit {
		t.Fatalf("gathered %d bytes, want %d", n, writeBufferLimit)
	}
	select {
	case err := <-done:
		t.Fatalf("a Write beyond the limit returned (%v) while the socket was full", err)
	default:
	}
	inner.set(false) // the socket drains: the waiting Write goes through
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}
