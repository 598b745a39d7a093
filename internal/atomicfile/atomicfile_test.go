package atomicfile_test

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/officegate/officegate/internal/atomicfile"
)

// TestOneWriter fails when a non-test file of the module writes a temporary
// file of its own (os.CreateTemp, the first step of a hand-rolled atomic
// replace): replacing a file goes through this package.
func TestOneWriter(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "testdata" || n == "atomicfile") {
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
		files++
		ast.Inspect(f, func(n ast.Node) bool {
			if s, ok := n.(*ast.SelectorExpr); ok {
				if x, ok := s.X.(*ast.Ident); ok && x.Name == "os" && s.Sel.Name == "CreateTemp" {
					t.Errorf("%s: os.CreateTemp: replace files with internal/atomicfile", fset.Position(s.Pos()))
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
		t.Fatal("no Go file found: the check checks nothing")
	}
}

func TestWrite(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    atomicfile.Durability
		perm os.FileMode
	}{
		{"durable", atomicfile.Durable, 0o600},
		{"content only", atomicfile.ContentOnly, 0o640},
		{"unsynced", atomicfile.Unsynced, 0o600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "state")
			for _, data := range [][]byte{[]byte("old"), []byte("new content")} {
				if err := atomicfile.Write(path, data, tc.perm, tc.d); err != nil {
					t.Fatal(err)
				}
				got, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, data) {
					t.Errorf("read %q, want %q", got, data)
				}
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != tc.perm {
				t.Errorf("mode %v, want %v", st.Mode().Perm(), tc.perm)
			}
			ents, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(ents) != 1 {
				t.Errorf("directory holds %d entries, want only the file: %v", len(ents), ents)
			}
		})
	}
}

func TestWriteMissingDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gone", "state")
	err := atomicfile.Write(path, []byte("x"), 0o600, atomicfile.Durable)
	if err == nil || !strings.Contains(err.Error(), "gone") {
		t.Errorf("Write into a missing directory = %v, want an error naming it", err)
	}
}
