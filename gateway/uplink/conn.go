package uplink

import (
	"bufio"
	"net"
	"net/url"

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

// bufferedConn reads through a buffer; everything else is the connection's.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// newBufferedConn wraps c.
func newBufferedConn(c net.Conn) net.Conn {
	return &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, readBufferSize)}
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
	return newBufferedConn(c), nil
}
