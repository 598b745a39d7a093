package escpos

import (
	"errors"
	"fmt"
	"time"
)

// Commands the encoder emits (FORMAT.md, "Commands"). Render reads exactly these.
var (
	cmdInit             = []byte{0x1B, 0x40}       // ESC @: initialise, clears the buffer and modes
	cmdChineseOn        = []byte{0x1C, 0x26}       // FS &: Chinese (double-byte) mode on
	cmdChineseOff       = []byte{0x1C, 0x2E}       // FS .: Chinese mode off
	cmdCodePage858      = []byte{0x1B, 0x74, 0x13} // ESC t 19: code page PC858 (Latin-1 and €) for bytes 0x80–0xFF
	cmdCentre           = []byte{0x1B, 0x61, 0x01} // ESC a 1
	cmdBoldOn           = []byte{0x1B, 0x45, 0x01} // ESC E 1
	cmdBoldOff          = []byte{0x1B, 0x45, 0x00} // ESC E 0
	cmdDoubleSize       = []byte{0x1D, 0x21, 0x11} // GS ! 0x11: double width and height
	cmdNormalSize       = []byte{0x1D, 0x21, 0x00} // GS ! 0
	cmdQRModel2         = []byte{0x1D, 0x28, 0x6B, 0x04, 0x00, 0x31, 0x41, 0x32, 0x00}
	cmdQRPrint          = []byte{0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30}
	cmdFeedPartCut      = []byte{0x1D, 0x56, 0x42, 0x00} // GS V 66 0: feed to the cutter, partial cut
	lineFeed       byte = 0x0A
)

var (
	// ErrBadQR is wrapped by the error for QR data the badge cannot carry.
	ErrBadQR = errors.New("escpos: invalid QR data")
	// ErrBadOptions is wrapped by the error for invalid Options.
	ErrBadOptions = errors.New("escpos: invalid options")
)

// Badge is what a visitor's badge shows. Only Name is required.
type Badge struct {
	Title   string    // a heading such as "VISITOR" or "访客"; optional
	Name    string    // printed emphasised at double size; refused, never cut, if unprintable
	Company string    // optional
	Host    string    // whom the visitor sees; printed as "Host: …"; optional
	Date    time.Time // printed as 2006-01-02 15:04 in its own location; zero: not printed
	// QR is the code's content: printable ASCII, at most MaxQRBytes; empty: no code.
	// Make it an opaque visit token, not the visitor's details: badges end up in bins.
	QR string
}

// Paper widths in dots at 8 dots/mm.
const (
	Width58mm = 384
	Width80mm = 576
)

// Options shape the byte stream; a nil *Options means the defaults.
type Options struct {
	// ModuleSize is the QR module size in dots, 1–16; 0 means DefaultModuleSize.
	ModuleSize int
	// Width is the printable width in dots, 128–1024; 0 means Width58mm. The encoder
	// refuses a QR code that would not fit it.
	Width int
}

func (o *Options) withDefaults() (Options, error) {
	var v Options
	if o != nil {
		v = *o
	}
	if v.ModuleSize == 0 {
		v.ModuleSize = DefaultModuleSize
	}
	if v.Width == 0 {
		v.Width = Width58mm
	}
	if v.ModuleSize < 1 || v.ModuleSize > MaxModuleSize {
		return v, fmt.Errorf("%w: module size %d: want 1–%d", ErrBadOptions, v.ModuleSize, MaxModuleSize)
	}
	if v.Width < minWidth || v.Width > maxWidth {
		return v, fmt.Errorf("%w: width %d dots: want %d–%d", ErrBadOptions, v.Width, minWidth, maxWidth)
	}
	return v, nil
}

// AppendBadge appends the ESC/POS stream that prints b and cuts the paper to dst
// (FORMAT.md, "Badge"). On error it returns dst unchanged: nothing half-built is sent.
func AppendBadge(dst []byte, b Badge, opts *Options) ([]byte, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return dst, err
	}
	name, err := clean("name", b.Name)
	if err != nil {
		return dst, err
	}
	if name == "" {
		return dst, fmt.Errorf("%w: empty name %q", ErrUnprintable, b.Name)
	}
	if n := len([]rune(name)); n > MaxNameRunes {
		return dst, fmt.Errorf("%w: name %q has %d characters, more than %d", ErrUnprintable, name, n, MaxNameRunes)
	}
	if err := checkQR(b.QR, o); err != nil {
		return dst, err
	}
	out := append(dst, cmdInit...)
	out = append(out, cmdChineseOff...) // some printers power up in Chinese mode
	out = append(out, cmdCodePage858...)
	out = append(out, cmdCentre...)
	line := func(field, s, prefix string) error {
		s, err := clean(field, s)
		if err != nil || s == "" {
			return err
		}
		out = append(out, prefix...)
		out, err = appendText(out, field, cut(s, MaxFieldRunes))
		out = append(out, lineFeed)
		return err
	}
	out = append(out, cmdBoldOn...) // for the title and the name
	if err := line("title", b.Title, ""); err != nil {
		return dst, err
	}
	out = append(out, cmdDoubleSize...)
	if out, err = appendText(out, "name", name); err != nil {
		return dst, err
	}
	out = append(out, lineFeed)
	out = append(out, cmdNormalSize...)
	out = append(out, cmdBoldOff...)
	if err := line("company", b.Company, ""); err != nil {
		return dst, err
	}
	if err := line("host", b.Host, "Host: "); err != nil {
		return dst, err
	}
	if !b.Date.IsZero() {
		out = append(out, b.Date.Format("2006-01-02 15:04")...)
		out = append(out, lineFeed)
	}
	if b.QR != "" {
		out = appendQR(out, []byte(b.QR), o.ModuleSize)
	}
	return append(out, cmdFeedPartCut...), nil
}

// appendQR appends a blank line (the code's quiet zone above; the cut feed gives the one
// below), the four GS ( k functions that set up, store and print the code, and a line feed.
func appendQR(dst, data []byte, module int) []byte {
	dst = append(dst, lineFeed)
	dst = append(dst, cmdQRModel2...)
	dst = append(dst, 0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x43, byte(module))
	dst = append(dst, 0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x45, ecM)
	n := len(data) + 3 // pL pH count cn, fn and m too
	dst = append(dst, 0x1D, 0x28, 0x6B, byte(n), byte(n>>8), 0x31, 0x50, 0x30)
	dst = append(dst, data...)
	dst = append(dst, cmdQRPrint...)
	return append(dst, lineFeed)
}

// checkQR refuses QR data that is not printable ASCII, too long, or too wide for the
// paper at the module size.
func checkQR(s string, o Options) error {
	if s == "" {
		return nil
	}
	if len(s) > MaxQRBytes {
		return fmt.Errorf("%w: %d bytes, more than %d", ErrBadQR, len(s), MaxQRBytes)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7E {
			return fmt.Errorf("%w: byte 0x%02X at %d of %q is not printable ASCII", ErrBadQR, s[i], i, s)
		}
	}
	c, err := qrMatrix([]byte(s), ecM)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadQR, err)
	}
	if w := c.Size * o.ModuleSize; w > o.Width {
		return fmt.Errorf("%w: %d modules of %d dots are %d dots, wider than the paper's %d",
			ErrBadQR, c.Size, o.ModuleSize, w, o.Width)
	}
	return nil
}
