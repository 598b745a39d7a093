package link

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

// Image is a firmware image to send (PROTOCOL.md §10).
type Image struct {
	Data    []byte
	Version string
	// Signature is Ed25519 over msg.FirmwareSigningInput(SHA-256(Data)),
	// made with the vendor's signing key; the device checks it.
	Signature []byte
	// SHA is the image hash from the release manifest, sent in the offer
	// as is; nil means SHA-256 of Data. The device checks the bytes it
	// received against it, so a manifest that does not match the image is
	// refused (bad_hash) instead of booted.
	SHA []byte
}

// SHA256 returns the hash the offer carries, which names the image in
// FW_ACTIVATE.
func (img Image) SHA256() []byte {
	if img.SHA != nil {
		return img.SHA
	}
	s := sha256.Sum256(img.Data)
	return s[:]
}

type fwPhase int

const (
	fwOffer      fwPhase = iota // FW_OFFER to send (again, after a new session)
	fwAwaitOffer                // offered: waiting for the offset the device holds
	fwSending                   // chunks from next
	fwVerify                    // every byte sent: waiting for ready or rejected
)

type fwJob struct {
	img   Image
	sha   []byte
	xfer  uint32
	phase fwPhase
	next  uint32 // offset of the next chunk
	done  chan struct{}
	err   error
}

func (j *fwJob) finish(err error) {
	select {
	case <-j.done:
	default:
		j.err = err
		close(j.done)
	}
}

// Transfer sends img to the device's spare slot and returns when the
// device holds it, verified (state ready). It survives reconnects and
// restarts of the device: after every new session it offers the image
// again and continues from the offset the device reports (§10.2). A
// refusal (too large, bad hash, bad signature, downgrade, flash) is a
// *RejectError. One transfer at a time.
func (g *Gateway) Transfer(ctx context.Context, img Image) error {
	if len(img.Data) == 0 || uint64(len(img.Data)) > 1<<32-1 {
		return fmt.Errorf("link: firmware %q: size %d outside [1, 4 GiB)", img.Version, len(img.Data))
	}
	if len(img.Signature) != ed25519.SignatureSize {
		return fmt.Errorf("link: firmware %q: signature is %d bytes, need %d", img.Version, len(img.Signature), ed25519.SignatureSize)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("link: firmware %q: %w", img.Version, err)
	}
	j := &fwJob{img: img, sha: img.SHA256(), done: make(chan struct{})}
	g.mu.Lock()
	if g.fw != nil {
		v := g.fw.img.Version
		g.mu.Unlock()
		return fmt.Errorf("link: firmware %q: transfer of %q in progress", img.Version, v)
	}
	g.fw = j
	g.wake()
	g.mu.Unlock()
	var err error
	select {
	case <-j.done:
		err = j.err
	case <-ctx.Done():
		err = fmt.Errorf("link: firmware %q: %w", img.Version, ctx.Err())
	}
	g.mu.Lock()
	if g.fw == j {
		g.fw = nil
	}
	g.mu.Unlock()
	return err
}

// chunkLen is the largest chunk a frame of the session's mtu carries: the
// FW_CHUNK map costs at most 17 bytes around the data.
func (g *Gateway) chunkLen() int {
	room := g.mtu - frame.MinLen - 17
	if g.auth != nil {
		room -= frame.AuthLen
	}
	return min(msg.MaxChunk, room)
}

// fwPump sends the transfer's next frame; it reports whether it sent one.
func (g *Gateway) fwPump(now time.Time) bool {
	j := g.fw
	if j == nil || isDone(j.done) {
		return false
	}
	if g.sess.caps&msg.CapFirmware == 0 {
		j.finish(&RejectError{What: "firmware " + j.img.Version, Code: msg.CodeUnknownType, Text: "device does not accept firmware"})
		return false
	}
	switch j.phase {
	case fwOffer:
		// A fresh transfer id per offer: statuses about an earlier offer,
		// still in flight, cannot be mistaken for the answer to this one.
		j.xfer = 0
		for j.xfer == 0 {
			j.xfer = uint32(g.rand())
		}
		err := g.sendNew(now, &msg.FwOffer{Xfer: j.xfer, Size: uint32(len(j.img.Data)), SHA256: j.sha,
			Signature: j.img.Signature, Version: j.img.Version})
		if err != nil {
			j.finish(fmt.Errorf("link: firmware %q: %w", j.img.Version, err))
			return false
		}
		j.phase = fwAwaitOffer
		return true
	case fwSending:
		size := uint32(len(j.img.Data))
		n := min(uint32(g.chunkLen()), size-j.next)
		err := g.sendNew(now, &msg.FwChunk{Xfer: j.xfer, Offset: j.next, Data: j.img.Data[j.next : j.next+n]})
		if err != nil {
			j.finish(fmt.Errorf("link: firmware %q chunk at %d: %w", j.img.Version, j.next, err))
			return false
		}
		j.next += n
		if j.next >= size {
			j.phase = fwVerify
		}
		return true
	}
	return false
}

func isDone(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func (g *Gateway) onFwStatus(now time.Time, m *msg.FwStatus) {
	if a := g.act; a != nil && a.sent && !isDone(a.done) {
		switch {
		case m.State == msg.FwRebooting && !a.confirm:
			a.rebooting = true
			return
		case m.State == msg.FwConfirmed && a.confirm:
			a.finish(nil)
			return
		case m.State == msg.FwRejected && (m.Code == msg.CodeUnknownImage || m.Xfer == 0):
			a.finish(&RejectError{What: fmt.Sprintf("activation of %x", a.sha[:4]), Code: m.Code, Text: m.Error})
			return
		}
	}
	j := g.fw
	if j == nil || isDone(j.done) || m.Xfer != j.xfer {
		return
	}
	size := uint32(len(j.img.Data))
	switch m.State {
	case msg.FwReceiving:
		if j.phase == fwAwaitOffer || m.Code == msg.CodeBadOffset {
			j.next, j.phase = min(m.Offset, size), fwSending
			if j.next >= size {
				j.phase = fwVerify
			}
		}
	case msg.FwReady:
		j.finish(nil)
	case msg.FwRejected:
		j.finish(&RejectError{What: "firmware " + j.img.Version, Code: m.Code, Text: m.Error})
	}
}

// actJob is one FW_ACTIVATE until its outcome.
type actJob struct {
	sha       []byte
	confirm   bool
	boot0     uint32 // device boot when asked; a test boot shows as a new one
	sent      bool   // queued in the current session
	rebooting bool
	done      chan struct{}
	err       error
}

func (a *actJob) finish(err error) {
	select {
	case <-a.done:
	default:
		a.err = err
		close(a.done)
	}
}

// TestBoot asks the device to boot the verified image sha once (§10.3)
// and returns when the device is back: nil if it runs the image under
// test, an error wrapping ErrRolledBack (a *RejectError with the device's
// code) if its bootloader reverted it. Whether the image is good is then
// the caller's to judge (the session stays up for its probation time);
// Confirm makes it permanent.
func (g *Gateway) TestBoot(ctx context.Context, sha []byte) error {
	return g.activate(ctx, sha, false)
}

// Confirm makes the running test image permanent (§10.3).
func (g *Gateway) Confirm(ctx context.Context, sha []byte) error {
	return g.activate(ctx, sha, true)
}

func (g *Gateway) activate(ctx context.Context, sha []byte, confirm bool) error {
	if len(sha) != sha256.Size {
		return fmt.Errorf("link: activate: image hash is %d bytes, need %d", len(sha), sha256.Size)
	}
	if err := ctx.Err(); err != nil {
		// Queued, the activation could go before the select below saw the
		// context: the device would reboot for a caller told it would not.
		return fmt.Errorf("link: activate %x: %w", sha[:4], err)
	}
	a := &actJob{sha: append([]byte(nil), sha...), confirm: confirm, done: make(chan struct{})}
	g.mu.Lock()
	if g.act != nil {
		g.mu.Unlock()
		return errors.New("link: activate: another activation is in progress")
	}
	if g.sess != nil {
		a.boot0 = g.sess.devBoot
	}
	g.act = a
	g.wake()
	g.mu.Unlock()
	var err error
	select {
	case <-a.done:
		err = a.err
	case <-ctx.Done():
		err = fmt.Errorf("link: activate %x: %w", sha[:4], ctx.Err())
	}
	g.mu.Lock()
	if g.act == a {
		g.act = nil
	}
	g.mu.Unlock()
	return err
}

// actPump queues a pending FW_ACTIVATE.
func (g *Gateway) actPump() {
	a := g.act
	if a == nil || a.sent || isDone(a.done) || g.sess == nil || !g.up {
		return
	}
	if g.sess.caps&msg.CapFirmware == 0 {
		a.finish(&RejectError{What: "activation", Code: msg.CodeUnknownType, Text: "device does not accept firmware"})
		return
	}
	if a.boot0 == 0 {
		a.boot0 = g.sess.devBoot
	}
	g.ctlq = append(g.ctlq, &msg.FwActivate{SHA256: a.sha, Confirm: a.confirm})
	a.sent = true
}

// fwOnSession restarts the transfer and settles a test boot when a new
// session opens (§6.4, §10.3).
func (g *Gateway) fwOnSession(now time.Time, h *msg.Hello, restarted bool) {
	if j := g.fw; j != nil && !isDone(j.done) {
		j.phase = fwOffer
	}
	a := g.act
	if a == nil || isDone(a.done) {
		return
	}
	if !a.confirm && a.sent && a.boot0 != 0 && h.Boot != a.boot0 {
		switch h.Image {
		case msg.ImageTesting:
			a.finish(nil)
		case msg.ImageReverted:
			code := h.RevertCode
			if code == 0 {
				code = msg.CodeTestBootFailed
			}
			a.finish(&RejectError{What: "firmware " + h.Reverted, Code: code, Text: "test boot reverted"})
		default:
			a.finish(fmt.Errorf("link: activate %x: device rebooted (boot %d) without the test image: %w", a.sha[:4], h.Boot, ErrRolledBack))
		}
		return
	}
	a.sent = false // the FW_ACTIVATE of the old session is gone: send again
}
