package gateway

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"
)

// maxSynopsis is the longest first sentence a package comment may have: one
// sentence that says what the package owns fits on a line of go doc's
// listing; the details belong in the sentences after it.
const maxSynopsis = 100

// TestPackageDocs checks every package of the module: it has a package
// comment whose first sentence (go doc's synopsis) is at most maxSynopsis
// characters.
func TestPackageDocs(t *testing.T) {
	checked := 0
	for _, dir := range goDirs(t) {
		fset := token.NewFileSet()
		pkgs, err := parser.ParseDir(fset, dir, func(fi fs.FileInfo) bool {
			return !strings.HasSuffix(fi.Name(), "_test.go")
		}, parser.ParseComments|parser.PackageClauseOnly)
		if err != nil {
			t.Fatalf("parse %s: %v", dir, err)
		}
		for name, p := range pkgs {
			checked++
			text := packageComment(p)
			if text == "" {
				t.Errorf("%s (package %s) has no package comment", rel(dir), name)
				continue
			}
			var dp doc.Package
			s := dp.Synopsis(text)
			if n := utf8.RuneCountInString(s); n > maxSynopsis {
				t.Errorf("%s: the package comment's first sentence has %d characters (at most %d: say what the package owns, the details after it):\n\t%s", rel(dir), n, maxSynopsis, s)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("checked %d packages: the walk found too few, so it checks nothing", checked)
	}
}

// citedDoc is a Markdown document named in a comment, with or without a path.
var citedDoc = regexp.MustCompile(`[A-Za-z0-9_.\-/]*[A-Za-z0-9_\-]\.md\b`)

// external is a reference to a public source; a comment that gives one may
// name that source's documents (github.com/…/zk-protocol, protocol.md).
var external = regexp.MustCompile(`https?://|github\.com/`)

// TestCitedDocsExist checks that every Markdown document a comment in the
// module's Go files cites (PROTOCOL.md §4, gateway/MQTT.md) is one of the
// repository's, so that no comment sends its reader to a document they do
// not have. A comment that also gives a public address cites that address's
// documents.
func TestCitedDocsExist(t *testing.T) {
	have := map[string]bool{} // base names of the repository's .md files
	root := moduleRoot(t)
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".md") {
			have[filepath.Base(path)] = true
		}
		return nil
	})
	if !have["PROTOCOL.md"] {
		t.Fatalf("found no PROTOCOL.md under %s: the walk is wrong", root)
	}
	cites := 0
	for _, dir := range goDirs(t) {
		fset := token.NewFileSet()
		pkgs, err := parser.ParseDir(fset, dir, nil, parser.ParseComments)
		if err != nil {
			t.Fatalf("parse %s: %v", dir, err)
		}
		for _, p := range pkgs {
			for _, f := range p.Files {
				for _, cg := range f.Comments {
					for _, c := range cg.List {
						for _, m := range citedDoc.FindAllString(c.Text, -1) {
							cites++
							if !have[filepath.Base(m)] && !external.MatchString(cg.Text()) {
								t.Errorf("%s: a comment cites %s, which is not in the repository", rel(fset.Position(c.Pos()).String()), m)
							}
						}
					}
				}
			}
		}
	}
	if cites == 0 {
		t.Fatal("no comment cites a document: the pattern is wrong")
	}
}

// packageComment is the text of p's package comment, from whichever file
// holds it.
func packageComment(p *ast.Package) string {
	names := make([]string, 0, len(p.Files))
	for name := range p.Files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if d := p.Files[name].Doc; d != nil {
			return d.Text()
		}
	}
	return ""
}

// goDirs lists the module's directories that hold Go files, skipping
// testdata and hidden directories as the go command does.
func goDirs(t *testing.T) []string {
	t.Helper()
	root := moduleRoot(t)
	var dirs []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if path != root && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_")) {
			return filepath.SkipDir
		}
		if m, _ := filepath.Glob(filepath.Join(path, "*.go")); len(m) > 0 {
			dirs = append(dirs, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// moduleRoot is the directory of go.mod: this package's parent.
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod in %s: %v", root, err)
	}
	return root
}

// rel names path relative to the module root, for messages.
func rel(path string) string {
	root, _ := filepath.Abs("..")
	if r, err := filepath.Rel(root, path); err == nil {
		return r
	}
	return path
}
