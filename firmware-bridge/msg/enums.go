package msg

import "fmt"

// Kind is what sort of device says HELLO (PROTOCOL.md §4.2).
type Kind uint8

const (
	KindOther      Kind = 0
	KindAttendance Kind = 1 // attendance terminal
	KindKiosk      Kind = 2 // reception kiosk
	KindRoomPanel  Kind = 3 // meeting-room panel
)

func (k Kind) String() string {
	switch k {
	case KindOther:
		return "other"
	case KindAttendance:
		return "attendance"
	case KindKiosk:
		return "kiosk"
	case KindRoomPanel:
		return "room-panel"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Caps is a capability bit set (PROTOCOL.md §7). The negotiated set is the
// intersection of what HELLO offers and what the gateway supports.
type Caps uint32

const (
	CapEvents   Caps = 1 << 0 // sends EVENT
	CapCommands Caps = 1 << 1 // accepts COMMAND
	CapTime     Caps = 1 << 2 // answers TIME_REQ
	CapConfig   Caps = 1 << 3 // accepts CONFIG
	CapFirmware Caps = 1 << 4 // accepts FW_* (A/B slots, test boot)
	CapAuth     Caps = 1 << 5 // holds a link key and tags frames
	CapRTC      Caps = 1 << 6 // has a battery-backed clock
	CapSACK     Caps = 1 << 7 // buffers out-of-order frames inside the window
)

// ImageState is the state of the running firmware image, reported in HELLO
// (PROTOCOL.md §10).
type ImageState uint8

const (
	ImageConfirmed ImageState = 0 // running a confirmed image
	ImageTesting   ImageState = 1 // running a test image, not yet confirmed
	ImageReverted  ImageState = 2 // a test image failed; the previous one runs
)

// ClockState says whether a device clock has been set (PROTOCOL.md §8).
type ClockState uint8

const (
	ClockUnset ClockState = 0 // counting from an arbitrary origin since boot
	ClockSet   ClockState = 1 // set by TIME_REQ since boot, or kept by an RTC
)

// Status is the outcome of a COMMAND (PROTOCOL.md §9).
type Status uint8

const (
	StatusOK          Status = 0
	StatusError       Status = 1
	StatusUnsupported Status = 2
	StatusBusy        Status = 3
	StatusExpired     Status = 4
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusError:
		return "error"
	case StatusUnsupported:
		return "unsupported"
	case StatusBusy:
		return "busy"
	case StatusExpired:
		return "expired"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// ConfigState is the outcome of a CONFIG push (PROTOCOL.md §9.3).
type ConfigState uint8

const (
	ConfigApplied   ConfigState = 0
	ConfigUnchanged ConfigState = 1 // same hash as the one in force: no-op
	ConfigRejected  ConfigState = 2
)

// FwState is where a firmware transfer stands on the device (PROTOCOL.md
// §10).
type FwState uint8

const (
	FwIdle      FwState = 0 // no transfer
	FwReceiving FwState = 1 // Offset bytes held, more expected
	FwReady     FwState = 2 // complete, SHA-256 and signature verified
	FwRejected  FwState = 3 // hash or signature wrong, or offer refused; Code says why
	FwRebooting FwState = 4 // about to reboot into the new image
	FwConfirmed FwState = 5 // the running image is now permanent
)

// Code is a protocol error code (PROTOCOL.md §11), carried by CLOSE,
// CONFIG_STATUS, FW_STATUS and HELLO (why an image was reverted). String
// returns the name used in PROTOCOL.md.
type Code uint16

const (
	CodeOK                 Code = 0
	CodeUnsupportedVersion Code = 1
	CodeUnknownType        Code = 2
	CodeMalformed          Code = 3
	CodeInvalid            Code = 4
	CodePending            Code = 5
	CodeRetired            Code = 6
	CodeAuthRequired       Code = 7
	CodeBootRegressed      Code = 8
	CodeBusy               Code = 9
	CodeInternal           Code = 10
	CodeShutdown           Code = 11
	CodeNoSession          Code = 12
	CodeEnrolled           Code = 13
	CodeTooLarge           Code = 20
	CodeBadOffset          Code = 21
	CodeBadHash            Code = 22
	CodeBadSignature       Code = 23
	CodeFlash              Code = 24
	CodeNoSpace            Code = 25
	CodeUnknownImage       Code = 26
	CodeTestBootFailed     Code = 27
	CodeDowngrade          Code = 28
	CodeConfigInvalid      Code = 30
)

var codeNames = map[Code]string{
	CodeOK:                 "ok",
	CodeUnsupportedVersion: "unsupported_version",
	CodeUnknownType:        "unknown_type",
	CodeMalformed:          "malformed",
	CodeInvalid:            "invalid",
	CodePending:            "pending",
	CodeRetired:            "retired",
	CodeAuthRequired:       "auth_required",
	CodeBootRegressed:      "boot_regressed",
	CodeBusy:               "busy",
	CodeInternal:           "internal",
	CodeShutdown:           "shutdown",
	CodeNoSession:          "no_session",
	CodeEnrolled:           "enrolled",
	CodeTooLarge:           "too_large",
	CodeBadOffset:          "bad_offset",
	CodeBadHash:            "bad_hash",
	CodeBadSignature:       "bad_signature",
	CodeFlash:              "flash",
	CodeNoSpace:            "no_space",
	CodeUnknownImage:       "unknown_image",
	CodeTestBootFailed:     "test_boot_failed",
	CodeDowngrade:          "downgrade",
	CodeConfigInvalid:      "config_invalid",
}

func (c Code) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return fmt.Sprintf("code(%d)", uint16(c))
}
