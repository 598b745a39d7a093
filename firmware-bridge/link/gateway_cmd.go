package link

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"time"

	"github.com/officegate/officegate/firmware-bridge/msg"
)

// cmdReq is one command from Send until its result.
type cmdReq struct {
	cmd     msg.Command
	n       uint64 // Send order, to requeue in order
	sent    bool   // in the device's hands in this session
	handed  bool   // in the device's hands once, in this session or an earlier one
	waiters int
	done    chan struct{}
	res     msg.Result
	err     error
}

func (r *cmdReq) resolve(res msg.Result, err error) {
	select {
	case <-r.done:
	default:
		r.res, r.err = res, err
		close(r.done)
	}
}

// Send delivers cmd to the device and returns its result, exactly once
// per command id (PROTOCOL.md §9.2). It waits while the device is offline.
// The result has been committed through the Sink before Send returns it.
// Calling Send again with the id of a command in flight waits for the same
// result; with the id of one already answered, it returns that answer
// without sending anything.
//
// The gateway answers itself, and commits, when it cannot send: expired
// (the deadline passed before the command could go), unsupported (the
// device lacks the commands capability), error (too large for the
// device's mtu, or the device restarted while it had the command and the
// outcome is unknown). Send returns an error only if ctx ends first or the
// command is invalid. A Send whose ctx has ended before it is called sends
// nothing; one whose ctx ends while the command waits unsent takes it back.
// One whose ctx ends after the command went to the device returns an error
// wrapping ErrUnanswered: the device may have run it, the command stays
// with the gateway (sent again after a reconnect, §9.2 answering a repeat)
// and its result still reaches the Sink; Send the same id again to wait for
// it. A caller that retries an unanswered command should do so before the
// device has run 32 others, the size of its table of answered ids (§9.2):
// past that, the device cannot know it ran it.
func (g *Gateway) Send(ctx context.Context, cmd msg.Command) (msg.Result, error) {
	if err := cmd.Validate(); err != nil {
		return msg.Result{}, fmt.Errorf("link: command %q: %w", cmd.ID, err)
	}
	g.mu.Lock()
	if res, ok := g.answered[cmd.ID]; ok {
		g.mu.Unlock()
		return res, nil
	}
	req := g.cmds[cmd.ID]
	if req == nil && ctx.Err() != nil {
		// Queued, it could go out before the select below saw the context:
		// a command its caller was told was cancelled would run.
		g.mu.Unlock()
		return msg.Result{}, fmt.Errorf("link: command %q: %w", cmd.ID, ctx.Err())
	}
	if req == nil {
		g.nextCmd++
		req = &cmdReq{cmd: cmd, n: g.nextCmd, done: make(chan struct{})}
		g.cmds[cmd.ID] = req
		g.queue = append(g.queue, req)
		g.wake()
	}
	req.waiters++
	g.mu.Unlock()
	select {
	case <-req.done:
		return req.res, req.err
	case <-ctx.Done():
		g.mu.Lock()
		req.waiters--
		handed := req.handed
		if i := slices.Index(g.queue, req); i >= 0 && req.waiters == 0 && !handed {
			g.queue = slices.Delete(g.queue, i, i+1)
			delete(g.cmds, cmd.ID)
		}
		g.mu.Unlock()
		if handed {
			return msg.Result{}, fmt.Errorf("link: command %q: %w: %w", cmd.ID, ErrUnanswered, ctx.Err())
		}
		return msg.Result{}, fmt.Errorf("link: command %q: %w", cmd.ID, ctx.Err())
	}
}

// sendCmd sends a queued command or answers it (§9.2: the gateway refuses
// to send a command whose deadline has passed).
func (g *Gateway) sendCmd(now time.Time, req *cmdReq) {
	switch {
	case req.cmd.Deadline != 0 && req.cmd.Deadline <= unixMS(now):
		g.synthesize(req, msg.StatusExpired, "deadline passed before the command could be sent")
	case g.sess.caps&msg.CapCommands == 0:
		g.synthesize(req, msg.StatusUnsupported, "device does not accept commands")
	default:
		cmd := req.cmd
		if err := g.sendNew(now, &cmd); err != nil {
			g.synthesize(req, msg.StatusError, err.Error())
			return
		}
		req.sent, req.handed = true, true
	}
}

// synthesize answers a command in the gateway's name; the answer is
// committed like a device's before the caller sees it.
func (g *Gateway) synthesize(req *cmdReq, st msg.Status, text string) {
	req.sent = false
	res := &msg.Result{ID: req.cmd.ID, Status: st, Error: text}
	var hw, dev string
	var boot uint32
	var kind msg.Kind
	if s := g.sess; s != nil {
		hw, dev, boot, kind = s.hw, s.ident.DeviceID, s.devBoot, s.hello.Kind
	}
	g.backlog = append(g.backlog, &job{kind: jobRecord, rec: Record{
		Kind: RecordResult, HardwareID: hw, DeviceID: dev, DeviceBoot: boot, DeviceKind: kind,
		Received: g.clock.Now(), Result: res, Synthesized: true,
	}})
}

// sentCmds returns the commands the device has and has not answered, in
// Send order.
func (g *Gateway) sentCmds() []*cmdReq {
	var out []*cmdReq
	for _, req := range g.cmds {
		if req.sent {
			out = append(out, req)
		}
	}
	slices.SortFunc(out, func(a, b *cmdReq) int { return int(a.n - b.n) })
	return out
}

// cfgState is configuration push by hash (§9.3).
type cfgState struct {
	want    []byte // set by SetConfig; nil: the Identity's
	waiters []*cfgReq
}

type cfgReq struct {
	hash []byte
	done chan struct{}
	st   msg.ConfigStatus
	err  error
}

// SetConfig makes cfg the configuration the device should have, pushes it
// if the device has another, and returns the device's answer: applied, or
// unchanged if it already had it. A refusal is a *RejectError. While the
// device is offline it waits; the push also happens at every new session
// whose HELLO names another hash.
func (g *Gateway) SetConfig(ctx context.Context, cfg []byte) (msg.ConfigStatus, error) {
	sum := sha256.Sum256(cfg)
	req := &cfgReq{hash: sum[:], done: make(chan struct{})}
	g.mu.Lock()
	g.cfg.want = bytes.Clone(cfg)
	if g.sess != nil && bytes.Equal(g.status.ConfigHash, sum[:]) {
		g.mu.Unlock()
		return msg.ConfigStatus{Hash: sum[:], State: msg.ConfigUnchanged}, nil
	}
	g.cfg.waiters = append(g.cfg.waiters, req)
	if g.sess != nil && g.up {
		g.pushConfig(g.cfg.want)
	}
	g.wake()
	g.mu.Unlock()
	select {
	case <-req.done:
		return req.st, req.err
	case <-ctx.Done():
		g.mu.Lock()
		g.cfg.waiters = slices.DeleteFunc(g.cfg.waiters, func(r *cfgReq) bool { return r == req })
		g.mu.Unlock()
		return msg.ConfigStatus{}, fmt.Errorf("link: config %x: %w", sum[:4], ctx.Err())
	}
}

func (g *Gateway) pushConfig(cfg []byte) {
	sum := sha256.Sum256(cfg)
	if g.sess.caps&msg.CapConfig == 0 {
		g.resolveConfig(sum[:], msg.ConfigStatus{}, &RejectError{What: fmt.Sprintf("config %x", sum[:4]), Code: msg.CodeUnknownType, Text: "device does not accept configuration"})
		return
	}
	g.ctlq = append(g.ctlq, &msg.Config{Hash: sum[:], Config: cfg})
}

// cfgOnSession pushes the desired configuration when HELLO names another.
func (g *Gateway) cfgOnSession(want, have []byte) {
	if want == nil {
		return
	}
	sum := sha256.Sum256(want)
	if bytes.Equal(sum[:], have) {
		g.resolveConfig(sum[:], msg.ConfigStatus{Hash: sum[:], State: msg.ConfigUnchanged}, nil)
		return
	}
	g.pushConfig(want)
}

func (g *Gateway) onConfigStatus(m *msg.ConfigStatus) {
	if m.State == msg.ConfigRejected {
		g.resolveConfig(m.Hash, *m, &RejectError{What: fmt.Sprintf("config %x", m.Hash[:4]), Code: m.Code, Text: m.Error})
		return
	}
	if !bytes.Equal(g.status.ConfigHash, m.Hash) {
		g.status.ConfigHash = bytes.Clone(m.Hash)
		g.notify()
	}
	g.resolveConfig(m.Hash, *m, nil)
}

func (g *Gateway) resolveConfig(hash []byte, st msg.ConfigStatus, err error) {
	g.cfg.waiters = slices.DeleteFunc(g.cfg.waiters, func(r *cfgReq) bool {
		if !bytes.Equal(r.hash, hash) {
			return false
		}
		r.st, r.err = st, err
		close(r.done)
		return true
	})
}
