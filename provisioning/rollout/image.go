package rollout

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/officegate/officegate/firmware-bridge/msg"
)

// Image is a firmware image and what FW_OFFER carries with it
// (PROTOCOL.md §10.1).
type Image struct {
	Path    string // its name in the firmware directory; reported, not needed again
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

// ErrNoImage is the one error for a firmware name that does not lead to a
// regular file inside the image directory: missing, elsewhere, through
// "..", through a symlink leading out, a FIFO, a device. It is the same
// for all of them so that the answer tells nothing about files outside the
// directory (whether /etc/shadow exists, say).
var ErrNoImage = errors.New("rollout: no such image in the firmware directory")

// maxSignature bounds a signature file: 64 raw bytes, or 128 hex digits
// with some white space.
const maxSignature = 1 << 10

// DefaultMaxImage is the image cap when Images names none: microcontroller
// firmware for the office devices is a few hundred KiB to a few MiB, so
// 16 MiB leaves room while a wrong file is refused unread.
const DefaultMaxImage = 16 << 20

// Images is the one directory firmware images are taken from
// (provisioning.firmware_dir), and the largest image it gives.
type Images struct {
	Dir      string
	MaxBytes int64 // ≤ 0: DefaultMaxImage
}

// Read reads the image name and its detached signature, name+SigSuffix: 64
// raw bytes, or 128 hex digits (surrounding white space ignored). name is
// a path relative to Dir, or an absolute path under it; it may not hold
// "..". Only regular files inside Dir are read, never through a symlink
// leading out of it; anything else is ErrNoImage. Files are opened without
// blocking (a FIFO cannot stall the caller) and their size is checked
// against MaxBytes before a byte is read; the read itself is bounded too,
// so a file growing meanwhile is refused, not followed. The signature is not
// checked here; Start checks it.
func (im Images) Read(name, version string) (Image, error) {
	if im.MaxBytes <= 0 {
		im.MaxBytes = DefaultMaxImage
	}
	rel, ok := im.local(name)
	if !ok {
		return Image{}, fmt.Errorf("%w: %q", ErrNoImage, name)
	}
	root, err := os.OpenRoot(im.Dir)
	if err != nil {
		return Image{}, fmt.Errorf("rollout: firmware directory %s: %w", im.Dir, err)
	}
	defer root.Close()
	data, err := readRegular(root, rel, im.MaxBytes)
	switch {
	case errors.Is(err, errTooBig):
		return Image{}, fmt.Errorf("rollout: image %q: larger than the cap of %d bytes (provisioning.firmware_max_size)", name, im.MaxBytes)
	case err != nil:
		return Image{}, fmt.Errorf("%w: %q", ErrNoImage, name)
	case len(data) == 0:
		return Image{}, fmt.Errorf("rollout: image %q: empty", name)
	}
	raw, err := readRegular(root, rel+SigSuffix, maxSignature)
	if err != nil {
		return Image{}, fmt.Errorf("rollout: image %q: no usable signature %q beside it in the firmware directory", name, filepath.Base(rel)+SigSuffix)
	}
	sig := raw
	if t := bytes.TrimSpace(raw); len(t) == 2*ed25519.SignatureSize {
		if sig, err = hex.DecodeString(string(t)); err != nil {
			return Image{}, fmt.Errorf("rollout: image signature %q: %w", name+SigSuffix, err)
		}
	}
	return NewImage(rel, version, data, sig), nil
}

// local turns name into a path relative to Dir, lexically: false if it is
// empty, holds a NUL or a ".." element, or is absolute and not under Dir.
// Symlinks are the root's to refuse when the file is opened.
func (im Images) local(name string) (string, bool) {
	if name == "" || strings.ContainsRune(name, 0) || slices.Contains(strings.Split(filepath.ToSlash(name), "/"), "..") {
		return "", false
	}
	if filepath.IsAbs(name) {
		dir, err := filepath.Abs(im.Dir)
		if err != nil {
			return "", false
		}
		if name, err = filepath.Rel(dir, name); err != nil {
			return "", false
		}
	}
	name = filepath.Clean(name)
	return name, filepath.IsLocal(name) && name != "."
}

var errTooBig = errors.New("too big")

// readRegular reads the regular file name inside root, at most max bytes
// (errTooBig beyond). The root resolves every element without leaving it;
// O_NONBLOCK makes opening a FIFO return at once, and fstat refuses it (and
// devices, directories, sockets) before any read.
func readRegular(root *os.Root, name string, max int64) ([]byte, error) {
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", name)
	}
	if fi.Size() > max {
		return nil, errTooBig
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, errTooBig
	}
	return data, nil
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
