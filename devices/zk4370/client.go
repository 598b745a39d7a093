package zk4370

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// ErrClosed is returned by a Client's calls once its connection has ended.
var ErrClosed = errors.New("zk4370: connection closed")

// maxQueued bounds the real-time punches a Client holds for its reader: past
// it the Client drops them and says so (Events' overflow), and the driver
// reads the terminal's log instead, which holds them all.
const maxQueued = 4096

// Client is one session with a terminal (doc.go §1.2, §2). Requests are
// serialised; real-time punches arriving between replies are acknowledged
// at once (the terminal's log, not the acknowledgement, is their custody)
// and queued for Events.
type Client struct {
	// Immutable.
	c       net.Conn
	udp     bool   // the UDP transport: a datagram is a bare payload (doc.go §1)
	chunk   uint32 // the largest CMD_READ_BUFFER asked for
	timeout time.Duration
	done    chan struct{} // closed when the reader ends
	replies chan Packet   // non-event packets, Data copied

	reqMu sync.Mutex // one request at a time
	// Guarded by reqMu.
	reply uint16

	wmu sync.Mutex // serialises writes

	mu sync.Mutex
	// Guarded by mu.
	session   uint16
	queue     []AttRecord
	overflow  bool
	malformed int
	damaged   int // UDP datagrams skipped as not packets
	readErr   error
	notify    chan struct{} // closed and replaced when queue grows
	awaiting  int           // the reply number a request waits for; -1: none
}

// Dial connects to addr over TCP and opens a session, authenticating with
// key when the terminal asks for it. timeout bounds each request's wait for
// its reply.
func Dial(ctx context.Context, addr string, key uint32, timeout time.Duration) (*Client, error) {
	return DialNetwork(ctx, "tcp", addr, key, timeout)
}

// MaxChunkUDP is the largest CMD_READ_BUFFER asked for over UDP (pyzk's
// 16 KiB): the terminal answers it in datagrams of about 1 KiB, and one
// lost costs only that chunk's request.
const MaxChunkUDP = 16 << 10

// DialNetwork is Dial over network "tcp" or "udp" (doc.go §1: over UDP a
// datagram is a bare payload). A UDP session has no connection to lose: a
// terminal that went away shows as requests without replies.
func DialNetwork(ctx context.Context, network, addr string, key uint32, timeout time.Duration) (*Client, error) {
	if network != "tcp" && network != "udp" {
		return nil, fmt.Errorf("zk4370: network %q: want tcp or udp", network)
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("zk4370: dial %s %s: %w", network, addr, err)
	}
	cl := &Client{c: c, udp: network == "udp", chunk: MaxChunk, timeout: timeout, done: make(chan struct{}), replies: make(chan Packet),
		notify: make(chan struct{}), awaiting: -1}
	if cl.udp {
		cl.chunk = MaxChunkUDP
	}
	go cl.read()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	p, err := cl.request(CmdConnect, nil)
	if err != nil {
		cl.Close()
		return nil, fmt.Errorf("zk4370: connect to %s: %w", addr, err)
	}
	cl.mu.Lock()
	cl.session = p.Session
	cl.mu.Unlock()
	if p.Cmd == CmdAckUnauth {
		k := CommKey(key, p.Session, defaultCommKeyTix)
		if p, err = cl.request(CmdAuth, k[:]); err != nil {
			cl.Close()
			return nil, fmt.Errorf("zk4370: authenticate to %s: %w", addr, err)
		}
	}
	if p.Cmd != CmdAckOK {
		cl.Close()
		if p.Cmd == CmdAckUnauth {
			return nil, fmt.Errorf("zk4370: %s refused the comm key", addr)
		}
		return nil, fmt.Errorf("zk4370: connect to %s: %w", addr, &ReplyError{Request: CmdConnect, Code: p.Cmd})
	}
	return cl, nil
}

// Close ends the connection without CMD_EXIT and waits for the reader.
func (cl *Client) Close() error {
	err := cl.c.Close()
	<-cl.done
	return err
}

// Exit says CMD_EXIT, then closes.
func (cl *Client) Exit() error {
	_, err := cl.request(CmdExit, nil)
	cl.Close()
	return err
}

// Done is closed when the connection has ended.
func (cl *Client) Done() <-chan struct{} { return cl.done }

// Err is why the connection ended (nil while it is up).
func (cl *Client) Err() error {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.readErr
}

func (cl *Client) write(p Packet) error {
	cl.wmu.Lock()
	defer cl.wmu.Unlock()
	cl.c.SetWriteDeadline(time.Now().Add(cl.timeout))
	b := AppendFrame(nil, p)
	if cl.udp {
		b = AppendPayload(nil, p)
	}
	_, err := cl.c.Write(b)
	return err
}

// readPacket reads the next packet: a frame from the TCP stream, or a
// datagram. A datagram that is not a packet (a bad checksum: it was damaged
// on the way) is skipped; a request it answered times out.
func (cl *Client) readPacket(buf []byte) (Packet, []byte, error) {
	if !cl.udp {
		return ReadFrame(cl.c, buf)
	}
	if len(buf) < MaxPayload {
		buf = make([]byte, MaxPayload)
	}
	for {
		n, err := cl.c.Read(buf[:MaxPayload])
		if err != nil {
			return Packet{}, buf, err
		}
		p, err := DecodePayload(buf[:n])
		if err == nil {
			return p, buf, nil
		}
		cl.mu.Lock()
		cl.damaged++
		cl.mu.Unlock()
	}
}

func (cl *Client) read() {
	defer close(cl.done)
	var buf []byte
	for {
		var p Packet
		var err error
		p, buf, err = cl.readPacket(buf)
		if err != nil {
			cl.mu.Lock()
			cl.readErr = err
			close(cl.notify)
			cl.notify = make(chan struct{})
			cl.mu.Unlock()
			return
		}
		if p.Cmd == CmdRegEvent { // only a terminal sends it (doc.go §1.3)
			cl.event(p)
			continue
		}
		cl.mu.Lock()
		want := cl.awaiting
		cl.mu.Unlock()
		if want < 0 || p.Reply != uint16(want) {
			continue // a late reply to a request that gave up: nobody waits
		}
		p.Data = bytes.Clone(p.Data)
		t := time.NewTimer(cl.timeout)
		select {
		case cl.replies <- p:
		case <-t.C:
			// The requester gave up between our check and now.
		}
		t.Stop()
	}
}

// event acknowledges a real-time packet and queues its punches.
func (cl *Client) event(p Packet) {
	cl.mu.Lock()
	session := cl.session
	cl.mu.Unlock()
	cl.write(Packet{Cmd: CmdAckOK, Session: session, Reply: 0})
	if p.Session&EFAttLog == 0 {
		return // an event we did not ask for
	}
	recs, err := DecodeRealtime(p.Data)
	cl.mu.Lock()
	defer cl.mu.Unlock()
	switch {
	case err != nil:
		cl.malformed++
		cl.overflow = true // the log holds it: read it there
	case len(cl.queue)+len(recs) > maxQueued:
		cl.overflow = true
	default:
		cl.queue = append(cl.queue, recs...)
	}
	close(cl.notify)
	cl.notify = make(chan struct{})
}

// Damaged returns how many UDP datagrams were skipped as not packets since
// the last call.
func (cl *Client) Damaged() int {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	n := cl.damaged
	cl.damaged = 0
	return n
}

// Events returns the real-time punches queued so far (oldest first) and
// whether any were dropped or unreadable since the last call (then the
// terminal's log must be read to find them), and a channel closed when more
// arrive or the connection ends.
func (cl *Client) Events() (recs []AttRecord, overflow bool, malformed int, more <-chan struct{}) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	recs, overflow, malformed = cl.queue, cl.overflow, cl.malformed
	cl.queue, cl.overflow, cl.malformed = nil, false, 0
	return recs, overflow, malformed, cl.notify
}

// request sends cmd and waits for the packet answering it (any code).
func (cl *Client) request(cmd uint16, data []byte) (Packet, error) {
	cl.reqMu.Lock()
	defer cl.reqMu.Unlock()
	return cl.requestLocked(cmd, data)
}

func (cl *Client) requestLocked(cmd uint16, data []byte) (Packet, error) {
	cl.mu.Lock()
	session := cl.session
	cl.mu.Unlock()
	n := cl.reply
	cl.reply++
	cl.mu.Lock()
	cl.awaiting = int(n)
	cl.mu.Unlock()
	if err := cl.write(Packet{Cmd: cmd, Session: session, Reply: n, Data: data}); err != nil {
		return Packet{}, fmt.Errorf("zk4370: command %d: %w", cmd, err)
	}
	return cl.await(cmd, n)
}

// await waits for the next packet numbered n.
func (cl *Client) await(cmd, n uint16) (Packet, error) {
	t := time.NewTimer(cl.timeout)
	defer t.Stop()
	for {
		select {
		case p := <-cl.replies:
			if p.Reply == n {
				return p, nil
			}
		case <-cl.done:
			return Packet{}, fmt.Errorf("zk4370: command %d: %w (%v)", cmd, ErrClosed, cl.Err())
		case <-t.C:
			return Packet{}, fmt.Errorf("zk4370: command %d: no reply within %v", cmd, cl.timeout)
		}
	}
}

// call sends cmd and wants CMD_ACK_OK; it returns the reply's data.
func (cl *Client) call(cmd uint16, data []byte) ([]byte, error) {
	p, err := cl.request(cmd, data)
	if err != nil {
		return nil, err
	}
	if p.Cmd != CmdAckOK {
		return nil, &ReplyError{Request: cmd, Code: p.Cmd}
	}
	return p.Data, nil
}

// Serial reads the terminal's serial number.
func (cl *Client) Serial() (string, error) {
	const name = "~SerialNumber"
	b, err := cl.call(CmdOptionsRRQ, []byte(name+"\x00"))
	if err != nil {
		return "", err
	}
	s, err := ParseOption(b, name)
	if err == nil && s == "" {
		err = fmt.Errorf("%w: empty serial number", ErrRecord)
	}
	return s, err
}

// Version reads the firmware version.
func (cl *Client) Version() (string, error) {
	b, err := cl.call(CmdGetVersion, nil)
	return cstring(b), err
}

// Time reads the terminal's clock.
func (cl *Client) Time() (Stamp, error) {
	b, err := cl.call(CmdGetTime, nil)
	if err != nil {
		return Stamp{}, err
	}
	if len(b) < 4 {
		return Stamp{}, fmt.Errorf("%w: time of %d bytes", ErrShort, len(b))
	}
	return DecodeTime(binary.LittleEndian.Uint32(b))
}

// SetTime sets the terminal's clock.
func (cl *Client) SetTime(s Stamp) error {
	if err := s.check(); err != nil {
		return err
	}
	_, err := cl.call(CmdSetTime, binary.LittleEndian.AppendUint32(nil, EncodeTime(s)))
	return err
}

// RegisterEvents asks for real-time packets of the given flags (EFAttLog).
func (cl *Client) RegisterEvents(flags uint32) error {
	_, err := cl.call(CmdRegEvent, binary.LittleEndian.AppendUint32(nil, flags))
	return err
}

// FreeSizes reads the terminal's counters.
func (cl *Client) FreeSizes() (FreeSizes, error) {
	b, err := cl.call(CmdGetFreeSizes, nil)
	if err != nil {
		return FreeSizes{}, err
	}
	return DecodeFreeSizes(b)
}

// ReadLog reads the whole attendance log, oldest first, with the keypad and
// readers disabled meanwhile so that the record count and the log agree
// (doc.go §2, §2.2, §2.3). It enables the terminal again on every path that
// still has a connection.
func (cl *Client) ReadLog() (recs []AttRecord, err error) {
	if _, err := cl.call(CmdDisableDevice, nil); err != nil {
		return nil, err
	}
	defer func() {
		if _, eerr := cl.call(CmdEnableDevice, nil); eerr != nil && err == nil {
			err = eerr
		}
	}()
	fs, err := cl.FreeSizes()
	if err != nil {
		return nil, err
	}
	table, err := cl.readTable(PrepareBuffer{Table: CmdAttLogRRQ})
	if err != nil {
		return nil, err
	}
	size, err := RecordSizeOf(len(table)-4, int(fs.Records))
	if err != nil {
		return nil, err
	}
	return DecodeAttLog(table, size)
}

// Users reads the user table.
func (cl *Client) Users() ([]User, error) {
	table, err := cl.readTable(PrepareBuffer{Table: CmdUserTempRRQ, Fct: FctUser})
	if err != nil {
		return nil, err
	}
	return DecodeUsers(table)
}

// maxTable bounds a table we read: a terminal's log of 200 000 40-byte
// records is 8 MB; more is a hostile or broken terminal.
const maxTable = 64 << 20

// readTable runs a buffered read (doc.go §2.2).
func (cl *Client) readTable(req PrepareBuffer) ([]byte, error) {
	cl.reqMu.Lock()
	defer cl.reqMu.Unlock()
	p, err := cl.requestLocked(CmdPrepareBuffer, AppendPrepareBuffer(nil, req))
	if err != nil {
		return nil, err
	}
	switch p.Cmd {
	case CmdData:
		return p.Data, nil
	case CmdAckOK:
	default:
		return nil, &ReplyError{Request: CmdPrepareBuffer, Code: p.Cmd}
	}
	if len(p.Data) < 5 {
		return nil, fmt.Errorf("%w: prepare-buffer reply of %d bytes", ErrShort, len(p.Data))
	}
	total := binary.LittleEndian.Uint32(p.Data[1:])
	if total > maxTable {
		return nil, fmt.Errorf("%w: table of %d bytes, at most %d", ErrTooLarge, total, maxTable)
	}
	out := make([]byte, 0, total)
	for uint32(len(out)) < total {
		n := min(total-uint32(len(out)), cl.chunk)
		chunk, err := cl.readChunkLocked(uint32(len(out)), n)
		if err != nil {
			return nil, err
		}
		out = append(out, chunk...)
	}
	if _, err := cl.requestLocked(CmdFreeData, nil); err != nil {
		return nil, err
	}
	return out, nil
}

// readChunkLocked reads bytes [start, start+n) of the prepared buffer.
func (cl *Client) readChunkLocked(start, n uint32) ([]byte, error) {
	req := binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, start), n)
	nr := cl.reply
	p, err := cl.requestLocked(CmdReadBuffer, req)
	if err != nil {
		return nil, err
	}
	switch p.Cmd {
	case CmdData:
		if uint32(len(p.Data)) != n {
			return nil, fmt.Errorf("%w: chunk at %d of %d bytes, asked %d", ErrRecord, start, len(p.Data), n)
		}
		return p.Data, nil
	case CmdPrepareData:
	default:
		return nil, &ReplyError{Request: CmdReadBuffer, Code: p.Cmd}
	}
	var chunk []byte
	for {
		p, err := cl.await(CmdReadBuffer, nr)
		if err != nil {
			return nil, err
		}
		switch p.Cmd {
		case CmdData:
			if uint32(len(chunk)+len(p.Data)) > n {
				return nil, fmt.Errorf("%w: chunk at %d exceeds the %d bytes asked", ErrRecord, start, n)
			}
			chunk = append(chunk, p.Data...)
		case CmdAckOK:
			if uint32(len(chunk)) != n {
				return nil, fmt.Errorf("%w: chunk at %d of %d bytes, asked %d", ErrRecord, start, len(chunk), n)
			}
			return chunk, nil
		default:
			return nil, &ReplyError{Request: CmdReadBuffer, Code: p.Cmd}
		}
	}
}

// WriteUser writes u to the user table and refreshes the terminal's data.
func (cl *Client) WriteUser(u User) error {
	b, err := AppendUser(nil, u)
	if err != nil {
		return err
	}
	if _, err := cl.call(CmdUserWRQ, b); err != nil {
		return err
	}
	_, err = cl.call(CmdRefreshData, nil)
	return err
}

// DeleteUser removes the user numbered sn and refreshes the terminal's data.
func (cl *Client) DeleteUser(sn uint16) error {
	if _, err := cl.call(CmdDeleteUser, binary.LittleEndian.AppendUint16(nil, sn)); err != nil {
		return err
	}
	_, err := cl.call(CmdRefreshData, nil)
	return err
}
