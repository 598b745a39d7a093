package gateway

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// codeName is a name docs/ARCHITECTURE.md gives in backticks: a package by
// its path in the module, then a top-level name, then perhaps a member (a
// method, a field or an interface method): `gateway/intake.Intake.build`.
var codeName = regexp.MustCompile("`((?:firmware-bridge|devices|gateway|provisioning|internal)(?:/[a-z0-9_-]+)*)\\.([A-Za-z_][A-Za-z0-9_]*)(?:\\.([A-Za-z_][A-Za-z0-9_]*))?`")

// TestArchitectureNamesExist checks that every function, method and type
// docs/ARCHITECTURE.md names along the data path exists, so the document
// cannot go on describing a path the code no longer takes.
func TestArchitectureNamesExist(t *testing.T) {
	root := moduleRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "docs", "ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	names := codeName.FindAllStringSubmatch(string(b), -1)
	if len(names) < 20 {
		t.Fatalf("found %d names in ARCHITECTURE.md: the pattern is wrong", len(names))
	}
	pkgs := map[string]*declared{}
	for _, m := range names {
		dir, top, member := m[1], m[2], m[3]
		d := pkgs[dir]
		if d == nil {
			d = declarations(t, filepath.Join(root, dir))
			pkgs[dir] = d
		}
		switch {
		case !d.top[top]:
			t.Errorf("ARCHITECTURE.md names %s, but package %s declares no %s", m[0], dir, top)
		case member != "" && !d.members[top+"."+member]:
			t.Errorf("ARCHITECTURE.md names %s, but %s has no method or field %s", m[0], top, member)
		}
	}
}

// declared is what a package declares: its top-level names, and its types'
// methods, fields and interface methods as "Type.member".
type declared struct {
	top, members map[string]bool
}

func declarations(t *testing.T, dir string) *declared {
	t.Helper()
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, dir, func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	if err != nil {
		t.Fatalf("parse %s: %v", dir, err)
	}
	d := &declared{top: map[string]bool{}, members: map[string]bool{}}
	for _, p := range pkgs {
		for _, f := range p.Files {
			for _, decl := range f.Decls {
				switch x := decl.(type) {
				case *ast.FuncDecl:
					if x.Recv == nil {
						d.top[x.Name.Name] = true
						continue
					}
					typ := x.Recv.List[0].Type
					if s, ok := typ.(*ast.StarExpr); ok {
						typ = s.X
					}
					if id, ok := typ.(*ast.Ident); ok {
						d.members[id.Name+"."+x.Name.Name] = true
					}
				case *ast.GenDecl:
					for _, spec := range x.Specs {
						switch s := spec.(type) {
						case *ast.ValueSpec:
							for _, n := range s.Names {
								d.top[n.Name] = true
							}
						case *ast.TypeSpec:
							d.top[s.Name.Name] = true
							var fields *ast.FieldList
							switch tt := s.Type.(type) {
							case *ast.StructType:
								fields = tt.Fields
							case *ast.InterfaceType:
								fields = tt.Methods
							}
							if fields == nil {
								continue
							}
							for _, fl := range fields.List {
								for _, n := range fl.Names {
									d.members[s.Name.Name+"."+n.Name] = true
								}
							}
						}
					}
				}
			}
		}
	}
	if len(d.top) == 0 {
		t.Fatalf("%s declares nothing: not a package of the module", dir)
	}
	return d
}
