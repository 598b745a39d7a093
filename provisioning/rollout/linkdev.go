package rollout

import (
	"context"
	"errors"
	"fmt"

	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

// LinkDevice is a Device on a gateway link (firmware-bridge/link).
type LinkDevice struct {
	G *link.Gateway
}

var _ Device = LinkDevice{}

// Link returns the Device for the device on g's port.
func Link(g *link.Gateway) LinkDevice { return LinkDevice{G: g} }

// Transfer sends img with link.Gateway.Transfer, which resumes from the
// offset the device reports (§10.2). The link does not report chunk
// progress, so progress is not called; the orchestrator reports the start
// and the end of the transfer.
func (d LinkDevice) Transfer(ctx context.Context, img Image, _ func(int64)) error {
	err := d.G.Transfer(ctx, link.Image{Data: img.Data, Version: img.Version, Signature: img.Signature, SHA: img.SHA256})
	return linkErr(err)
}

// TestBoot is link.Gateway.TestBoot; a revert wraps ErrReverted whatever
// code the bootloader gave.
func (d LinkDevice) TestBoot(ctx context.Context, sha []byte) error {
	err := d.G.TestBoot(ctx, sha)
	if err == nil || ctx.Err() != nil {
		return err
	}
	if st := d.G.Status(); errors.Is(err, link.ErrRolledBack) || st.Image == msg.ImageReverted {
		return fmt.Errorf("%w: %w", ErrReverted, err)
	}
	return linkErr(err)
}

// Confirm is link.Gateway.Confirm.
func (d LinkDevice) Confirm(ctx context.Context, sha []byte) error {
	return linkErr(d.G.Confirm(ctx, sha))
}

// Status maps the link's status.
func (d LinkDevice) Status() DeviceStatus {
	st := d.G.Status()
	ds := DeviceStatus{Online: st.Online, Firmware: st.Firmware, Image: st.Image, Boot: st.Boot, Reverted: st.Reverted}
	if st.Image == msg.ImageReverted {
		ds.Reason = st.RevertCode.String()
	}
	return ds
}

func linkErr(err error) error {
	if err != nil && errors.Is(err, link.ErrRejected) {
		return fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return err
}

func imageName(s msg.ImageState) string {
	switch s {
	case msg.ImageConfirmed:
		return "confirmed"
	case msg.ImageTesting:
		return "testing"
	case msg.ImageReverted:
		return "reverted"
	}
	return fmt.Sprintf("image state %d", s)
}
