package zk4370sim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/officegate/officegate/devices/zk4370"
)

// session is one client connection: a TCP connection, or a UDP peer
// address (c nil, send set).
type session struct {
	// Immutable.
	t    *Terminal
	c    net.Conn
	send func(zk4370.Packet) error // UDP: one datagram, the bare payload

	wmu sync.Mutex // serialises writes: replies and real-time packets

	// Guarded by t.mu.
	id     uint16
	authed bool
	events uint32 // registered event flags

	// Owned by serve's goroutine.
	buf []byte // the prepared buffer of a buffered read
}

func (s *session) write(p zk4370.Packet) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.send != nil {
		return s.send(p)
	}
	// A client that stops reading must not hold the terminal's lock forever.
	s.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := s.c.Write(zk4370.AppendFrame(nil, p))
	return err
}

func (s *session) serve() {
	t := s.t
	defer func() {
		s.c.Close()
		t.mu.Lock()
		delete(t.sessions, s)
		if t.disabled == s {
			t.disabled = nil
		}
		t.changedLocked()
		t.mu.Unlock()
	}()
	var buf []byte
	for {
		var p zk4370.Packet
		var err error
		p, buf, err = zk4370.ReadFrame(s.c, buf)
		if errors.Is(err, zk4370.ErrChecksum) {
			t.mu.Lock()
			t.stats.BadFrames++
			t.changedLocked()
			t.mu.Unlock()
			continue
		}
		if err != nil {
			return
		}
		if !s.handle(p) {
			return
		}
	}
}

// reply answers p with code and data.
func (s *session) reply(p zk4370.Packet, code uint16, data []byte) bool {
	s.t.mu.Lock()
	id := s.id
	s.t.mu.Unlock()
	return s.write(zk4370.Packet{Cmd: code, Session: id, Reply: p.Reply, Data: data}) == nil
}

// handle answers one packet; false ends the session.
func (s *session) handle(p zk4370.Packet) bool {
	t := s.t
	ok := func() bool { return s.reply(p, zk4370.CmdAckOK, nil) }
	t.mu.Lock()
	authed := s.authed
	t.mu.Unlock()
	switch p.Cmd {
	case zk4370.CmdConnect:
		t.mu.Lock()
		t.nextID++
		s.id = t.nextID
		s.authed = t.o.CommKey == 0
		authed = s.authed
		t.stats.Sessions++
		t.changedLocked()
		t.mu.Unlock()
		if !authed {
			return s.reply(p, zk4370.CmdAckUnauth, nil)
		}
		return ok()
	case zk4370.CmdAuth:
		t.mu.Lock()
		s.authed = zk4370.CheckCommKey(p.Data, t.o.CommKey, s.id)
		authed = s.authed
		if !authed {
			t.stats.AuthFailed++
		}
		t.changedLocked()
		t.mu.Unlock()
		if !authed {
			return s.reply(p, zk4370.CmdAckUnauth, nil)
		}
		return ok()
	case zk4370.CmdExit:
		ok()
		return false
	case zk4370.CmdAckOK:
		// The client acknowledging a real-time packet (reply number 0).
		t.mu.Lock()
		t.stats.EventAcks++
		t.changedLocked()
		t.mu.Unlock()
		return true
	}
	if !authed {
		return s.reply(p, zk4370.CmdAckUnauth, nil)
	}
	switch p.Cmd {
	case zk4370.CmdOptionsRRQ:
		name := string(bytes.TrimRight(p.Data, "\x00"))
		switch name {
		case "~SerialNumber":
			return s.reply(p, zk4370.CmdAckOK, []byte(name+"="+t.o.Serial+"\x00"))
		case "~DeviceName":
			return s.reply(p, zk4370.CmdAckOK, []byte(name+"=ZKSIM\x00"))
		}
		return s.reply(p, zk4370.CmdAckError, nil)
	case zk4370.CmdGetVersion:
		return s.reply(p, zk4370.CmdAckOK, []byte(t.o.Firmware+"\x00"))
	case zk4370.CmdGetFreeSizes:
		t.mu.Lock()
		fs := zk4370.FreeSizes{Users: int32(len(t.users)), Records: int32(len(t.log)), UserCap: 3000,
			RecordCap: int32(t.o.Capacity), RecordsFree: int32(t.o.Capacity - len(t.log))}
		t.mu.Unlock()
		return s.reply(p, zk4370.CmdAckOK, zk4370.AppendFreeSizes(nil, fs))
	case zk4370.CmdGetTime:
		t.mu.Lock()
		now := zk4370.StampOf(t.clockLocked())
		t.mu.Unlock()
		return s.reply(p, zk4370.CmdAckOK, binary.LittleEndian.AppendUint32(nil, zk4370.EncodeTime(now)))
	case zk4370.CmdSetTime:
		if len(p.Data) != 4 {
			return s.reply(p, zk4370.CmdAckError, nil)
		}
		st, err := zk4370.DecodeTime(binary.LittleEndian.Uint32(p.Data))
		if err != nil {
			return s.reply(p, zk4370.CmdAckError, nil)
		}
		t.mu.Lock()
		t.offset = st.In(t.o.Location).Sub(t.o.Now())
		t.stats.TimeSets++
		t.changedLocked()
		t.mu.Unlock()
		return ok()
	case zk4370.CmdRegEvent:
		if len(p.Data) != 4 {
			return s.reply(p, zk4370.CmdAckError, nil)
		}
		t.mu.Lock()
		s.events = binary.LittleEndian.Uint32(p.Data)
		t.changedLocked()
		t.mu.Unlock()
		return ok()
	case zk4370.CmdDisableDevice, zk4370.CmdEnableDevice:
		t.mu.Lock()
		if p.Cmd == zk4370.CmdDisableDevice {
			t.disabled = s
		} else {
			t.disabled = nil
		}
		t.changedLocked()
		t.mu.Unlock()
		return ok()
	case zk4370.CmdRefreshData:
		return ok()
	case zk4370.CmdClearAttLog:
		t.ClearLog()
		return ok()
	case zk4370.CmdUserWRQ:
		u, err := zk4370.DecodeUser(p.Data)
		if err != nil || u.SN == 0 {
			return s.reply(p, zk4370.CmdAckError, nil)
		}
		t.mu.Lock()
		t.upsertLocked(u)
		t.mu.Unlock()
		return ok()
	case zk4370.CmdDeleteUser:
		if len(p.Data) < 2 {
			return s.reply(p, zk4370.CmdAckError, nil)
		}
		sn := binary.LittleEndian.Uint16(p.Data)
		t.mu.Lock()
		for i, u := range t.users {
			if u.SN == sn {
				t.users = append(t.users[:i], t.users[i+1:]...)
				break
			}
		}
		t.changedLocked()
		t.mu.Unlock()
		return ok()
	case zk4370.CmdPrepareBuffer:
		return s.prepare(p)
	case zk4370.CmdReadBuffer:
		return s.readBuffer(p)
	case zk4370.CmdFreeData:
		s.buf = nil
		return ok()
	}
	return s.reply(p, zk4370.CmdAckUnknown, nil)
}

// dataPacket is the most data a packet of this session carries: n, and at
// most udpDataPacket over UDP.
func (s *session) dataPacket(n int) int {
	if s.send != nil {
		return min(n, udpDataPacket)
	}
	return n
}

// prepare builds the table a buffered read asks for (zk4370 doc.go §2.2).
func (s *session) prepare(p zk4370.Packet) bool {
	t := s.t
	req, err := zk4370.DecodePrepareBuffer(p.Data)
	if err != nil {
		return s.reply(p, zk4370.CmdAckError, nil)
	}
	var body []byte
	t.mu.Lock()
	switch {
	case req.Table == zk4370.CmdAttLogRRQ:
		for _, r := range t.log {
			body, _ = zk4370.AppendAttRecord(body, r, t.o.RecordSize)
		}
		t.stats.LogReads++
		t.changedLocked()
	case req.Table == zk4370.CmdUserTempRRQ && req.Fct == zk4370.FctUser:
		for _, u := range t.users {
			body, _ = zk4370.AppendUser(body, u)
		}
	default:
		t.mu.Unlock()
		return s.reply(p, zk4370.CmdAckError, nil)
	}
	t.mu.Unlock()
	table := zk4370.AppendTable(nil, body)
	if len(table) <= s.dataPacket(t.o.InlineMax) {
		return s.reply(p, zk4370.CmdData, table)
	}
	s.buf = table
	return s.reply(p, zk4370.CmdAckOK, binary.LittleEndian.AppendUint32([]byte{0}, uint32(len(table))))
}

func (s *session) readBuffer(p zk4370.Packet) bool {
	if len(p.Data) != 8 || s.buf == nil {
		return s.reply(p, zk4370.CmdAckError, nil)
	}
	start, size := binary.LittleEndian.Uint32(p.Data), binary.LittleEndian.Uint32(p.Data[4:])
	if uint64(start)+uint64(size) > uint64(len(s.buf)) || size > zk4370.MaxChunk {
		return s.reply(p, zk4370.CmdAckError, nil)
	}
	chunk := s.buf[start : start+size]
	if !s.reply(p, zk4370.CmdPrepareData, binary.LittleEndian.AppendUint32(nil, size)) {
		return false
	}
	for len(chunk) > 0 {
		n := min(len(chunk), s.dataPacket(s.t.o.DataPacket))
		if !s.reply(p, zk4370.CmdData, chunk[:n]) {
			return false
		}
		chunk = chunk[n:]
	}
	return s.reply(p, zk4370.CmdAckOK, nil)
}
