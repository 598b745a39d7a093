package frame

import (
	"bytes"
	"fmt"
	"slices"
)

// COBS (Consistent Overhead Byte Stuffing, Cheshire & Baker 1999) as in
// PROTOCOL.md §2.1. The encoding never contains 0x00, so 0x00 can delimit
// frames and a receiver resynchronises at the next 0x00 after line noise.
//
// Invariants:
//   - len(AppendEncode(nil, s)) <= MaxEncodedLen(len(s)).
//   - AppendDecode(nil, AppendEncode(nil, s)) == s for every s.
//   - A block that ends exactly at the end of the input after 254 non-zero
//     bytes (code 0xFF) is not followed by an empty block; this is the
//     canonical form of the paper and of most C implementations.

// maxRun is the longest run of non-zero bytes one COBS code byte can cover.
const maxRun = 254

// MaxEncodedLen returns an upper bound on the COBS encoding of n bytes,
// excluding the 0x00 delimiter: one code byte per started run of 254 bytes,
// and one even for empty input.
func MaxEncodedLen(n int) int {
	return n + n/maxRun + 1
}

// AppendEncode appends the COBS encoding of src to dst and returns the
// extended slice. It does not append the 0x00 delimiter.
func AppendEncode(dst, src []byte) []byte {
	dst = slices.Grow(dst, MaxEncodedLen(len(src)))
	codeAt := len(dst)
	dst = append(dst, 0) // placeholder for the first code byte
	code := byte(1)
	for i, b := range src {
		if b == 0 {
			dst[codeAt] = code
			codeAt = len(dst)
			dst = append(dst, 0)
			code = 1
			continue
		}
		dst = append(dst, b)
		code++
		if code == 0xFF {
			dst[codeAt] = code
			if i == len(src)-1 {
				// Canonical form: no empty block after a full one at the end.
				return dst
			}
			codeAt = len(dst)
			dst = append(dst, 0)
			code = 1
		}
	}
	dst[codeAt] = code
	return dst
}

// AppendDecode appends the decoding of the COBS-encoded src (without its
// delimiter) to dst. It never panics; on malformed input it returns dst
// unchanged beyond what was decoded and an error wrapping ErrBadCOBS.
func AppendDecode(dst, src []byte) ([]byte, error) {
	for i := 0; i < len(src); {
		code := src[i]
		if code == 0 {
			return dst, newError(ReasonBadCOBS, fmt.Sprintf("zero byte at offset %d", i))
		}
		i++
		n := int(code) - 1
		if n > len(src)-i {
			return dst, newError(ReasonBadCOBS, fmt.Sprintf("code 0x%02x at offset %d runs past the end (%d bytes left)", code, i-1, len(src)-i))
		}
		run := src[i : i+n]
		if z := bytes.IndexByte(run, 0); z >= 0 {
			return dst, newError(ReasonBadCOBS, fmt.Sprintf("zero byte at offset %d", i+z))
		}
		dst = append(dst, run...)
		i += n
		if code != 0xFF && i < len(src) {
			dst = append(dst, 0)
		}
	}
	return dst, nil
}
