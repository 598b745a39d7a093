package rollout

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/officegate/officegate/firmware-bridge/msg"
)

// Image is a firmware image and what FW_OFFER carries with it
// (PROTOCOL.md §10.1).
type Image struct {
	Path    string // where it was read from; reported, not needed again
	Version string
	Data    []byte
	// Signature is Ed25519 over msg.FirmwareSigningInput(SHA256), made
	// with the vendor's firmware signing key.
	Signature []byte
	SHA256    []byte // of Data
}

// SigSuffix names an image's detached signature file: IMAGE + ".sig".
const SigSuffix = ".sig"

// NewImage builds an Image from its parts, computing the hash.
func NewImage(path, version string, data, sig []byte) Image {
	sum := sha256.Sum256(data)
	return Image{Path: path, Version: version, Data: data, Signature: sig, SHA256: sum[:]}
}

// ReadImage reads the image at path and its detached signature at
// path+SigSuffix: 64 raw bytes, or 128 hex digits (surrounding white space
// ignored). The signature is not checked here; Start checks it.
func ReadImage(path, version string) (Image, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Image{}, fmt.Errorf("rollout: image: %w", err)
	}
	raw, err := os.ReadFile(path + SigSuffix)
	if err != nil {
		return Image{}, fmt.Errorf("rollout: image signature: %w", err)
	}
	sig := raw
	if t := bytes.TrimSpace(raw); len(t) == 2*ed25519.SignatureSize {
		if sig, err = hex.DecodeString(string(t)); err != nil {
			return Image{}, fmt.Errorf("rollout: image signature %s: %w", path+SigSuffix, err)
		}
	}
	return NewImage(path, version, data, sig), nil
}

// Verify checks img against the gateway's firmware public key: a version,
// a non-empty body whose hash is SHA256, and a signature over it. The
// error wraps ErrBadSignature when the signature is the problem.
func (img Image) Verify(pub ed25519.PublicKey) error {
	if img.Version == "" {
		return fmt.Errorf("rollout: image %s: no version", img.Path)
	}
	if len(img.Data) == 0 || uint64(len(img.Data)) > 1<<32-1 {
		return fmt.Errorf("rollout: image %s: size %d outside [1, 4 GiB)", img.Path, len(img.Data))
	}
	if sum := sha256.Sum256(img.Data); !bytes.Equal(sum[:], img.SHA256) {
		return fmt.Errorf("rollout: image %s: hash %x does not match its bytes", img.Path, img.SHA256)
	}
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("rollout: firmware public key is %d bytes, need %d", len(pub), ed25519.PublicKeySize)
	}
	if len(img.Signature) != ed25519.SignatureSize {
		return fmt.Errorf("rollout: image %s: signature is %d bytes, need %d: %w", img.Path, len(img.Signature), ed25519.SignatureSize, ErrBadSignature)
	}
	if !ed25519.Verify(pub, msg.FirmwareSigningInput(img.SHA256), img.Signature) {
		return fmt.Errorf("rollout: image %s (%s, sha256 %x): %w", img.Path, img.Version, img.SHA256, ErrBadSignature)
	}
	return nil
}
