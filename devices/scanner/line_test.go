package scanner_test

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/officegate/officegate/devices/scanner"
)

// lineCases are the table the fuzzer is seeded with: each input is read
// whole, then one byte per read, so every ending is also split across reads.
var lineCases = []struct {
	name string
	in   string
	max  int
	want []string
	cnt  scanner.Counts
}{
	{"lf", "A1\nB2\n", 0, []string{"A1", "B2"}, scanner.Counts{Accepted: 2}},
	{"cr", "A1\rB2\r", 0, []string{"A1", "B2"}, scanner.Counts{Accepted: 2}},
	{"crlf is one ending", "A1\r\nB2\r\n", 0, []string{"A1", "B2"}, scanner.Counts{Accepted: 2}},
	{"mixed", "A\rB\nC\r\nD\n\rE\r\r\n", 0, []string{"A", "B", "C", "D", "E"}, scanner.Counts{Accepted: 5, Empty: 2}},
	{"empty lines", "\n\n\r\n", 0, nil, scanner.Counts{Empty: 3}},
	{"unterminated at eof", "A\nhalf", 0, []string{"A"}, scanner.Counts{Accepted: 1, Unterminated: 1}},
	{"cap is inclusive", "12345\n123456\n1\n", 5, []string{"12345", "1"}, scanner.Counts{Accepted: 2, TooLong: 1}},
	{"too long to eof", "1234567890", 5, nil, scanner.Counts{Unterminated: 1}},
	{"control byte", "ok\nA\x00B\nx\x1dy\nz\x7f\n", 0, []string{"ok"}, scanner.Counts{Accepted: 1, NonPrintable: 3}},
	{"tab", "a\tb\n", 0, nil, scanner.Counts{NonPrintable: 1}},
	{"invalid utf-8", "\xff\xfe\n\xc3\n", 0, nil, scanner.Counts{NonPrintable: 2}},
	{"bidi override", "abc\u202edef\n", 0, nil, scanner.Counts{NonPrintable: 1}},
	{"utf-8 text", "访客 Zoë € ✓\n", 0, []string{"访客 Zoë € ✓"}, scanner.Counts{Accepted: 1}},
	{"url", "https://example.com/i/AbC-123?x=1&y=%20\r", 0, []string{"https://example.com/i/AbC-123?x=1&y=%20"}, scanner.Counts{Accepted: 1}},
	{"binary garbage then a scan", "\x00\x01\x02\xff\x80garbage\nVISIT-42\r\n", 0, []string{"VISIT-42"}, scanner.Counts{Accepted: 1, NonPrintable: 1}},
}

func readAll(t testing.TB, lr *scanner.LineReader) ([]string, error) {
	t.Helper()
	var got []string
	for {
		s, err := lr.Next()
		if err != nil {
			return got, err
		}
		got = append(got, s)
	}
}

func TestLineReader(t *testing.T) {
	for _, tc := range lineCases {
		for _, split := range []string{"whole", "bytewise"} {
			t.Run(tc.name+"/"+split, func(t *testing.T) {
				var r io.Reader = strings.NewReader(tc.in)
				if split == "bytewise" {
					r = iotest.OneByteReader(r)
				}
				lr := scanner.NewLineReader(r, tc.max)
				got, err := readAll(t, lr)
				if err != io.EOF {
					t.Errorf("error %v, want io.EOF", err)
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("lines %q, want %q", got, tc.want)
				}
				if c := lr.Counts(); c != tc.cnt {
					t.Errorf("counts %+v, want %+v", c, tc.cnt)
				}
				if _, err := lr.Next(); err != io.EOF {
					t.Errorf("Next after the end: %v, want io.EOF again", err)
				}
			})
		}
	}
}

// A 10 KB line and endless garbage without an ending must not grow the
// reader's memory past its cap.
func TestLineReaderBoundedMemory(t *testing.T) {
	huge := strings.Repeat("X", 10<<10)
	lr := scanner.NewLineReader(strings.NewReader("first\n"+huge+"\r\nafter\n"), 0)
	got, _ := readAll(t, lr)
	if !slices.Equal(got, []string{"first", "after"}) || lr.Counts().TooLong != 1 {
		t.Fatalf("lines %q counts %+v", got, lr.Counts())
	}

	// 4 MiB of garbage with no ending, generated on the fly: 8000 times the
	// cap, so a reader that buffered it would allocate on every read.
	const total = 4 << 20
	garbage := io.LimitReader(endless{}, total)
	lr = scanner.NewLineReader(garbage, 0)
	allocs := testing.AllocsPerRun(1, func() {
		lr.Reset(io.LimitReader(endless{}, total))
		if _, err := lr.Next(); err != io.EOF {
			t.Fatalf("Next = %v", err)
		}
	})
	if allocs > 10 {
		t.Errorf("%v allocations reading garbage: memory is not bounded", allocs)
	}
	if c := lr.Counts(); c.Unterminated != 2 || c.Total() != 2 {
		t.Errorf("counts %+v, want the garbage counted once per run as unterminated", c)
	}
}

type endless struct{}

func (endless) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return len(b), nil
}

func TestLineReaderErrors(t *testing.T) {
	boom := errors.New("boom")
	lr := scanner.NewLineReader(io.MultiReader(strings.NewReader("ok\npart"), iotest.ErrReader(boom)), 0)
	got, err := readAll(t, lr)
	if !slices.Equal(got, []string{"ok"}) || err != boom {
		t.Fatalf("lines %q err %v", got, err)
	}
	// A reset after an error counts nothing twice and reads the new input.
	lr.Reset(strings.NewReader("\nnext\r"))
	got, err = readAll(t, lr)
	if !slices.Equal(got, []string{"next"}) || err != io.EOF {
		t.Fatalf("after Reset: lines %q err %v", got, err)
	}
	if c := lr.Counts(); c != (scanner.Counts{Accepted: 2, Unterminated: 1, Empty: 1}) {
		t.Errorf("counts %+v", c)
	}
	// A CR at the end of one input does not swallow an LF that starts the
	// next one: they come from different pluggings.
	lr = scanner.NewLineReader(strings.NewReader("a\r"), 0)
	readAll(t, lr)
	lr.Reset(strings.NewReader("\nb\n"))
	readAll(t, lr)
	if c := lr.Counts(); c != (scanner.Counts{Accepted: 2, Empty: 1}) {
		t.Errorf("counts across Reset %+v", c)
	}

	lr = scanner.NewLineReader(iotest.TimeoutReader(strings.NewReader("x")), 0)
	if _, err := readAll(t, lr); err != iotest.ErrTimeout || lr.Counts().Unterminated != 1 {
		t.Errorf("err %v counts %+v, want the reader's error and the line counted unterminated", err, lr.Counts())
	}
	lr = scanner.NewLineReader(zeroReader{}, 0)
	if _, err := lr.Next(); err != io.ErrNoProgress {
		t.Errorf("a reader that never progresses: %v", err)
	}
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func TestPrintable(t *testing.T) {
	for s, want := range map[string]bool{
		"":             true,
		"abc DEF 123":  true,
		"~!@#$%^&*()":  true,
		"\u00a0nbsp":   true, // Zs
		"é\u0301":      true, // a combining mark
		"\ufffd":       true, // an encoded replacement character is text
		"\x1b[2J":      false,
		"a\u0085b":     false, // C1 NEL
		"zero\u200bw":  false, // format (Cf)
		"a\u2028b":     false, // line separator
		"\xed\xa0\x80": false, // a surrogate
		"\xc0\xaf":     false, // overlong
	} {
		if got := scanner.Printable([]byte(s)); got != want {
			t.Errorf("Printable(%q) = %v", s, got)
		}
	}
}

// FuzzLineReader: whatever arrives, in whatever pieces, Next never panics,
// every line it returns is printable and within the cap, and the counters
// add up to the endings seen (plus one for an unfinished last line).
func FuzzLineReader(f *testing.F) {
	for _, tc := range lineCases {
		f.Add([]byte(tc.in), uint16(tc.max), uint8(0))
		f.Add([]byte(tc.in), uint16(tc.max), uint8(1))
	}
	f.Add(bytes.Repeat([]byte{'\r'}, 600), uint16(3), uint8(7))
	f.Fuzz(func(t *testing.T, in []byte, max uint16, chunk uint8) {
		var r io.Reader = bytes.NewReader(in)
		if chunk > 0 {
			r = &chunkReader{b: in, n: int(chunk)}
		}
		lr := scanner.NewLineReader(r, int(max%1024))
		var lines int
		for {
			s, err := lr.Next()
			if err != nil {
				if err != io.EOF {
					t.Fatalf("err %v", err)
				}
				break
			}
			lines++
			if len(s) == 0 || len(s) > lr.Max() || !utf8.ValidString(s) || !scanner.Printable([]byte(s)) {
				t.Fatalf("accepted %q (cap %d)", s, lr.Max())
			}
		}
		c := lr.Counts()
		if c.Accepted != uint64(lines) {
			t.Fatalf("accepted %d, returned %d", c.Accepted, lines)
		}
		endings := bytes.Count(in, []byte{'\n'}) + bytes.Count(in, []byte{'\r'}) - bytes.Count(in, []byte("\r\n"))
		partial := 0
		if len(in) > 0 && in[len(in)-1] != '\n' && in[len(in)-1] != '\r' {
			partial = 1
		}
		if c.Total() != uint64(endings+partial) {
			t.Fatalf("counts %+v add up to %d; %d endings and %d unfinished line", c, c.Total(), endings, partial)
		}
	})
}

// chunkReader returns b in reads of at most n bytes.
type chunkReader struct {
	b []byte
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.n)], r.b)
	r.b = r.b[n:]
	return n, nil
}
