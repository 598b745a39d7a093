package escpos

import (
	"fmt"

	"rsc.io/qr"
)

// QR code parameters (FORMAT.md, "QR code").
const (
	DefaultModuleSize = 6 // dots per module: a 29-module code is 22 mm wide at 8 dots/mm
	MaxModuleSize     = 16
	// MaxQRBytes caps the QR data: 200 bytes need version 10 at level M, 57 modules,
	// which fits a 58 mm roll at the default module size.
	MaxQRBytes = 200
)

// The error correction levels of GS ( k fn 69, 48–51, are L, M, Q, H: the order of qr.Level.
const (
	ecBase = 48
	ecM    = ecBase + byte(qr.M)
)

// qrMatrix encodes data as the printer does: model 2, the smallest version that holds
// it at the level. The printer may choose another mask; the code reads the same.
func qrMatrix(data []byte, ec byte) (*qr.Code, error) {
	c, err := qr.Encode(string(data), qr.Level(ec-ecBase))
	if err != nil {
		return nil, fmt.Errorf("escpos: QR code of %d bytes: %w", len(data), err)
	}
	return c, nil
}

// Printable widths Options and Renderer accept, in dots.
const (
	minWidth = 128
	maxWidth = 1024
)
