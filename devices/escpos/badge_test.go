package escpos

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestAppendBadge(t *testing.T) {
	head := "\x1B\x40\x1C\x2E\x1B\x74\x13\x1B\x61\x01\x1B\x45\x01" // init, Chinese off, PC858, centre, bold
	name := func(s string) string { return "\x1D\x21\x11" + s + "\n\x1D\x21\x00\x1B\x45\x00" }
	cut := "\x1D\x56\x42\x00"
	for _, tc := range []struct {
		what string
		b    Badge
		want string
	}{
		{"name only", Badge{Name: "Ada"}, head + name("Ada") + cut},
		{"title", Badge{Title: "VISITOR", Name: "Ada"}, head + "VISITOR\n" + name("Ada") + cut},
		{"all text", Badge{Name: "Ada", Company: "Acme", Host: "Bob", Date: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
			head + name("Ada") + "Acme\nHost: Bob\n2026-01-02 03:04\n" + cut},
		{"chinese name", Badge{Name: "张伟"}, head + name("\x1C\x26\xD5\xC5\xCE\xB0\x1C\x2E") + cut},
		{"mixed name", Badge{Name: "Wei 张"}, head + name("Wei \x1C\x26\xD5\xC5\x1C\x2E") + cut},
		{"pinyin tone marks are in GBK", Badge{Name: "Lǚ"}, head + name("L\x1C\x26\xA8\xB7\x1C\x2E") + cut},
		{"latin-1 names in PC858", Badge{Name: "Søren Müller"}, head + name("S\x9Bren M\x81ller") + cut},
		{"latin and chinese", Badge{Name: "José 张"}, head + name("Jos\x82 \x1C\x26\xD5\xC5\x1C\x2E") + cut},
		{"controls removed", Badge{Name: "A\x1B@\x00B\u202Ec\u200B"}, head + name("A@Bc") + cut},
		{"spaces folded and trimmed", Badge{Name: "  Ada\t\n Lovelace "}, head + name("Ada Lovelace") + cut},
		{"empty fields skipped", Badge{Name: "Ada", Company: " \x07 ", Host: ""}, head + name("Ada") + cut},
		{"long company cut", Badge{Name: "Ada", Company: strings.Repeat("x", 50)},
			head + name("Ada") + strings.Repeat("x", MaxFieldRunes-3) + "...\n" + cut},
		{"qr", Badge{Name: "Ada", QR: "AB"}, head + name("Ada") + "\n" +
			"\x1D\x28\x6B\x04\x00\x31\x41\x32\x00" +
			"\x1D\x28\x6B\x03\x00\x31\x43\x06" +
			"\x1D\x28\x6B\x03\x00\x31\x45\x31" +
			"\x1D\x28\x6B\x05\x00\x31\x50\x30AB" +
			"\x1D\x28\x6B\x03\x00\x31\x51\x30\n" + cut},
	} {
		got, err := AppendBadge([]byte("prefix"), tc.b, nil)
		if err != nil {
			t.Errorf("%s: %v", tc.what, err)
			continue
		}
		if want := "prefix" + tc.want; string(got) != want {
			t.Errorf("%s:\n got % X\nwant % X", tc.what, got, want)
		}
	}
}

func TestAppendBadgeRefuses(t *testing.T) {
	for _, tc := range []struct {
		what string
		b    Badge
		opts *Options
		want error
	}{
		{"empty name", Badge{Name: " \x1B "}, nil, ErrUnprintable},
		{"invalid UTF-8", Badge{Name: "Ada\xff"}, nil, ErrUnprintable},
		{"emoji", Badge{Name: "Ada 😀"}, nil, ErrUnprintable},
		{"four-byte GB18030", Badge{Name: "𠀀"}, nil, ErrUnprintable},
		{"letter in neither PC858 nor GBK", Badge{Name: "Łukasz"}, nil, ErrUnprintable},
		{"name too long", Badge{Name: strings.Repeat("张", MaxNameRunes+1)}, nil, ErrUnprintable},
		{"unprintable host", Badge{Name: "Ada", Host: "Łukasz"}, nil, ErrUnprintable},
		{"qr control byte", Badge{Name: "Ada", QR: "a\nb"}, nil, ErrBadQR},
		{"qr non-ASCII", Badge{Name: "Ada", QR: "张"}, nil, ErrBadQR},
		{"qr too long", Badge{Name: "Ada", QR: strings.Repeat("a", MaxQRBytes+1)}, nil, ErrBadQR},
		{"qr too wide", Badge{Name: "Ada", QR: strings.Repeat("a", MaxQRBytes)}, &Options{ModuleSize: 16}, ErrBadQR},
		{"module size", Badge{Name: "Ada"}, &Options{ModuleSize: 17}, ErrBadOptions},
		{"width", Badge{Name: "Ada"}, &Options{Width: 100}, ErrBadOptions},
	} {
		dst := []byte("prefix")
		got, err := AppendBadge(dst, tc.b, tc.opts)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v; want %v", tc.what, err, tc.want)
		}
		if !bytes.Equal(got, dst) {
			t.Errorf("%s: dst changed to %q", tc.what, got)
		}
	}
}

// Every badge the encoder accepts renders, and its text reaches the printer whole.
func TestAppendBadgeLimits(t *testing.T) {
	b := Badge{Name: strings.Repeat("张", MaxNameRunes), Company: strings.Repeat("公", 60),
		Host: strings.Repeat("W", 60), QR: strings.Repeat("a", MaxQRBytes), Date: time.Now()}
	for _, o := range []*Options{nil, {Width: Width80mm, ModuleSize: 9}} {
		s, err := AppendBadge(nil, b, o)
		if err != nil {
			t.Fatal(err)
		}
		w := Width58mm
		if o != nil {
			w = o.Width
		}
		if _, err := (Renderer{Width: w}).Render(s); err != nil {
			t.Errorf("%+v: %v", o, err)
		}
	}
}
