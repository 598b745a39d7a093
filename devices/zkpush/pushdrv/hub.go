package pushdrv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// HubOpts bounds what the listener accepts; nil means DefaultHubOpts.
type HubOpts struct {
	MaxConns          int           // concurrent connections per listener
	MaxBody           int64         // bytes of a request body the gateway reads
	MaxLines          int           // records taken from one upload
	ReadHeaderTimeout time.Duration // slowloris: the whole header must arrive within this
	ReadTimeout       time.Duration // the whole request, body included
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
}

// DefaultHubOpts: a terminal's upload is about 40 bytes a record and firmware
// sends at most a few hundred records a request, so 1 MiB and 10000 lines
// leave room for a backlog of days while bounding what one request costs.
// An upload beyond either cap is taken up to the last whole line within it
// and answered "OK: n" for those n: the terminal sends the rest again.
// 64 connections: a floor's terminals each hold one at a time.
func DefaultHubOpts() *HubOpts {
	return &HubOpts{MaxConns: 64, MaxBody: 1 << 20, MaxLines: 10000,
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second}
}

// Hub owns the HTTP listeners PUSH terminals call: one per listen address,
// opened when the first terminal configured on it starts and closed when the
// last one stops. Build one per program and pass it to Factory.
type Hub struct {
	// Immutable.
	opt HubOpts

	// Mutable.
	unknown   atomic.Uint64 // requests from serials no running terminal has
	mu        sync.Mutex
	listeners map[string]*listener // by configured listen address; guarded by mu
	enroll    Enroll               // guarded by mu; nil: unknown serials are refused
}

// Enroll is the device registry as the Hub asks it about a serial number no
// configured terminal has, calling from address addr: the device id the
// serial was approved under, or "" and why not (pending approval, disabled,
// retired). An error means the answer could not be recorded.
type Enroll = func(serial, addr string) (id, why string, err error)

// SetEnroll makes the Hub enroll unknown serial numbers through e (the
// provisioning registry's PushTerminal): a serial approved there is served
// like a configured terminal on the listener it calls, under its device id;
// until then its requests are refused with e's reason and the terminal
// keeps its records. Drivers pass it on (Driver.SetEnroll).
func (h *Hub) SetEnroll(e Enroll) {
	h.mu.Lock()
	h.enroll = e
	h.mu.Unlock()
}

// NewHub returns a Hub.
func NewHub(o *HubOpts) *Hub {
	if o == nil {
		o = DefaultHubOpts()
	}
	return &Hub{opt: *o, listeners: map[string]*listener{}}
}

// Unknown returns how many requests came from serial numbers no running
// terminal has.
func (h *Hub) Unknown() uint64 { return h.unknown.Load() }

// Addr returns the address the listener configured as listen is bound to,
// or "" while none is.
func (h *Hub) Addr(listen string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if l := h.listeners[listen]; l != nil {
		return l.ln.Addr().String()
	}
	return ""
}

type listener struct {
	hub  *Hub
	ln   net.Listener
	srv  *http.Server
	done chan struct{} // closed when Serve returned

	mu       sync.Mutex
	terms    map[string]*Driver // configured terminals by serial; guarded by mu
	enrolled map[string]*Driver // approved through Enroll, by serial; guarded by mu
}

// attach registers d on its listen address, opening the listener if d is
// the first terminal there.
func (h *Hub) attach(d *Driver) (*listener, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	l := h.listeners[d.set.listen]
	if l == nil {
		ln, err := net.Listen("tcp", d.set.listen)
		if err != nil {
			return nil, fmt.Errorf("pushdrv: listen %s: %w", d.set.listen, err)
		}
		l = &listener{hub: h, ln: limitListener(ln, h.opt.MaxConns), done: make(chan struct{}),
			terms: map[string]*Driver{}, enrolled: map[string]*Driver{}}
		l.srv = &http.Server{Handler: l, ReadHeaderTimeout: h.opt.ReadHeaderTimeout, ReadTimeout: h.opt.ReadTimeout,
			WriteTimeout: h.opt.WriteTimeout, IdleTimeout: h.opt.IdleTimeout, MaxHeaderBytes: 8 << 10,
			ErrorLog: log.New(io.Discard, "", 0)} // hostile clients would fill the log; refusals are counted
		go func() {
			defer close(l.done)
			l.srv.Serve(l.ln)
		}()
		h.listeners[d.set.listen] = l
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if other := l.terms[d.set.serial]; other != nil {
		if len(l.terms) == 0 {
			h.stopLocked(d.set.listen, l)
		}
		return nil, fmt.Errorf("pushdrv: devices %q and %q both claim serial %q on %s", other.id, d.id, d.set.serial, d.set.listen)
	}
	l.terms[d.set.serial] = d
	return l, nil
}

// detach removes d, closing the listener after its last terminal.
func (h *Hub) detach(l *listener, d *Driver) {
	h.mu.Lock()
	defer h.mu.Unlock()
	l.mu.Lock()
	delete(l.terms, d.set.serial)
	last := len(l.terms) == 0
	l.mu.Unlock()
	if last {
		h.stopLocked(d.set.listen, l)
	}
}

func (h *Hub) stopLocked(listen string, l *listener) {
	delete(h.listeners, listen)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := l.srv.Shutdown(ctx); err != nil {
		l.srv.Close()
	}
	<-l.done
}

// ServeHTTP routes a request to the terminal its SN names.
func (l *listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sn := r.URL.Query().Get("SN")
	l.mu.Lock()
	d := l.terms[sn]
	l.mu.Unlock()
	if d == nil {
		if d = l.enrolledTerminal(w, r, sn); d == nil {
			return
		}
	}
	d.serve(w, r)
}

// enrolledTerminal asks the Hub's Enroll about the unknown serial sn and
// returns its driver once approved. Otherwise it answers the request, not
// 200 and not OK, so that the terminal keeps its records and retries, and
// returns nil. An enrolled terminal takes the time zone, clock and sink of
// a configured terminal on the same listener.
func (l *listener) enrolledTerminal(w http.ResponseWriter, r *http.Request, sn string) *Driver {
	l.hub.mu.Lock()
	enroll := l.hub.enroll
	l.hub.mu.Unlock()
	refuse := func(status int, why string) *Driver {
		l.hub.unknown.Add(1)
		w.Header().Set("Date", time.Now().UTC().Format(http.TimeFormat))
		http.Error(w, why+"; keep your records", status)
		return nil
	}
	if enroll == nil || checkSerial(sn) != nil {
		return refuse(http.StatusForbidden, "unknown terminal: serial not configured on this gateway")
	}
	addr, _ := netip.ParseAddrPort(r.RemoteAddr)
	id, why, err := enroll(sn, addr.Addr().Unmap().String())
	if err != nil {
		return refuse(http.StatusServiceUnavailable, "gateway cannot record this terminal now")
	}
	if id == "" {
		return refuse(http.StatusForbidden, why)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if d := l.enrolled[sn]; d != nil && d.id == id {
		return d
	}
	var host *Driver
	for _, t := range l.terms {
		if host == nil || t.id < host.id { // the same host every time
			host = t
		}
	}
	if host == nil {
		return refuse(http.StatusServiceUnavailable, "gateway is stopping")
	}
	host.mu.Lock()
	sink := host.sink
	host.mu.Unlock()
	d := &Driver{id: id, set: settings{serial: sn, listen: host.set.listen, loc: host.set.loc}, hub: l.hub,
		log: host.log.With().Str("device", id).Logger(), now: host.now, host: host, cardKey: host.cardKey, counters: newCounters(), sink: sink}
	l.enrolled[sn] = d
	return d
}

// limitListener accepts at most n connections at once; the rest wait in the
// kernel's backlog.
func limitListener(ln net.Listener, n int) net.Listener {
	return &limited{Listener: ln, sem: make(chan struct{}, n), closed: make(chan struct{})}
}

type limited struct {
	net.Listener
	sem       chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
}

func (l *limited) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

func (l *limited) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.closed:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitedConn{Conn: c, release: func() { <-l.sem }}, nil
}

type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

var errStop = errors.New("stop")
