package config

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	toml "github.com/pelletier/go-toml/v2"
)

// ErrInvalid is wrapped by every *Error: errors.Is(err, config.ErrInvalid)
// tells a bad configuration from a file that could not be read.
var ErrInvalid = errors.New("config: invalid")

// Error is one problem in a configuration file, located by file, line and key.
type Error struct {
	File  string
	Line  int    // 1-based; 0 when the problem has no line (a missing key)
	Key   string // canonical path: mqtt.tls.ca_file, devices[2].id
	Value string // the offending value as written (quoted strings), or ""
	Msg   string
}

// Error renders `config.toml:12: mqtt.qos: unknown key` or
// `config.toml:7: journal.max_bytes = "12XB": not a size`.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		if e.Value != "" {
			b.WriteString(" = " + e.Value)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

func (e *Error) Unwrap() error { return ErrInvalid }

// Warning is a note about a valid but doubtful setting, for the daemon to log
// at start and for check-config to print.
type Warning struct{ Error }

func (w Warning) String() string { return w.Error.Error() }

// problems collects errors (and warnings) while a document is validated.
type problems struct {
	file     string
	pos      *positions
	errs     []*Error
	warnings []Warning
}

// at records a problem with key, locating it in the document; value is a Go
// value rendered with quoting for strings, or nil.
func (p *problems) at(key string, value any, format string, args ...any) {
	p.errs = append(p.errs, p.make(key, value, format, args...))
}

func (p *problems) warn(key string, value any, format string, args ...any) {
	p.warnings = append(p.warnings, Warning{*p.make(key, value, format, args...)})
}

func (p *problems) make(key string, value any, format string, args ...any) *Error {
	e := &Error{File: p.file, Key: key, Line: p.lineOf(key), Msg: fmt.Sprintf(format, args...)}
	if value != nil {
		e.Value = render(value)
	}
	return e
}

// lineOf finds the line of key, or of its nearest written parent (a missing
// key is reported at its table's header).
func (p *problems) lineOf(key string) int {
	for key != "" {
		if l := p.pos.lineOf(key); l > 0 {
			return l
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return 0
}

func render(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(v)
}

// err returns the collected errors sorted by line, joined, or nil.
func (p *problems) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Line < p.errs[j].Line })
	errs := make([]error, len(p.errs))
	for i, e := range p.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// decodeErrors converts go-toml's errors into *Error values, each named by
// its canonical key. prefix is prepended to keys (a driver section decoded on
// its own); pos indexes the document go-toml saw; orig, when non-nil, is the
// index of the original file, where lines are looked up by the full key.
func (p *problems) decodeErrors(err error, prefix string, pos *positions) {
	var strict *toml.StrictMissingError
	var de *toml.DecodeError
	switch {
	case errors.As(err, &strict):
		for i := range strict.Errors {
			p.decodeError(&strict.Errors[i], prefix, pos, "unknown key")
		}
	case errors.As(err, &de):
		p.decodeError(de, prefix, pos, "")
	default:
		p.errs = append(p.errs, &Error{File: p.file, Key: strings.TrimSuffix(prefix, "."), Msg: err.Error()})
	}
}

func (p *problems) decodeError(de *toml.DecodeError, prefix string, pos *positions, msg string) {
	row, col := de.Position()
	key := ""
	if k, ok := pos.keyBefore(pos.offset(row, col)); ok && len(de.Key()) > 0 && lastPartIs(k, de.Key()) {
		key = k
	} else if len(de.Key()) > 0 {
		key = pathOf(de.Key())
	}
	if msg == "" {
		msg = friendly(strings.TrimPrefix(de.Error(), "toml: "))
	}
	e := &Error{File: p.file, Key: key, Msg: msg}
	if prefix != "" {
		e.Key = join(strings.TrimSuffix(prefix, "."), key)
		e.Line = p.lineOf(e.Key)
	} else {
		e.Line = row
	}
	if key == "" && len(de.Key()) == 0 {
		e.Key = strings.TrimSuffix(prefix, ".")
	}
	p.errs = append(p.errs, e)
}

// lastPartIs reports whether the canonical path ends with go-toml's key's last
// part, guarding against naming the wrong key.
func lastPartIs(path string, k []string) bool {
	last := keyName([]byte(k[len(k)-1]))
	for strings.HasSuffix(path, "]") {
		i := strings.LastIndexByte(path, '[')
		if i < 0 {
			return false
		}
		path = path[:i]
	}
	return path == last || strings.HasSuffix(path, "."+last)
}

// mismatch is compiled at its first use (a file with a type error), not
// when the package initialises: every officegate command would pay for it.
var mismatch = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^cannot decode TOML (.+?) into .* of type (.+)$`)
})

// friendly rewrites go-toml's type errors, which name Go struct types, into
// the TOML types a person writing the file knows.
func friendly(msg string) string {
	m := mismatch().FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	return fmt.Sprintf("want %s, got %s", tomlType(m[2]), strings.TrimPrefix(m[1], "TOML "))
}

func tomlType(goType string) string {
	switch {
	case strings.HasPrefix(goType, "*"):
		return tomlType(goType[1:])
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "a boolean"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "an integer"
	case strings.HasPrefix(goType, "float"):
		return "a float"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map["), strings.HasPrefix(goType, "struct"), strings.Contains(goType, "."):
		return "a table"
	}
	return goType
}
