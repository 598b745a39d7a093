package escpos

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"path/filepath"
	"strings"
	"testing"
)

func TestRenderChineseBadgePNG(t *testing.T) {
	g := goldenBadges[1]
	stream, err := AppendBadge(nil, g.badge, g.opts)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Renderer{Width: Width80mm}.render(stream)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WritePNG(&buf, p.img); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("the PNG does not decode: %v", err)
	}
	if w := img.Bounds().Dx(); w != Width80mm {
		t.Errorf("width %d; want %d", w, Width80mm)
	}
	if len(p.qrs) != 1 {
		t.Fatalf("%d QR codes drawn; want 1", len(p.qrs))
	}
	// The code drawn is the encoder's matrix for the stored data at level M, at the
	// stored module size, centred, with white above it (the quiet zone the encoder feeds).
	want, err := qrMatrix([]byte(g.badge.QR), ecM)
	if err != nil {
		t.Fatal(err)
	}
	r, m := p.qrs[0], g.opts.ModuleSize
	if r.Dx() != want.Size*m || r.Dy() != want.Size*m {
		t.Fatalf("QR region %v; want %d modules of %d dots", r, want.Size, m)
	}
	if left, right := r.Min.X, Width80mm-r.Max.X; left-right > 1 || right-left > 1 {
		t.Errorf("QR region %v is not centred", r)
	}
	for y := 0; y < want.Size; y++ {
		for x := 0; x < want.Size; x++ {
			for _, d := range []image.Point{{0, 0}, {m - 1, m - 1}} { // a module's corners
				px := r.Min.Add(image.Pt(x*m, y*m)).Add(d)
				black := grayAt(img, px) == 0
				if black != want.Black(x, y) {
					t.Fatalf("module (%d,%d) at %v: black %v; want %v", x, y, px, black, want.Black(x, y))
				}
			}
		}
	}
	for y := r.Min.Y - 4*m; y < r.Min.Y; y++ {
		for x := range Width80mm {
			if grayAt(img, image.Pt(x, y)) == 0 {
				t.Fatalf("dot (%d,%d) in the QR code's quiet zone", x, y)
			}
		}
	}
}

func grayAt(img image.Image, p image.Point) uint8 {
	r, _, _, _ := img.At(p.X, p.Y).RGBA()
	return uint8(r >> 8)
}

// A double-byte character is a box two ASCII cells wide; double size doubles both.
func TestRenderCellWidths(t *testing.T) {
	for _, tc := range []struct {
		stream string
		ink    []int // columns of the first text row that must have ink: box edges
		blank  []int
	}{
		{"\x1C\x26\xD5\xC5\x1C\x2E\n", []int{2, 21}, []int{1, 22}},
		{"\x1D\x21\x11\x1C\x26\xD5\xC5\x1C\x2E\n", []int{4, 43}, []int{3, 44}},
	} {
		p, err := Renderer{}.render([]byte(tc.stream))
		if err != nil {
			t.Fatal(err)
		}
		top := 2 * (1 + strings.Count(tc.stream[:3], "\x1D\x21\x11")) // the box's top edge
		for _, x := range tc.ink {
			if p.img.GrayAt(x, top).Y != 0 {
				t.Errorf("% X: no ink at (%d,%d)", tc.stream, x, top)
			}
		}
		for _, x := range tc.blank {
			if p.img.GrayAt(x, top).Y == 0 {
				t.Errorf("% X: ink at (%d,%d)", tc.stream, x, top)
			}
		}
	}
}

func TestRenderRefuses(t *testing.T) {
	for _, tc := range []struct {
		stream string
		off    int
		want   error
	}{
		{"AB\x1B\x21\x00", 2, ErrUnsupported},           // ESC ! (print mode): not ours
		{"AB\r\n", 2, ErrUnsupported},                   // CR
		{"\x10\x04\x01", 0, ErrUnsupported},             // a status request is not a print
		{"A\xD5\xC5", 1, ErrUnsupported},                // GB18030 outside Chinese mode
		{"\x1C\x26\xD5", 2, ErrTruncated},               // half a character
		{"\x1C\x26\x81\x30\x81\x30", 2, ErrUnsupported}, // four-byte GB18030
		{"\x1B\x61\x07", 0, ErrBadArgument},
		{"\x1B\x61", 0, ErrTruncated},
		{"\x1D\x21\x88", 0, ErrBadArgument},
		{"\x1D\x28\x6B\x03\x00\x32\x43\x06", 0, ErrUnsupported},     // PDF417
		{"\x1D\x28\x6B\x04\x00\x31\x41\x31\x00", 0, ErrUnsupported}, // model 1
		{"\x1D\x28\x6B\x03\x00\x31\x43\x11", 0, ErrBadArgument},     // module 17
		{"\x1D\x28\x6B\x03\x00\x31\x43", 0, ErrTruncated},
		{"\x1D\x28\x6B\xFF\xFF\x31\x50\x30", 0, ErrBadArgument}, // store 65532 bytes
		{"\x1D\x28\x6B\x03\x00\x31\x51\x30", 0, ErrBadArgument}, // print with nothing stored
		{"\x1D\x28\x6B\x03\x00\x31\x43\x10\x1D\x28\x6B\x17\x00\x31\x50\x30" + strings.Repeat("a", 20) + "\x1D\x28\x6B\x03\x00\x31\x51\x30", 36, ErrTooLarge}, // 25 modules of 16 dots
		{"\x1D\x56\x07", 0, ErrBadArgument},
		{strings.Repeat("\n", DefaultMaxHeight/lineSpacing+1), DefaultMaxHeight / lineSpacing, ErrTooLarge},
	} {
		_, err := Render([]byte(tc.stream))
		var se *StreamError
		if !errors.As(err, &se) || !errors.Is(err, tc.want) || se.Offset != tc.off {
			t.Errorf("% X: %v; want %v at offset %d", tc.stream, err, tc.want, tc.off)
		}
	}
}

func TestRenderOptions(t *testing.T) {
	for _, r := range []Renderer{{Width: 100}, {Width: 2000}, {MaxHeight: -1}} {
		if _, err := r.Render(nil); !errors.Is(err, ErrBadOptions) {
			t.Errorf("%+v: %v; want ErrBadOptions", r, err)
		}
	}
	img, err := Renderer{Width: Width80mm}.Render(nil)
	if err != nil || img.Bounds().Dx() != Width80mm {
		t.Errorf("empty stream: %v, %v", img, err)
	}
}

func FuzzRender(f *testing.F) {
	for _, g := range goldenBadges {
		f.Add(readHex(f, filepath.Join("testdata", g.file)))
	}
	f.Add([]byte("\x1D\x21\x77\x1C\x26\xD5\xC5\xD5\xC5\xD5\xC5\x1C\x2E\n\x1B\x61\x32x\n\x1D\x56\x41\xFF"))
	f.Add([]byte("\x1D\x28\x6B\x03\x00\x31\x43\x01\x1D\x28\x6B\x06\x00\x31\x50\x30abc\x1D\x28\x6B\x03\x00\x31\x51\x30"))
	f.Fuzz(func(t *testing.T, stream []byte) {
		r := Renderer{MaxHeight: 2048}
		img, err := r.Render(stream)
		if err != nil {
			var se *StreamError
			if !errors.As(err, &se) || se.Offset < 0 || se.Offset >= len(stream) {
				t.Fatalf("error %v has no offset in the stream", err)
			}
			return
		}
		if b := img.Bounds(); b.Dx() != Width58mm || b.Dy() > r.MaxHeight || b.Dy() < 1 {
			t.Fatalf("image %v", b)
		}
	})
}

// TestRenderLatin: a European name in code page PC858 renders (its letters outside
// the preview's ASCII font as boxes of one cell each).
func TestRenderLatin(t *testing.T) {
	b, err := AppendBadge(nil, Badge{Title: "VISITOR", Name: "Søren Müller", Host: "José Núñez"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	img, err := Render(b)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	if img.Bounds().Dx() != Width58mm {
		t.Errorf("width %d", img.Bounds().Dx())
	}
	// Bytes 0x80–0xFF outside Chinese mode are text only after ESC t 19.
	raw := []byte{0x1B, 0x40, 0x81, 0x0A}
	if _, err := Render(raw); !errors.Is(err, ErrUnsupported) {
		t.Errorf("a code-page byte without ESC t 19: %v", err)
	}
}
