package devices

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
)

// MinKeyLen is the shortest keyed-hash key accepted (card keys, invite
// keys): 128 bits, below which a keyed hash of a 26-bit card space could be
// searched along with the key.
const MinKeyLen = 16

// ReadKey reads a key file: its bytes without one final line ending ("\n" or
// "\r\n"), so a key written with echo works. Shorter than MinKeyLen is an
// error: a missing or short key is a configuration error at start-up, never
// a silent fall-back to clear text.
func ReadKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the key: %w", err)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) < MinKeyLen {
		return nil, fmt.Errorf("key file %q holds %d bytes, need at least %d", path, len(b), MinKeyLen)
	}
	return b, nil
}

// KeyedHash is the lower-case hex HMAC-SHA256 of text under key: what travels
// instead of a card number ("card_hash", MQTT.md §11) or an invite token.
func KeyedHash(key []byte, text string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(text))
	return hex.EncodeToString(m.Sum(nil))
}
