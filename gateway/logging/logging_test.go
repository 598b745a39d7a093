package logging

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

var fixed = func() time.Time { return time.Date(2026, 11, 24, 8, 30, 0, 123e6, time.UTC) }

func TestJSONWhenNotATerminal(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, Options{Level: zerolog.InfoLevel, Now: fixed, TTY: func(io.Writer) bool { return false }})
	d := Device(l, "terminal-lobby")
	d.Info().Int("seq", 7).Msg("punch")
	l.Debug().Msg("hidden")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not one JSON record: %q: %v", buf.String(), err)
	}
	want := map[string]any{"level": "info", "device": "terminal-lobby", "seq": 7.0, "message": "punch", "time": "2026-11-24T08:30:00.123Z"}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("%s = %v, want %v (record %s)", k, rec[k], v, buf.String())
		}
	}
}

func TestConsoleOnATerminal(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, Options{Level: zerolog.DebugLevel, Format: Auto, Now: fixed, TTY: func(io.Writer) bool { return true }})
	c := Component(l, "uplink")
	c.Warn().Msg("reconnecting")
	out := buf.String()
	if strings.HasPrefix(out, "{") || !strings.Contains(out, "reconnecting") || !strings.Contains(out, "uplink") {
		t.Fatalf("console output = %q", out)
	}
}

func TestExplicitFormatWins(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, Options{Level: zerolog.InfoLevel, Format: JSON, Now: fixed, TTY: func(io.Writer) bool { return true }})
	l.Error().Msg("x")
	if !strings.HasPrefix(buf.String(), "{") {
		t.Fatalf("json format on a terminal gave %q", buf.String())
	}
}

func TestParse(t *testing.T) {
	for _, s := range []string{"", "trace", "debug", "info", "warn", "error"} {
		if _, err := ParseLevel(s); err != nil {
			t.Errorf("ParseLevel(%q): %v", s, err)
		}
	}
	for _, s := range []string{"fatal", "panic", "disabled", "INFO", "verbose"} {
		if _, err := ParseLevel(s); err == nil || !strings.Contains(err.Error(), `"`+s+`"`) {
			t.Errorf("ParseLevel(%q) = %v, want an error quoting it", s, err)
		}
	}
	if f, err := ParseFormat(""); err != nil || f != Auto {
		t.Errorf("ParseFormat(\"\") = %v, %v", f, err)
	}
	if _, err := ParseFormat("pretty"); err == nil || !strings.Contains(err.Error(), `"pretty"`) {
		t.Errorf("ParseFormat(pretty) = %v", err)
	}
}

// TestNoFatalBelowMain keeps Fatal, Panic and os.Exit out of the daemon's
// packages: they skip the shutdown that flushes the journal. Only main (under
// cmd/) may end the process.
func TestNoFatalBelowMain(t *testing.T) {
	root := ".."
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "cmd" || d.Name() == "testdata" || strings.HasSuffix(d.Name(), "test")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		if f.Name.Name == "main" {
			return nil
		}
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			name := sel.Sel.Name
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == "os" && name == "Exit" ||
				name == "Fatal" || name == "Fatalf" || name == "Panic" && !isPkg(sel.X, "zerolog") {
				t.Errorf("%s: %s.%s below main", fset.Position(sel.Pos()), exprName(sel.X), name)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked == 0 {
		t.Fatal("no source file checked")
	}
}

func isPkg(e ast.Expr, name string) bool {
	x, ok := e.(*ast.Ident)
	return ok && x.Name == name
}

func exprName(e ast.Expr) string {
	if x, ok := e.(*ast.Ident); ok {
		return x.Name
	}
	return "…"
}
