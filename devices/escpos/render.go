package escpos

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"

	"rsc.io/qr"
)

// ErrTooLarge is wrapped by the error for a stream whose print would be taller than the
// renderer's MaxHeight, or a QR code wider than the paper.
var ErrTooLarge = errors.New("escpos: print too large")

// DefaultMaxHeight bounds a preview at about a metre of paper: Render reads untrusted
// bytes and must not be talked into an image of any size.
const DefaultMaxHeight = 8192

// Geometry of the printer's Font A at 8 dots/mm, which the preview imitates.
const (
	cellW       = 12 // an ASCII character
	wideW       = 24 // a double-byte character
	cellH       = 24
	lineSpacing = 30 // ESC 2, the default: 1/6 inch on a 180 dpi head
	cutFeed     = 24 // paper fed past the cutter before GS V 66 n adds its n dots
)

// Renderer draws a preview of a stream as the printer would print it.
type Renderer struct {
	Width     int // printable dots: Width58mm, Width80mm or any of 128–1024; 0 means Width58mm
	MaxHeight int // dots; 0 means DefaultMaxHeight
}

// Render draws stream on a 58 mm roll (Renderer{}.Render).
func Render(stream []byte) (image.Image, error) { return Renderer{}.Render(stream) }

// Render interprets stream, the dialect AppendBadge emits (FORMAT.md, "Commands"), and
// draws it: printable ASCII in a 5×7 font, each double-byte character as a full-width box,
// QR codes from their stored data at their module size, cuts as a dashed line. Any other
// byte or command is a *StreamError naming its offset.
func (r Renderer) Render(stream []byte) (image.Image, error) {
	p, err := r.render(stream)
	if err != nil {
		return nil, err
	}
	return p.img, nil
}

// WritePNG writes img as a PNG file.
func WritePNG(w io.Writer, img image.Image) error {
	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("escpos: write PNG: %w", err)
	}
	return nil
}

// page is a rendered stream; qrs are where its QR codes are, for tests.
type page struct {
	img *image.Gray
	qrs []image.Rectangle
}

// item is one thing to draw, placed by layout before anything is drawn, so that the image
// is allocated once at its final height.
type item struct {
	x, y   int
	w, h   int // cell size in dots
	sx, sy int // magnification
	ch     rune
	wide   bool
	bold   bool
	code   *qr.Code // a QR code of module size sx
	cut    bool
}

// layout is the print state: modes set by commands, the line being built, the paper
// position, and everything placed so far.
type layout struct {
	width, maxH int
	align       int // 0 left, 1 centre, 2 right
	bold        bool
	sx, sy      int
	module, ec  int
	qrData      []byte
	qrCode      *qr.Code // qrData encoded at ec, built at the first print
	line        []item   // x relative to the line's start, y unset
	lineW       int
	y           int
	items       []item
	qrs         []image.Rectangle
}

func (r Renderer) render(stream []byte) (*page, error) {
	l := &layout{width: r.Width, maxH: r.MaxHeight}
	if l.width == 0 {
		l.width = Width58mm
	}
	if l.maxH == 0 {
		l.maxH = DefaultMaxHeight
	}
	if l.width < minWidth || l.width > maxWidth || l.maxH < 1 {
		return nil, fmt.Errorf("%w: renderer width %d, max height %d", ErrBadOptions, l.width, l.maxH)
	}
	l.reset()
	s := &scanner{b: stream}
	for {
		t, ok, err := s.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if err := l.apply(t); err != nil {
			return nil, &StreamError{Offset: t.off, Err: err}
		}
	}
	// Text without a final LF stays in the printer's buffer, unprinted; so in the preview.
	return l.draw(), nil
}

// reset is ESC @: modes back to their power-on values, the buffer cleared.
func (l *layout) reset() {
	l.align, l.bold, l.sx, l.sy = 0, false, 1, 1
	l.module, l.ec = 3, int(ecBase)+int(qr.L) // Epson's defaults for GS ( k
	l.qrData, l.qrCode = nil, nil
	l.line, l.lineW = l.line[:0], 0
}

func (l *layout) apply(t token) error {
	switch t.op {
	case opText:
		return l.char(rune(t.arg), t.wide)
	case opLineFeed:
		return l.feed()
	case opInit:
		l.reset()
	case opChineseOn, opChineseOff, opQRModel, opCodePage:
		// Chinese mode is the scanner's; model 2 is the only model read.
	case opAlign:
		l.align = t.arg % 48
	case opBold:
		l.bold = t.arg&1 != 0
	case opSize:
		l.sx, l.sy = t.arg>>4+1, t.arg&7+1
	case opQRModule:
		l.module = t.arg
	case opQREC:
		l.ec, l.qrCode = t.arg, nil
	case opQRStore:
		l.qrData, l.qrCode = t.data, nil
	case opQRPrint:
		return l.printQR()
	case opCut:
		if err := l.flush(); err != nil {
			return err
		}
		return l.advance(cutFeed+t.arg, item{cut: true, y: l.y + cutFeed + t.arg})
	}
	return nil
}

// char adds a character to the line, printing the line first when it is full.
func (l *layout) char(r rune, wide bool) error {
	w := cellW
	if wide {
		w = wideW
	}
	w *= l.sx
	if l.lineW+w > l.width {
		if err := l.flush(); err != nil {
			return err
		}
	}
	l.line = append(l.line, item{x: l.lineW, w: w, h: cellH * l.sy, sx: l.sx, sy: l.sy, ch: r, wide: wide, bold: l.bold})
	l.lineW += w
	return nil
}

// feed is LF: print the line, or feed one line when it is empty.
func (l *layout) feed() error {
	if len(l.line) == 0 {
		return l.advance(lineSpacing)
	}
	return l.flush()
}

// flush prints the line: aligned, characters sitting on one baseline, the paper moved by
// the line spacing or the tallest character if taller.
func (l *layout) flush() error {
	if len(l.line) == 0 {
		return nil
	}
	h := 0
	for _, it := range l.line {
		h = max(h, it.h)
	}
	x0 := l.indent(l.lineW)
	for _, it := range l.line {
		it.x += x0
		it.y = l.y + h - it.h
		l.items = append(l.items, it)
	}
	l.line, l.lineW = l.line[:0], 0
	return l.advance(max(h, lineSpacing))
}

func (l *layout) indent(w int) int {
	switch l.align {
	case 1:
		return (l.width - w) / 2
	case 2:
		return l.width - w
	}
	return 0
}

// advance moves the paper by dy dots, placing its items; past MaxHeight is an error.
func (l *layout) advance(dy int, its ...item) error {
	if l.y+dy > l.maxH {
		return fmt.Errorf("%w: over %d dots tall", ErrTooLarge, l.maxH)
	}
	l.items = append(l.items, its...)
	l.y += dy
	return nil
}

// printQR prints the stored data as a QR code at the current position, after the line.
func (l *layout) printQR() error {
	if err := l.flush(); err != nil {
		return err
	}
	if len(l.qrData) == 0 {
		return fmt.Errorf("%w: QR print with no data stored", ErrBadArgument)
	}
	// The largest code is 177 modules: whether it could fit comes before the encoding,
	// which is the costly part of an untrusted stream.
	if 21*l.module > l.width {
		return fmt.Errorf("%w: QR module size %d on %d dots", ErrTooLarge, l.module, l.width)
	}
	if l.qrCode == nil {
		c, err := qrMatrix(l.qrData, byte(l.ec))
		if err != nil {
			return fmt.Errorf("%w: %w", ErrBadArgument, err)
		}
		l.qrCode = c
	}
	side := l.qrCode.Size * l.module
	if side > l.width {
		return fmt.Errorf("%w: QR code of %d modules at %d dots is wider than %d", ErrTooLarge, l.qrCode.Size, l.module, l.width)
	}
	x := l.indent(side)
	l.qrs = append(l.qrs, image.Rect(x, l.y, x+side, l.y+side))
	return l.advance(side, item{x: x, y: l.y, code: l.qrCode, sx: l.module})
}

// draw rasterises the placed items on white paper.
func (l *layout) draw() *page {
	img := image.NewGray(image.Rect(0, 0, l.width, max(l.y, 1)))
	for i := range img.Pix {
		img.Pix[i] = 0xFF
	}
	for _, it := range l.items {
		switch {
		case it.cut:
			for x := 0; x < l.width; x += 8 {
				fill(img, x, it.y-1, 4, 2)
			}
		case it.code != nil:
			m := it.sx
			for y := 0; y < it.code.Size; y++ {
				for x := 0; x < it.code.Size; x++ {
					if it.code.Black(x, y) {
						fill(img, it.x+x*m, it.y+y*m, m, m)
					}
				}
			}
		case it.wide || it.ch >= 0x80:
			box(img, it)
		default:
			glyph(img, it)
		}
	}
	return &page{img: img, qrs: l.qrs}
}

// glyph draws an ASCII character: each dot of the 5×7 font as 2×2 dots, magnified,
// centred in its cell; emphasis strikes it again one dot to the right.
func glyph(img *image.Gray, it item) {
	g := font5x7[it.ch-0x20]
	dx, dy := 2*it.sx, 2*it.sy
	x0, y0 := it.x+it.sx, it.y+5*it.sy
	for col, bits := range g {
		for row := 0; row < 7; row++ {
			if bits&(1<<row) == 0 {
				continue
			}
			fill(img, x0+col*dx, y0+row*dy, dx, dy)
			if it.bold {
				fill(img, x0+col*dx+it.sx, y0+row*dy, dx, dy)
			}
		}
	}
}

// box draws a double-byte character as a crossed box filling its cell: the preview has
// no Chinese font, and a box shows where the printer will put a character, and how wide.
func box(img *image.Gray, it item) {
	x0, y0 := it.x+2*it.sx, it.y+2*it.sy
	w, h := it.w-4*it.sx, it.h-4*it.sy
	t := it.sx
	if it.bold {
		t *= 2
	}
	fill(img, x0, y0, w, t)
	fill(img, x0, y0+h-t, w, t)
	fill(img, x0, y0, t, h)
	fill(img, x0+w-t, y0, t, h)
	for i := 0; i < w; i++ {
		y := i * h / w
		fill(img, x0+i, y0+y, 1, it.sy)
		fill(img, x0+i, y0+h-1-y-it.sy+1, 1, it.sy)
	}
}

func fill(img *image.Gray, x, y, w, h int) {
	r := image.Rect(x, y, x+w, y+h).Intersect(img.Rect)
	for yy := r.Min.Y; yy < r.Max.Y; yy++ {
		for xx := r.Min.X; xx < r.Max.X; xx++ {
			img.SetGray(xx, yy, color.Gray{})
		}
	}
}
