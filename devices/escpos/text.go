package escpos

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// ErrUnprintable is wrapped by the error for a name the printer cannot print as given:
// invalid UTF-8, a character outside the double-byte GB18030 range its Chinese font
// covers, or a name longer than MaxNameRunes. A badge is refused rather than printed
// with a mangled or cut name.
var ErrUnprintable = errors.New("escpos: text cannot be printed")

// Length caps, in characters after cleaning. A name at double size fills one line of an
// 80 mm roll at 24 columns; a longer name is refused, not cut. Other fields are cut.
const (
	MaxNameRunes  = 24
	MaxFieldRunes = 40
)

// clean removes what must never reach the printer: control and format characters
// (C0, DEL, C1, bidi overrides, zero-width joiners, BOM), which could start a command or
// reorder the text. Runs of white space become one space; the ends are trimmed.
func clean(field, s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%w: %s %q is not valid UTF-8", ErrUnprintable, field, s)
	}
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case unicode.In(r, unicode.Cc, unicode.Cf):
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String(), nil
}

// cut shortens s to at most n characters, marking a cut with "...".
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:n-3]), " ") + "..."
}

// appendText appends s as the printer reads it (FORMAT.md, "Text"): ASCII as is; a
// Latin letter of code page PC858 (é, ü, ø, ß, …: European names) as its one byte,
// outside Chinese mode; every run of other characters in GB18030 between FS & (Chinese
// mode on) and FS . (off). Each such character must take exactly two bytes: the
// printer's Chinese font covers the double-byte range (GBK) only. s must already be
// clean.
func appendText(dst []byte, field, s string) ([]byte, error) {
	enc := simplifiedchinese.GB18030.NewEncoder()
	chinese := false
	var buf [8]byte
	for _, r := range s {
		if b, ok := pc858(r); ok {
			if chinese {
				dst = append(dst, cmdChineseOff...)
				chinese = false
			}
			dst = append(dst, b)
			continue
		}
		n := utf8.EncodeRune(buf[:4], r)
		out, err := enc.Bytes(buf[:n])
		if err != nil || len(out) != 2 {
			return dst, fmt.Errorf("%w: %s %q: %q (U+%04X) is not in the printer's double-byte GB18030 font",
				ErrUnprintable, field, s, r, r)
		}
		if !chinese {
			dst = append(dst, cmdChineseOn...)
			chinese = true
		}
		dst = append(dst, out...)
	}
	if chinese {
		dst = append(dst, cmdChineseOff...)
	}
	return dst, nil
}

// pc858 returns the byte of r in code page PC858, for ASCII and the Latin-1 letters
// and signs (U+00A0–U+00FF) and €; false for anything else, which goes to the Chinese
// font or is refused.
func pc858(r rune) (byte, bool) {
	if r < utf8.RuneSelf {
		return byte(r), true
	}
	if (r < 0xA0 || r > 0xFF) && r != '€' {
		return 0, false
	}
	b, ok := charmap.CodePage858.EncodeRune(r)
	return b, ok && b >= 0x80
}
