// Package zk4370sim emulates a ZKTeco 4370 terminal on loopback TCP, for tests
// and the demo.
//
// It follows the protocol as package zk4370's doc.go describes it, not the
// gateway's habits: sessions with an optional comm key, a stored attendance
// log with a capacity that the terminal keeps until it is cleared, real-time
// EF_ATTLOG packets to every session that registered for them, buffered reads
// of the log and the user table, a clock that can be read and set, and a user
// table. Where the sources are silent the emulator chooses, and says so here:
//   - a packet with a bad checksum is ignored (counted in Stats), as the
//     terminal cannot know whom to answer;
//   - a punch while the terminal is disabled (CMD_DISABLEDEVICE) is refused
//     with ErrDisabled, as the keypad and readers are off; a session that
//     ends while it has the terminal disabled enables it again;
//   - a punch on a full log is refused with ErrFull (the log is not rolled);
//   - a buffered read answers CMD_DATA at once for a table of at most
//     InlineMax bytes, else CMD_ACK_OK with one byte and the size, and each
//     chunk as CMD_PREPARE_DATA, CMD_DATA packets of at most DataPacket
//     bytes, CMD_ACK_OK.
package zk4370sim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/officegate/officegate/devices/zk4370"
)

// Punch refusals.
var (
	ErrFull     = errors.New("zk4370sim: attendance log full")
	ErrDisabled = errors.New("zk4370sim: terminal disabled")
)

// Options configure a Terminal; the zero value of a field takes its default.
type Options struct {
	Serial       string // "ZKSIM0001"
	Firmware     string // "Ver 6.60 Apr 28 2017"
	CommKey      uint32 // 0: no comm key
	Capacity     int    // log records; 100 000
	RecordSize   int    // 8, 16 or 40 (the default)
	RealtimeSize int    // 10, 12, 32 (the default) or 36
	InlineMax    int    // 1024
	DataPacket   int    // 4096
	// Now is the terminal's time base; its clock is Now() plus the offset a
	// CMD_SET_TIME leaves, read in Location. Default time.Now and time.Local.
	Now      func() time.Time
	Location *time.Location
}

// Stats counts what the terminal saw.
type Stats struct {
	Sessions    int // sessions opened (CMD_CONNECT)
	AuthFailed  int // CMD_AUTH with a wrong key
	BadFrames   int // packets ignored for a bad checksum
	EventsSent  int // real-time packets sent
	EventAcks   int // CMD_ACK_OK with reply number 0 after an event
	TimeSets    int // CMD_SET_TIME obeyed
	LogReads    int // buffered reads of the attendance log
	ClearedLogs int // CMD_CLEAR_ATTLOG obeyed
}

// Terminal is one emulated terminal. Its log and users outlive any number of
// listeners: Cut and Listen again model a network cut.
type Terminal struct {
	// Immutable.
	o Options

	mu sync.Mutex
	// Guarded by mu.
	log      []zk4370.AttRecord
	users    []zk4370.User
	offset   time.Duration
	disabled *session // the session that disabled the terminal
	ln       net.Listener
	pc       net.PacketConn // the UDP socket, while ListenUDP serves
	lose     int            // real-time datagrams still to lose (LoseEvents)
	sessions map[*session]struct{}
	nextID   uint16
	stats    Stats
	changed  chan struct{} // closed and replaced on every change

	listeners sync.WaitGroup // accept loops and sessions
}

// New makes a terminal; it listens once Listen is called.
func New(o Options) *Terminal {
	if o.Serial == "" {
		o.Serial = "ZKSIM0001"
	}
	if o.Firmware == "" {
		o.Firmware = "Ver 6.60 Apr 28 2017"
	}
	if o.Capacity == 0 {
		o.Capacity = 100000
	}
	if o.RecordSize == 0 {
		o.RecordSize = zk4370.RecordSize40
	}
	if o.RealtimeSize == 0 {
		o.RealtimeSize = zk4370.RTSize32
	}
	if o.InlineMax == 0 {
		o.InlineMax = 1024
	}
	if o.DataPacket == 0 {
		o.DataPacket = 4096
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	return &Terminal{o: o, sessions: map[*session]struct{}{}, nextID: 0x2c5e, changed: make(chan struct{})}
}

// Listen serves on addr ("127.0.0.1:0" for any port) until Cut or Close.
func (t *Terminal) Listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("zk4370sim: %w", err)
	}
	t.mu.Lock()
	if t.ln != nil {
		t.mu.Unlock()
		ln.Close()
		return errors.New("zk4370sim: already listening")
	}
	t.ln = ln
	t.listeners.Add(1)
	t.mu.Unlock()
	go t.accept(ln)
	return nil
}

// Addr is the address Listen or ListenUDP bound ("" when not listening).
func (t *Terminal) Addr() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.ln != nil:
		return t.ln.Addr().String()
	case t.pc != nil:
		return t.pc.LocalAddr().String()
	}
	return ""
}

// udpDataPacket bounds the data of one CMD_DATA datagram: terminals send a
// bulk read over UDP in packets of 1024 bytes (pyzk reads 1024+8 a packet),
// well under any LAN's MTU after fragmentation.
const udpDataPacket = 1024

// ListenUDP serves the protocol's UDP transport on addr until Cut or Close:
// one datagram is one bare payload (zk4370 doc.go §1), a session is a peer
// address, opened by its CMD_CONNECT and ended by CMD_EXIT. A datagram with
// a bad checksum is ignored and counted, as on TCP.
func (t *Terminal) ListenUDP(addr string) error {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return fmt.Errorf("zk4370sim: %w", err)
	}
	t.mu.Lock()
	if t.ln != nil || t.pc != nil {
		t.mu.Unlock()
		pc.Close()
		return errors.New("zk4370sim: already listening")
	}
	t.pc = pc
	t.listeners.Add(1)
	t.mu.Unlock()
	go t.serveUDP(pc)
	return nil
}

// LoseEvents makes the next n real-time datagrams to UDP sessions vanish,
// as datagrams do on a busy network; the punches stay in the log.
func (t *Terminal) LoseEvents(n int) {
	t.mu.Lock()
	t.lose += n
	t.mu.Unlock()
}

func (t *Terminal) serveUDP(pc net.PacketConn) {
	defer t.listeners.Done()
	peers := map[string]*session{}
	defer func() {
		t.mu.Lock()
		for _, s := range peers {
			t.endLocked(s)
		}
		t.changedLocked()
		t.mu.Unlock()
	}()
	buf := make([]byte, zk4370.MaxPayload)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		p, err := zk4370.DecodePayload(buf[:n])
		if err != nil {
			t.mu.Lock()
			t.stats.BadFrames++
			t.changedLocked()
			t.mu.Unlock()
			continue
		}
		p.Data = bytes.Clone(p.Data)
		s := peers[from.String()]
		if s == nil {
			if p.Cmd != zk4370.CmdConnect {
				continue // no session: a real terminal ignores it too
			}
			s = &session{t: t, send: func(p zk4370.Packet) error {
				if p.Cmd == zk4370.CmdData && len(p.Data) > udpDataPacket {
					return fmt.Errorf("zk4370sim: a %d-byte data packet over UDP", len(p.Data))
				}
				_, err := pc.WriteTo(zk4370.AppendPayload(nil, p), from)
				return err
			}}
			t.mu.Lock()
			t.sessions[s] = struct{}{}
			t.mu.Unlock()
			peers[from.String()] = s
		}
		if !s.handle(p) {
			delete(peers, from.String())
			t.mu.Lock()
			t.endLocked(s)
			t.changedLocked()
			t.mu.Unlock()
		}
	}
}

// endLocked forgets a session; mu must be held.
func (t *Terminal) endLocked(s *session) {
	delete(t.sessions, s)
	if t.disabled == s {
		t.disabled = nil
	}
}

// Cut closes the listener and every connection, as a pulled cable would, and
// waits for the sessions to end. The log and users stay.
func (t *Terminal) Cut() {
	t.mu.Lock()
	ln, pc := t.ln, t.pc
	t.ln, t.pc = nil, nil
	ss := make([]*session, 0, len(t.sessions))
	for s := range t.sessions {
		ss = append(ss, s)
	}
	t.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	if pc != nil {
		pc.Close() // ends serveUDP, which forgets its sessions
	}
	for _, s := range ss {
		if s.c != nil {
			s.c.Close()
		}
	}
	t.listeners.Wait()
}

// Close is Cut.
func (t *Terminal) Close() error { t.Cut(); return nil }

func (t *Terminal) accept(ln net.Listener) {
	defer t.listeners.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s := &session{t: t, c: c}
		t.mu.Lock()
		if t.ln != ln { // cut meanwhile
			t.mu.Unlock()
			c.Close()
			return
		}
		t.sessions[s] = struct{}{}
		t.listeners.Add(1)
		t.mu.Unlock()
		go func() {
			defer t.listeners.Done()
			s.serve()
		}()
	}
}

// changedLocked wakes Wait; mu must be held.
func (t *Terminal) changedLocked() {
	close(t.changed)
	t.changed = make(chan struct{})
}

// Wait blocks until cond, called with the terminal's state under its lock,
// holds, or ctx ends.
func (t *Terminal) Wait(ctx context.Context, cond func(State) bool) error {
	for {
		t.mu.Lock()
		ok := cond(t.stateLocked())
		ch := t.changed
		t.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("zk4370sim: waiting: %w", ctx.Err())
		}
	}
}

// State is a snapshot for Wait.
type State struct {
	Stats      Stats
	Records    int
	Users      int
	Registered int // sessions registered for EF_ATTLOG
	Open       int // open sessions
	Disabled   bool
}

func (t *Terminal) stateLocked() State {
	st := State{Stats: t.stats, Records: len(t.log), Users: len(t.users), Open: len(t.sessions), Disabled: t.disabled != nil}
	for s := range t.sessions {
		if s.events&zk4370.EFAttLog != 0 {
			st.Registered++
		}
	}
	return st
}

// Snapshot returns the terminal's state now.
func (t *Terminal) Snapshot() State {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stateLocked()
}

// Clock returns the terminal's wall clock now.
func (t *Terminal) Clock() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.clockLocked()
}

func (t *Terminal) clockLocked() time.Time {
	return t.o.Now().Add(t.offset).In(t.o.Location)
}

// SetClock sets the terminal's clock, as a person at its menu would.
func (t *Terminal) SetClock(at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.offset = at.Sub(t.o.Now())
	t.changedLocked()
}

// Log returns a copy of the stored log, oldest first.
func (t *Terminal) Log() []zk4370.AttRecord {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.log)
}

// Users returns a copy of the user table.
func (t *Terminal) Users() []zk4370.User {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.users)
}

// Punch records a punch by pin at the terminal's clock now: it is stored in
// the log and sent to every session registered for it.
func (t *Terminal) Punch(pin string, verify, state uint8) (zk4370.AttRecord, error) {
	t.mu.Lock()
	now := zk4370.StampOf(t.clockLocked())
	t.mu.Unlock()
	r := zk4370.AttRecord{PIN: pin, Time: now, Verify: verify, State: state}
	return r, t.Record(r)
}

// Record stores r (its time as given) and sends it to every registered
// session. The user number is taken from the user table, or 0.
func (t *Terminal) Record(r zk4370.AttRecord) error {
	if _, err := zk4370.AppendAttRecord(nil, r, t.o.RecordSize); err != nil {
		return fmt.Errorf("zk4370sim: punch: %w", err)
	}
	rt, err := zk4370.AppendRealtime(nil, r, t.o.RealtimeSize)
	if err != nil {
		return fmt.Errorf("zk4370sim: punch: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.disabled != nil:
		return ErrDisabled
	case len(t.log) >= t.o.Capacity:
		return ErrFull
	}
	for _, u := range t.users {
		if u.PIN == r.PIN {
			r.UserSN = u.SN
		}
	}
	t.log = append(t.log, r)
	for s := range t.sessions {
		if s.events&zk4370.EFAttLog != 0 {
			// Written under mu so that every session sees punches in log
			// order; a session's writes never block for long on loopback,
			// and a dead one fails at once.
			if s.send != nil && t.lose > 0 {
				t.lose-- // a datagram lost on the way: the punch is only in the log
				continue
			}
			if s.write(zk4370.Packet{Cmd: zk4370.CmdRegEvent, Session: zk4370.EFAttLog, Data: rt}) == nil {
				t.stats.EventsSent++
			}
		}
	}
	t.changedLocked()
	return nil
}

// AddUser puts u in the user table, as enrolment at the terminal would.
func (t *Terminal) AddUser(u zk4370.User) error {
	if _, err := zk4370.AppendUser(nil, u); err != nil {
		return fmt.Errorf("zk4370sim: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.upsertLocked(u)
	return nil
}

func (t *Terminal) upsertLocked(u zk4370.User) {
	t.users = slices.DeleteFunc(t.users, func(o zk4370.User) bool { return o.SN == u.SN || o.PIN == u.PIN })
	t.users = append(t.users, u)
	slices.SortFunc(t.users, func(a, b zk4370.User) int { return int(a.SN) - int(b.SN) })
	t.changedLocked()
}

// ClearLog empties the log, as an administrator at the menu would.
func (t *Terminal) ClearLog() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.log = nil
	t.stats.ClearedLogs++
	t.changedLocked()
}
