package devices

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/officegate/officegate/internal/atomicfile"
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

// SiteKeyFile is the site card key the gateway makes in its state
// directory when no key file is configured, so that card numbers are
// hashed from the first start on: no clear card number leaves the gateway.
const SiteKeyFile = "card.key"

// LoadOrCreateKey reads the key file at path (as ReadKey), first creating it
// if it does not exist: 32 bytes from rnd (nil: crypto/rand) written as 64
// hex digits and a line ending, mode 0600, durably. created says it was
// made now. A key file that group or others may read is refused, as the
// registry's key store is: a leaked key turns every card hash back into a
// card number within milliseconds.
func LoadOrCreateKey(path string, rnd io.Reader) (key []byte, created bool, err error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if rnd == nil {
			rnd = rand.Reader
		}
		b := make([]byte, 32)
		if _, err := io.ReadFull(rnd, b); err != nil {
			return nil, false, fmt.Errorf("making the card key %s: %w", path, err)
		}
		if err := atomicfile.WriteFile(path, []byte(hex.EncodeToString(b)+"\n"), 0o600); err != nil {
			return nil, false, fmt.Errorf("making the card key: %w", err)
		}
		created = true
	case err != nil:
		return nil, false, fmt.Errorf("card key: %w", err)
	case fi.Mode().Perm()&0o077 != 0:
		return nil, false, fmt.Errorf("card key %s has mode %04o: it must be 0600 (chmod 600 it after checking who read it)", path, fi.Mode().Perm())
	}
	key, err = ReadKey(path)
	return key, created, err
}
