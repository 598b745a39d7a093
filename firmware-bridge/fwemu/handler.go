package fwemu

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/internal/cbormode"
)

// statusEvery is how many chunks may go without a progress FW_STATUS (§10.2).
const statusEvery = 16

// handler is the Emulator as the link's Handler: the firmware application.
type handler Emulator

func (h *handler) Handle(ctx context.Context, m msg.Message) ([]msg.Message, error) {
	e := (*Emulator)(h)
	switch m := m.(type) {
	case *msg.Command:
		return []msg.Message{e.command(ctx, m)}, nil
	case *msg.Config:
		return []msg.Message{e.config(m)}, nil
	case *msg.FwOffer:
		return []msg.Message{e.offer(m)}, nil
	case *msg.FwChunk:
		if st := e.chunk(m); st != nil {
			return []msg.Message{st}, nil
		}
		return nil, nil
	case *msg.FwActivate:
		return []msg.Message{e.activate(m)}, nil
	}
	return nil, nil
}

func (e *Emulator) command(ctx context.Context, c *msg.Command) *msg.Result {
	res := &msg.Result{ID: c.ID}
	var data map[string]any
	var err error
	switch c.Name {
	case "ping", "echo":
		data = map[string]any{"echo": c.Args}
		if c.Args == nil {
			data = map[string]any{"pong": true}
		}
	case "set_time":
		ms, ok := c.Args["ms"].(uint64)
		if !ok {
			err = fmt.Errorf("set_time needs an unsigned \"ms\", got %v", c.Args["ms"])
			break
		}
		now, _ := e.clock.Now()
		e.clock.Adjust(int64(ms) - int64(now))
	default:
		f := e.opts.Commands[c.Name]
		if f == nil {
			f = e.terminalCommand(c.Name)
		}
		if f == nil {
			f = e.panelCommand(c.Name)
		}
		if f == nil {
			res.Status, res.Error = msg.StatusUnsupported, fmt.Sprintf("unknown command %q", c.Name)
			return res
		}
		data, err = f(ctx, c.Args)
	}
	switch {
	case errors.Is(err, link.ErrBusy):
		res.Status = msg.StatusBusy
	case err != nil:
		res.Status, res.Error = msg.StatusError, truncate(err.Error())
	default:
		res.Data = data
	}
	return res
}

func truncate(s string) string {
	if len(s) > msg.MaxTextLen {
		s = s[:msg.MaxTextLen]
	}
	for !isUTF8(s) {
		s = s[:len(s)-1]
	}
	return s
}

func isUTF8(s string) bool { return bytes.Equal([]byte(s), bytes.ToValidUTF8([]byte(s), nil)) }

// configDec reads a pushed configuration: hostile input for the firmware,
// inside a frame body already bounded by the frame size cap.
var configDec = cbormode.MustHostile(cbormode.Limits{})

// config applies a configuration by hash (§9.3); the link has checked the
// hash against the bytes.
func (e *Emulator) config(c *msg.Config) *msg.ConfigStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	if bytes.Equal(c.Hash, e.st.ConfigHash) {
		return &msg.ConfigStatus{Hash: c.Hash, State: msg.ConfigUnchanged}
	}
	var m map[string]any
	if err := configDec.Unmarshal(c.Config, &m); err != nil {
		return &msg.ConfigStatus{Hash: c.Hash, State: msg.ConfigRejected, Code: msg.CodeConfigInvalid,
			Error: truncate("configuration is not a CBOR map with text keys: " + err.Error())}
	}
	old, oldHash := e.st.Config, e.st.ConfigHash
	e.st.Config, e.st.ConfigHash = bytes.Clone(c.Config), bytes.Clone(c.Hash)
	if err := e.persist(); err != nil {
		e.st.Config, e.st.ConfigHash = old, oldHash
		return &msg.ConfigStatus{Hash: c.Hash, State: msg.ConfigRejected, Code: msg.CodeInternal, Error: truncate(err.Error())}
	}
	return &msg.ConfigStatus{Hash: c.Hash, State: msg.ConfigApplied}
}

func (e *Emulator) slotPath() string { return e.opts.StatePath + ".slot" }

// offer answers FW_OFFER (§10.1).
func (e *Emulator) offer(o *msg.FwOffer) *msg.FwStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := &e.st.Slot
	e.fwXfer, e.chunks = o.Xfer, 0
	if bytes.Equal(s.SHA, o.SHA256) && s.Size == o.Size {
		if s.Verified {
			return &msg.FwStatus{Xfer: o.Xfer, Offset: s.Held, State: msg.FwReady}
		}
		return &msg.FwStatus{Xfer: o.Xfer, Offset: s.Held, State: msg.FwReceiving}
	}
	if int64(o.Size) > int64(e.opts.SlotSize) {
		return &msg.FwStatus{Xfer: o.Xfer, State: msg.FwRejected, Code: msg.CodeTooLarge,
			Error: fmt.Sprintf("image of %d bytes, slot holds %d", o.Size, e.opts.SlotSize)}
	}
	// Erase the spare slot and start over with this image.
	*s = slot{SHA: bytes.Clone(o.SHA256), Size: o.Size, Version: o.Version, Sig: bytes.Clone(o.Signature)}
	if err := os.WriteFile(e.slotPath(), nil, 0o600); err != nil {
		return e.flashError(o.Xfer, err)
	}
	if err := e.persist(); err != nil {
		return e.flashError(o.Xfer, err)
	}
	return &msg.FwStatus{Xfer: o.Xfer, State: msg.FwReceiving}
}

func (e *Emulator) flashError(xfer uint32, err error) *msg.FwStatus {
	return &msg.FwStatus{Xfer: xfer, Offset: e.st.Slot.Held, State: msg.FwRejected, Code: msg.CodeFlash, Error: truncate(err.Error())}
}

// chunk writes image bytes (§10.2); it returns a status when one is due.
func (e *Emulator) chunk(c *msg.FwChunk) *msg.FwStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := &e.st.Slot
	if c.Xfer != e.fwXfer || s.SHA == nil || s.Verified {
		return nil // not the transfer in progress: ignore
	}
	end := c.Offset + uint32(len(c.Data))
	switch {
	case end <= s.Held:
		return nil // a retransmission
	case c.Offset != s.Held || end > s.Size:
		return &msg.FwStatus{Xfer: c.Xfer, Offset: s.Held, State: msg.FwReceiving, Code: msg.CodeBadOffset}
	}
	f, err := os.OpenFile(e.slotPath(), os.O_WRONLY|os.O_CREATE, 0o600)
	if err == nil {
		_, err = f.WriteAt(c.Data, int64(c.Offset))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return e.flashError(c.Xfer, err)
	}
	s.Held = end
	e.chunks++
	if s.Held == s.Size {
		return e.verify(c.Xfer)
	}
	if e.chunks >= statusEvery {
		// Progress; and the held count goes to the state file, so a restart
		// resumes near here rather than from 0.
		e.chunks = 0
		if err := syncFile(e.slotPath()); err != nil {
			return e.flashError(c.Xfer, err)
		}
		if err := e.persist(); err != nil {
			return e.flashError(c.Xfer, err)
		}
		return &msg.FwStatus{Xfer: c.Xfer, Offset: s.Held, State: msg.FwReceiving}
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// verify checks the complete slot: SHA-256, then the Ed25519 signature
// over the context string and the hash (§10.1). A failure erases it.
func (e *Emulator) verify(xfer uint32) *msg.FwStatus {
	s := &e.st.Slot
	f, err := os.Open(e.slotPath())
	if err != nil {
		return e.flashError(xfer, err)
	}
	h := sha256.New()
	_, err = io.Copy(h, io.LimitReader(f, int64(s.Size)))
	f.Close()
	if err != nil {
		return e.flashError(xfer, err)
	}
	sum := h.Sum(nil)
	reject := func(code msg.Code, text string) *msg.FwStatus {
		*s = slot{}
		os.WriteFile(e.slotPath(), nil, 0o600) // erase; a failure leaves bytes nobody trusts
		e.persist()
		return &msg.FwStatus{Xfer: xfer, Offset: 0, State: msg.FwRejected, Code: code, Error: text}
	}
	if !bytes.Equal(sum, s.SHA) {
		return reject(msg.CodeBadHash, fmt.Sprintf("image sha-256 %x, offer said %x", sum[:8], s.SHA[:8]))
	}
	if len(e.opts.SigningKey) != ed25519.PublicKeySize || !ed25519.Verify(e.opts.SigningKey, msg.FirmwareSigningInput(sum), s.Sig) {
		return reject(msg.CodeBadSignature, "ed25519 verify failed")
	}
	if err := syncFile(e.slotPath()); err != nil {
		return e.flashError(xfer, err)
	}
	s.Verified = true
	if err := e.persist(); err != nil {
		return e.flashError(xfer, err)
	}
	return &msg.FwStatus{Xfer: xfer, Offset: s.Held, State: msg.FwReady}
}

// activate handles FW_ACTIVATE (§10.3).
func (e *Emulator) activate(a *msg.FwActivate) *msg.FwStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := &e.st
	if a.Confirm {
		if bytes.Equal(st.Running.SHA, a.SHA256) && (st.Image == msg.ImageTesting || st.Image == msg.ImageConfirmed) {
			if st.Image == msg.ImageTesting {
				st.Image, st.Previous, st.Slot = msg.ImageConfirmed, image{}, slot{}
				if err := e.persist(); err != nil {
					return e.flashError(0, err)
				}
			}
			return &msg.FwStatus{State: msg.FwConfirmed}
		}
		return &msg.FwStatus{State: msg.FwRejected, Code: msg.CodeUnknownImage, Error: "not running that image under test"}
	}
	if !st.Slot.Verified || !bytes.Equal(st.Slot.SHA, a.SHA256) {
		return &msg.FwStatus{State: msg.FwRejected, Code: msg.CodeUnknownImage, Error: "no verified image with that hash"}
	}
	st.PendingTest = true
	if err := e.persist(); err != nil {
		st.PendingTest = false
		return e.flashError(0, err)
	}
	select {
	case e.reboot <- struct{}{}:
	default:
	}
	return &msg.FwStatus{Xfer: e.fwXfer, Offset: st.Slot.Held, State: msg.FwRebooting}
}
