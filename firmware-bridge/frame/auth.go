package frame

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// KeyLen is the size of a per-device link key (PROTOCOL.md §2.5).
const KeyLen = 32

// Auth is what a sender needs to tag a frame and a receiver needs to check
// one (PROTOCOL.md §2.5): the device's link key, the epoch naming it, and
// the session the frame belongs to. The boot ids bind a tag to one session,
// so a frame recorded in an earlier session fails its MAC when replayed.
type Auth struct {
	Epoch       uint16
	Key         []byte // KeyLen bytes, issued at enrollment
	DeviceBoot  uint32
	GatewayBoot uint32 // 0 until WELCOME; handshake frames always use 0
}

// context returns the 8 bytes prepended to the MAC input for frames of
// type t.
func (a *Auth) context(t Type) [8]byte {
	var c [8]byte
	binary.BigEndian.PutUint32(c[0:], a.DeviceBoot)
	if !t.Handshake() {
		binary.BigEndian.PutUint32(c[4:], a.GatewayBoot)
	}
	return c
}

// tag computes the truncated HMAC-SHA256 over context ‖ covered, where
// covered is the frame from its version byte through the key epoch.
func (a *Auth) tag(t Type, covered []byte) ([TagLen]byte, error) {
	var out [TagLen]byte
	if len(a.Key) != KeyLen {
		return out, newError(ReasonBadMAC, fmt.Sprintf("key is %d bytes, need %d", len(a.Key), KeyLen))
	}
	m := hmac.New(sha256.New, a.Key)
	c := a.context(t)
	m.Write(c[:])
	m.Write(covered)
	var sum [sha256.Size]byte
	copy(out[:], m.Sum(sum[:0]))
	return out, nil
}

// Verify checks f's tag against auth. A frame without a tag, with another
// key epoch, or with a wrong tag fails with an error wrapping ErrBadMAC.
func (f *Frame) Verify(auth *Auth) error {
	if f.Flags&FlagAuth == 0 {
		return newError(ReasonBadMAC, fmt.Sprintf("%v has no tag, key epoch %d is in force", f.Type, auth.Epoch))
	}
	if f.KeyEpoch != auth.Epoch {
		return newError(ReasonBadMAC, fmt.Sprintf("%v tagged with key epoch %d, expected %d", f.Type, f.KeyEpoch, auth.Epoch))
	}
	var buf [MaxLen]byte
	raw, err := AppendRaw(buf[:0], *f, nil)
	if err != nil {
		return err
	}
	want, err := auth.tag(f.Type, raw[:len(raw)-CRCLen-TagLen])
	if err != nil {
		return err
	}
	if !hmac.Equal(want[:], f.Tag[:]) {
		return newError(ReasonBadMAC, fmt.Sprintf("%v seq %d: tag mismatch (key epoch %d)", f.Type, f.Seq, f.KeyEpoch))
	}
	return nil
}
