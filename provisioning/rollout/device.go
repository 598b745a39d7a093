package rollout

import (
	"context"
	"errors"

	"github.com/officegate/officegate/firmware-bridge/msg"
)

// Device is what the orchestrator needs of one device on its link. The
// gateway implements it with Link on the port's *link.Gateway; tests use
// rollouttest.Device.
type Device interface {
	// Transfer puts img in the device's spare slot and returns once the
	// device holds it verified. It must resume from what the device holds
	// (PROTOCOL.md §10.2), so calling it again after an interruption, or
	// for an image the device already holds, is cheap. progress, if the
	// implementation can tell, is called with the bytes the device holds.
	// A refusal by the device wraps ErrRefused.
	Transfer(ctx context.Context, img Image, progress func(held int64)) error
	// TestBoot has the device boot the image sha once and returns when the
	// device is back running it in test state. If its bootloader reverted
	// it, the error wraps ErrReverted.
	TestBoot(ctx context.Context, sha []byte) error
	// Confirm makes the running test image permanent.
	Confirm(ctx context.Context, sha []byte) error
	// Status is what the link knows of the device now.
	Status() DeviceStatus
}

// DeviceStatus is the part of a device's HELLO the orchestrator judges.
type DeviceStatus struct {
	Online   bool
	Firmware string         // version running
	Image    msg.ImageState // confirmed, testing or reverted
	Boot     uint32         // device boot id; a test boot shows as a new one
	Reverted string         // version the bootloader reverted, if Image is reverted
	Reason   string         // why it reverted ("test_boot_failed")
}

// Fleet finds the device a device id names. The gateway resolves the id to
// the link of the port the device is on.
type Fleet interface {
	Device(id string) (Device, error)
}

// FleetFunc adapts a function to Fleet.
type FleetFunc func(id string) (Device, error)

// Device calls f.
func (f FleetFunc) Device(id string) (Device, error) { return f(id) }

var (
	// ErrRefused is wrapped by a Device's errors when the device refused
	// the image or the activation (bad hash, too large, unknown image).
	ErrRefused = errors.New("rollout: refused by device")
	// ErrReverted is wrapped by TestBoot's error when the device's
	// bootloader reverted the test image.
	ErrReverted = errors.New("rollout: test boot reverted")
	// ErrBadSignature is wrapped when an image's signature does not verify
	// with the gateway's firmware key; nothing is sent.
	ErrBadSignature = errors.New("rollout: bad image signature")
	// ErrInRollout is wrapped when a device is already part of an
	// unfinished rollout; the error names it.
	ErrInRollout = errors.New("rollout: device already in a rollout")
	// ErrClosed is returned by Start and Resume after Close.
	ErrClosed = errors.New("rollout: orchestrator closed")
)
