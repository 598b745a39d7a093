package cbormode_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/officegate/officegate/internal/cbormode"
)

// TestOneSetup fails when a non-test file of the module builds its own
// fxamacker/cbor mode or uses the library's package-level defaults (which
// accept duplicate keys, tags and indefinite lengths): every CBOR byte goes
// through the modes of this package.
func TestOneSetup(t *testing.T) {
	forbidden := map[string]bool{
		"EncOptions": true, "DecOptions": true, "CoreDetEncOptions": true,
		"CanonicalEncOptions": true, "CTAP2EncOptions": true, "PreferredUnsortedEncOptions": true,
		"Marshal": true, "Unmarshal": true, "UnmarshalFirst": true,
		"NewEncoder": true, "NewDecoder": true, "Valid": true, "Wellformed": true,
	}
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "testdata" || n == "cbormode") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		name := ""
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == "github.com/fxamacker/cbor/v2" {
				name = "cbor"
				if imp.Name != nil {
					name = imp.Name.Name
				}
			}
		}
		if name == "" {
			return nil
		}
		files++
		ast.Inspect(f, func(n ast.Node) bool {
			if s, ok := n.(*ast.SelectorExpr); ok {
				if x, ok := s.X.(*ast.Ident); ok && x.Name == name && forbidden[s.Sel.Name] {
					t.Errorf("%s: cbor.%s: use the modes of internal/cbormode", fset.Position(s.Pos()), s.Sel.Name)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatal("no file imports fxamacker/cbor: the check checks nothing")
	}
}

func TestHostileRules(t *testing.T) {
	dm := cbormode.MustHostile(cbormode.Limits{MaxNestedLevels: 4, MaxArrayElements: 16, MaxMapPairs: 16})
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"duplicate key", []byte{0xa2, 0x61, 'a', 0x01, 0x61, 'a', 0x02}},
		{"indefinite array", []byte{0x9f, 0x01, 0xff}},
		{"tag", []byte{0xc1, 0x01}},
		{"invalid utf-8", []byte{0x61, 0xff}},
		{"array beyond the limit", append([]byte{0x91}, make([]byte, 17)...)},
		{"nested beyond the limit", []byte{0x81, 0x81, 0x81, 0x81, 0x81, 0x01}},
		{"map with integer keys into any", []byte{0xa1, 0x01, 0x02}},
	} {
		var v any
		if err := dm.Unmarshal(tc.in, &v); err == nil {
			t.Errorf("%s: % x decoded to %v, want an error", tc.name, tc.in, v)
		}
	}
	var v any
	if err := dm.Unmarshal([]byte{0xa1, 0x61, 'a', 0x01}, &v); err != nil {
		t.Fatalf("a text-keyed map: %v", err)
	}
	if _, ok := v.(map[string]any); !ok {
		t.Errorf("a text-keyed map decoded to %T, want map[string]any", v)
	}
}

func TestLimitsOutOfRange(t *testing.T) {
	if _, err := cbormode.Hostile(cbormode.Limits{MaxArrayElements: 1}); err == nil {
		t.Error("Hostile accepted MaxArrayElements 1, below the library's minimum of 16")
	}
	defer func() {
		if recover() == nil {
			t.Error("MustHostile did not panic on MaxMapPairs 1")
		}
	}()
	cbormode.MustHostile(cbormode.Limits{MaxMapPairs: 1})
}

func TestTrustedTakesLargeStateFiles(t *testing.T) {
	m := make(map[string]uint32, 1<<17)
	for i := range 1 << 17 {
		m[strconv.Itoa(i)] = uint32(i)
	}
	b, err := cbormode.Enc.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]uint32
	if err := cbormode.Trusted.Unmarshal(b, &back); err != nil {
		t.Fatalf("Trusted refused a %d-entry map: %v", len(m), err)
	}
	if len(back) != len(m) {
		t.Errorf("decoded %d entries, want %d", len(back), len(m))
	}
}

// TestAppendHeadIsEnc: the hand-written head is Enc's, at every boundary of
// the shortest form, for an unsigned integer (major 0), a negative one
// (major 1: -1-arg) and a text string's length (major 3).
func TestAppendHeadIsEnc(t *testing.T) {
	for _, v := range []uint64{0, 23, 24, 255, 256, 65535, 65536, 1<<32 - 1, 1 << 32, 1<<63 + 5} {
		want, err := cbormode.Enc.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if got := cbormode.AppendHead(nil, 0, v); string(got) != string(want) {
			t.Errorf("AppendHead(0, %d) = % x, Enc gives % x", v, got, want)
		}
		if v < 1<<63 {
			want, _ = cbormode.Enc.Marshal(-1 - int64(v))
			if got := cbormode.AppendHead(nil, 1, v); string(got) != string(want) {
				t.Errorf("AppendHead(1, %d) = % x, Enc gives % x", v, got, want)
			}
		}
		if v <= 70000 {
			s := strings.Repeat("a", int(v))
			want, _ = cbormode.Enc.Marshal(s)
			if got := append(cbormode.AppendHead(nil, 3, v), s...); string(got) != string(want) {
				t.Errorf("AppendHead(3, %d) differs from Enc's string head", v)
			}
		}
	}
}
