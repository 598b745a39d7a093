package link

import (
	"context"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

// KeyStore is implemented by a Directory that takes part in key agreement
// (PROTOCOL.md §6.7): when Lookup says Keying and the device offered its
// enrollment key, the gateway agrees a link key with it and stores it here,
// durably, before it tells the device. From the device's next HELLO on,
// Lookup returns Enrolled with that key.
type KeyStore interface {
	SetKey(ctx context.Context, hardwareID string, k Key) error
}

// keyInfo is the HKDF info of §6.7, before the epoch.
const keyInfo = "officegate link key v1"

// agreeKey derives the link key of §6.7 from this end's X25519 private key
// and the peer's public key, bound to the device's hardware id and the key's
// epoch. A low-order peer key (an all-zero shared secret) is an error.
func agreeKey(priv *ecdh.PrivateKey, peerPub []byte, hardwareID string, epoch uint16) (*Key, error) {
	pub, err := ecdh.X25519().NewPublicKey(peerPub)
	if err != nil {
		return nil, fmt.Errorf("link: enrollment key: %w", err)
	}
	shared, err := priv.ECDH(pub)
	if err != nil {
		return nil, fmt.Errorf("link: enrollment key: %w", err)
	}
	info := keyInfo + string([]byte{byte(epoch >> 8), byte(epoch)})
	secret, err := hkdf.Key(sha256.New, shared, []byte(hardwareID), info, frame.KeyLen)
	if err != nil {
		return nil, fmt.Errorf("link: deriving the link key: %w", err)
	}
	return &Key{Epoch: epoch, Secret: secret}, nil
}

// errNoKeyStore: the Directory said Keying but cannot store a key.
var errNoKeyStore = errors.New("link: the directory said keying but stores no keys")

// offerKey is the gateway's half of §6.7, run by the worker: a fresh X25519
// key pair, the agreed key stored through ks, and the CLOSE enrolled offer.
func offerKey(ctx context.Context, ks KeyStore, h *msg.Hello, prev *Key) (*msg.Enroll, error) {
	priv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("link: enrollment key pair: %w", err)
	}
	epoch := uint16(1)
	if prev != nil {
		epoch = prev.Epoch + 1
	}
	k, err := agreeKey(priv, h.EnrollPub, h.HardwareID, epoch)
	if err != nil {
		return nil, err
	}
	if err := ks.SetKey(ctx, h.HardwareID, *k); err != nil {
		return nil, fmt.Errorf("link: storing the key of %q: %w", h.HardwareID, err)
	}
	return &msg.Enroll{Pub: priv.PublicKey().Bytes(), Epoch: epoch}, nil
}
