package csvimport_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/officegate/officegate/internal/csvimport"
)

var file = csvimport.File{Header: "a,b", Max: 64, Noun: "list"}

func read(t *testing.T, in string) (recs, probs []string, err error) {
	t.Helper()
	err = csvimport.Read(strings.NewReader(in), file, func(line int, rec []string) {
		recs = append(recs, fmt.Sprintf("%d:%s", line, strings.Join(rec, "|")))
	}, func(line int, reason string) {
		probs = append(probs, fmt.Sprintf("%d:%s", line, reason))
	})
	return recs, probs, err
}

func TestRead(t *testing.T) {
	for _, tc := range []struct {
		name        string
		in          string
		recs, probs []string
	}{
		{"records", "a,b\n1,2\n3\n", []string{"2:1|2", "3:3"}, nil},
		{"byte order mark", "\ufeffa,b\n1,2\n", []string{"2:1|2"}, nil},
		{"quoted field over two lines", "a,b\n\"x\ny\",2\n5,6\n", []string{"2:x\ny|2", "4:5|6"}, nil},
		{"empty", "", nil, []string{`1:empty list: want the header "a,b"`}},
		{"wrong header", "a,c\n1,2\n", nil, []string{`1:header is "a,c", want "a,b"`}},
		{"broken header", "a\"x,b\n1,2\n", nil, []string{`1:bare " in non-quoted-field`}},
		{"broken line, then good", "a,b\n1\"x,2\n3,4\n", []string{"3:3|4"}, []string{`2:bare " in non-quoted-field`}},
		{"unterminated quote ends the file", "a,b\n1,2\n\"3,4\n5,6\n", []string{"2:1|2"}, []string{`3:extraneous or missing " in quoted-field`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, probs, err := read(t, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(recs, tc.recs) || !reflect.DeepEqual(probs, tc.probs) {
				t.Errorf("records %q problems %q, want %q %q", recs, probs, tc.recs, tc.probs)
			}
		})
	}
}

func TestReadTooLong(t *testing.T) {
	in := "a,b\n" + strings.Repeat("1,2\n", 16) // 68 bytes > 64
	recs, probs, err := read(t, in)
	if !errors.Is(err, csvimport.ErrTooLong) || recs != nil || probs != nil {
		t.Fatalf("err %v records %q problems %q, want ErrTooLong and nothing read", err, recs, probs)
	}
	if _, _, err := read(t, in[:64]); err != nil {
		t.Fatalf("a file of exactly Max bytes: %v", err)
	}
}

func TestReadError(t *testing.T) {
	boom := errors.New("boom")
	err := csvimport.Read(iotest.ErrReader(boom), file, func(int, []string) { t.Error("record called") }, func(int, string) { t.Error("problem called") })
	if !errors.Is(err, boom) {
		t.Fatalf("err %v, want the reader's", err)
	}
}
