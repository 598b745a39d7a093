// Package testvectors reads testvectors.txt, the golden frames of PROTOCOL.md
// §12. Every test and fuzz seed reads the same file a firmware author does.
//
// The format is line-based: '#' starts a comment line, a blank line ends a
// vector, "key: value" sets a field, and a line starting with white space
// continues the previous field (joined with one space). Every vector starts
// with "vector: <name>".
package testvectors

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
)

// Vector is one entry of the file.
type Vector struct {
	Name   string
	Line   int // where it starts, for error messages
	Fields map[string]string
}

// Get returns a field, or "" if absent.
func (v Vector) Get(key string) string { return v.Fields[key] }

// Hex decodes a field written as hex bytes separated by spaces.
func (v Vector) Hex(key string) ([]byte, error) {
	s, ok := v.Fields[key]
	if !ok {
		return nil, fmt.Errorf("testvectors: vector %q (line %d) has no %q", v.Name, v.Line, key)
	}
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		return nil, fmt.Errorf("testvectors: vector %q field %q: %w", v.Name, key, err)
	}
	return b, nil
}

// Load reads the file at path.
func Load(path string) ([]Vector, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(f)
}

// Parse reads vectors from r.
func Parse(r io.Reader) ([]Vector, error) {
	var (
		out  []Vector
		cur  *Vector
		last string
		n    int
	)
	flush := func() {
		if cur != nil {
			out = append(out, *cur)
			cur = nil
		}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		n++
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#"):
			continue
		case strings.TrimSpace(line) == "":
			flush()
			continue
		case line[0] == ' ' || line[0] == '\t':
			if cur == nil || last == "" {
				return nil, fmt.Errorf("testvectors: line %d: continuation outside a field", n)
			}
			cur.Fields[last] += " " + strings.TrimSpace(line)
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("testvectors: line %d: want \"key: value\", got %q", n, line)
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if key == "vector" {
			flush()
			cur = &Vector{Name: val, Line: n, Fields: map[string]string{}}
		} else if cur == nil {
			return nil, fmt.Errorf("testvectors: line %d: field %q before any \"vector:\"", n, key)
		}
		if _, dup := cur.Fields[key]; dup {
			return nil, fmt.Errorf("testvectors: line %d: field %q twice in vector %q", n, key, cur.Name)
		}
		cur.Fields[key] = val
		last = key
	}
	flush()
	return out, sc.Err()
}
