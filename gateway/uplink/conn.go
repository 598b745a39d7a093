package uplink

import (
	"bufio"
	"net"
	"net/url"
	"runtime"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/net/proxy"
)

// paho reads each packet straight from the connection: a byte of fixed
// header, the remaining length a byte at a time, then the rest — three read
// system calls for every 4-byte PUBACK, which made the uplink's reads cost
// more than its writes. A connection to a plain TCP broker is therefore
// read through a buffer: a burst of PUBACKs is one read. A TLS connection
// needs none (crypto/tls reads whole records and serves small reads from
// them), and other schemes are left to paho.

// readBufferSize holds about a thousand PUBACKs (4 bytes each): the most a
// window of publishes can bring back at once, many times over.
const readBufferSize = 4096

// paho also writes each packet with a system call of its own (and sets the
// write deadline twice around it): a write for every publish was the
// uplink's largest single cost under load. A plain TCP connection's writes
// are therefore gathered: Write appends to a buffer and one flusher
// goroutine writes what has gathered, so the publishes paho hands over
// while a write is in progress go out together in the next one. At a
// trickle each publish is still written at once (the flusher waits for
// nothing but the next Write); no publish waits for others.

// writeBufferLimit bounds what Write gathers: beyond it, Write waits for
// the flusher, as a write waits for the socket. A window of 64 publishes
// of envelopes (about 500 bytes) is half of it.
const writeBufferLimit = 64 << 10

// bufferedConn reads through a buffer and gathers writes; everything else
// is the connection's.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
	// timeout is each flush's write deadline (paho's write timeout, which
	// it would have set around each packet); 0: none.
	timeout time.Duration
	wake    chan struct{} // a Write or Close for the flusher to see; capacity 1
	done    chan struct{} // closed when the flusher has ended

	mu sync.Mutex
	// Guarded by mu.
	cond    *sync.Cond // a flush took the buffer, or the flusher ended
	pending []byte     // written, not yet flushed
	err     error      // the flush that failed: every Write after it fails with it
	closing bool
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// Write gathers p for the flusher. It fails once a flush has failed (the
// connection is then closed, which paho's reader reports as the loss).
func (c *bufferedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	for c.err == nil && !c.closing && len(c.pending) >= writeBufferLimit {
		c.cond.Wait()
	}
	switch {
	case c.err != nil:
		err := c.err
		c.mu.Unlock()
		return 0, err
	case c.closing:
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	c.pending = append(c.pending, p...)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default: // the flusher has a wake-up coming already
	}
	return len(p), nil
}

// flush writes what Write gathered until the connection closes or a write
// fails.
func (c *bufferedConn) flush() {
	defer close(c.done)
	var out []byte
	for range c.wake {
		// Let the goroutines that are ready run first (paho's writer most
		// of all, with the rest of a burst of publishes): measured in the
		// e2e bench, a flush then takes 4.8 publishes instead of 1.8.
		// With nothing else ready it returns at once.
		runtime.Gosched()
		c.mu.Lock()
		out, c.pending = c.pending, out[:0]
		closing := c.closing // once set, nothing more is gathered: out is the last
		c.cond.Broadcast()
		c.mu.Unlock()
		if len(out) > 0 {
			if c.timeout > 0 {
				_ = c.Conn.SetWriteDeadline(time.Now().Add(c.timeout)) // a closed connection fails the write
			}
			if _, err := c.Conn.Write(out); err != nil {
				c.mu.Lock()
				c.err = err
				c.cond.Broadcast()
				c.mu.Unlock()
				_ = c.Conn.Close() // paho's reader sees the loss
				return
			}
		}
		if closing {
			return
		}
	}
}

// Close writes what is gathered (a DISCONNECT, last: MQTT-3.14.4-1 has the
// client close the connection after it), waiting for that at most the
// write timeout (a second without one), then closes the connection.
func (c *bufferedConn) Close() error {
	c.mu.Lock()
	c.closing = true
	c.cond.Broadcast()
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	bound := c.timeout
	if bound <= 0 {
		bound = time.Second
	}
	t := time.NewTimer(bound)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
	}
	err := c.Conn.Close() // ends a flush still waiting on the peer
	<-c.done
	return err
}

// SetDeadline sets the read deadline: writes are the flusher's, each with
// the write timeout.
func (c *bufferedConn) SetDeadline(t time.Time) error { return c.Conn.SetReadDeadline(t) }

// SetWriteDeadline does nothing: each flush has the write timeout.
func (c *bufferedConn) SetWriteDeadline(time.Time) error { return nil }

// newBufferedConn wraps c; writeTimeout bounds each write of gathered
// packets (0: none). Close ends the flusher it starts.
func newBufferedConn(c net.Conn, writeTimeout time.Duration) net.Conn {
	bc := &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, readBufferSize), timeout: writeTimeout,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	bc.cond = sync.NewCond(&bc.mu)
	go bc.flush()
	return bc
}

// plainTCP reports whether paho would open broker as a plain TCP
// connection (openConnection in paho's netconn.go: "mqtt" and "tcp").
func plainTCP(broker *url.URL) bool { return broker.Scheme == "tcp" || broker.Scheme == "mqtt" }

// openBuffered opens a plain TCP connection as paho does (its dialer,
// through a proxy named by the environment if any), read through a buffer.
// It is paho's CustomOpenConnectionFn for plain TCP brokers only.
func openBuffered(broker *url.URL, o mqtt.ClientOptions) (net.Conn, error) {
	d := o.Dialer
	if d == nil {
		d = &net.Dialer{Timeout: o.ConnectTimeout}
	}
	c, err := proxy.FromEnvironmentUsing(d).Dial("tcp", broker.Host)
	if err != nil {
		return nil, err
	}
	return newBufferedConn(c, o.WriteTimeout), nil
}
