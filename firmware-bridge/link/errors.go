package link

import (
	"errors"
	"fmt"

	"github.com/officegate/officegate/firmware-bridge/msg"
)

var (
	// ErrBusy is returned (wrapped) by a Sink or a device Handler that cannot
	// take a record now. The link answers BUSY and does not acknowledge it:
	// the peer keeps the record and sends it again later (PROTOCOL.md §5.5).
	ErrBusy = errors.New("link: busy")
	// ErrRunning is returned by Run when another Run of the same link is
	// still active: one link serves one port at a time.
	ErrRunning = errors.New("link: already running")
	// ErrRejected is wrapped by the errors of firmware and configuration
	// calls the device refused; see *RejectError for the code.
	ErrRejected = errors.New("link: rejected by device")
	// ErrRolledBack is wrapped by TestBoot's error when the device's
	// bootloader reverted the test image (PROTOCOL.md §10.3).
	ErrRolledBack = errors.New("link: test boot rolled back")
	// ErrClosed is wrapped by the error of a call the gateway could not
	// complete because the device's enrollment refused it (pending,
	// retired) or another device took the port.
	ErrClosed = errors.New("link: session closed")
	// ErrUnanswered is wrapped, beside the context's error, by the error of
	// a Send whose context ended after the command went to the device and
	// before its result came back: the device may have run it.
	ErrUnanswered = errors.New("link: sent to the device, no result yet")
)

// RejectError is a refusal by the device, with the protocol code (§11).
type RejectError struct {
	What string   // "firmware 1.5.0", "config 3245358a…"
	Code msg.Code // why
	Text string   // the device's explanation, if any
}

func (e *RejectError) Error() string {
	s := fmt.Sprintf("link: %s rejected by device: %v", e.What, e.Code)
	if e.Text != "" {
		s += ": " + e.Text
	}
	return s
}

// Is makes errors.Is(err, ErrRejected) and errors.Is(err, ErrRolledBack)
// (for test_boot_failed) match.
func (e *RejectError) Is(target error) bool {
	return target == ErrRejected || (target == ErrRolledBack && e.Code == msg.CodeTestBootFailed)
}
