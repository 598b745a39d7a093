// Package cbormode owns the module's fxamacker/cbor modes: one encoder, two decoders.
//
// Every CBOR byte the module writes comes from Enc, and every byte it reads
// goes through a mode built here, so the rules are set in one place:
//
//   - Enc is RFC 8949 §4.2.1 core deterministic encoding (shortest integers,
//     sorted map keys): equal values give equal bytes, so hashes of encoded
//     configurations and golden frames are stable.
//   - Hostile(limits) decodes bytes an adversary or a damaged disk may have
//     shaped (device frames, MQTT payloads, journal records). Duplicate map
//     keys, indefinite lengths, tags and invalid UTF-8 are errors; free-form
//     maps decode as map[string]any (a map with other key types is an error:
//     everything decoded may be rendered as JSON). The caller gives the size
//     limits, because they belong to its format (PROTOCOL.md §4.1 for frames).
//   - Trusted decodes bytes this program wrote itself and a checksum vouched
//     for (state files): the same rules, with limits only a bug could reach.
//
// The modes are immutable and safe for concurrent use. Building one validates
// its options; a failure is a programming error (a limit out of the library's
// range), so the Must forms panic at package initialisation, where every test
// of the calling package sees it, rather than leaving a nil mode behind.
package cbormode

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"

	"github.com/fxamacker/cbor/v2"
)

// Limits bound the work and memory one Unmarshal may spend. The library
// refuses limits below its minimums (MaxNestedLevels 4, MaxArrayElements 16,
// MaxMapPairs 16).
type Limits struct {
	MaxNestedLevels  int // the outermost array or map is level 1
	MaxArrayElements int // any array header
	MaxMapPairs      int // any map header
}

var (
	// Enc is the one encoder: core deterministic.
	Enc = mustEnc()
	// Trusted decodes checksummed bytes of our own. A state file may hold a
	// million entries (a marks file has one per device ever seen); the
	// checksum, not a limit, is what guards it.
	Trusted = MustHostile(Limits{MaxNestedLevels: 32, MaxArrayElements: 1 << 20, MaxMapPairs: 1 << 20})
)

func mustEnc() cbor.EncMode {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(fmt.Sprintf("cbormode: building the encode mode: %v", err))
	}
	return em
}

// Hostile returns a decode mode for untrusted bytes with limits l; a zero
// field means the library's default for it.
func Hostile(l Limits) (cbor.DecMode, error) {
	dm, err := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		IndefLength:      cbor.IndefLengthForbidden,
		TagsMd:           cbor.TagsForbidden,
		MaxNestedLevels:  l.MaxNestedLevels,
		MaxArrayElements: l.MaxArrayElements,
		MaxMapPairs:      l.MaxMapPairs,
		// Unknown struct fields are ignored (PROTOCOL.md §4.1: must-ignore).
		ExtraReturnErrors: cbor.ExtraDecErrorNone,
		DefaultMapType:    reflect.TypeFor[map[string]any](),
		UTF8:              cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		return nil, fmt.Errorf("cbormode: decode mode with limits %+v: %w", l, err)
	}
	return dm, nil
}

// MustHostile is Hostile for package-level variables; it panics on limits the
// library refuses.
func MustHostile(l Limits) cbor.DecMode {
	dm, err := Hostile(l)
	if err != nil {
		panic(err)
	}
	return dm
}

// AppendHead appends a CBOR data item head (RFC 8949 §3) of the major type
// major (0–7) with the argument arg, in its shortest form (§4.2.1), as Enc
// would write it: for the hand-written encoders of the hot paths (journal
// marks, envelope bodies, the bench's frames), which must give Enc's bytes.
func AppendHead(dst []byte, major byte, arg uint64) []byte {
	m := major << 5
	switch {
	case arg < 24:
		return append(dst, m|byte(arg))
	case arg <= math.MaxUint8:
		return append(dst, m|24, byte(arg))
	case arg <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, m|25), uint16(arg))
	case arg <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, m|26), uint32(arg))
	}
	return binary.BigEndian.AppendUint64(append(dst, m|27), arg)
}
