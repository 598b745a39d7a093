package config

import (
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// positions maps every key of a document to the line it is written on, under
// its canonical path: dotted parts, with the element index after the name of
// an array (devices[2].terminal.gap). go-toml's errors carry a position but a
// key without array indexes (and relative to an inline table), so messages are
// named from this index instead, by position.
type positions struct {
	lineStarts []int          // byte offset of the start of each line
	byPath     map[string]int // canonical path → offset of its key
	order      []keyAt        // every key, in document order
}

type keyAt struct {
	off  int
	path string
}

// index walks data with go-toml's parser. It stops quietly at a syntax error:
// the decoder reports that error itself, and the keys before it are indexed.
func index(data []byte) *positions {
	p := &positions{byPath: map[string]int{}, lineStarts: []int{0}}
	for i, c := range data {
		if c == '\n' {
			p.lineStarts = append(p.lineStarts, i+1)
		}
	}
	w := walker{pos: p, arrays: map[string]int{}}
	var parser unstable.Parser
	parser.Reset(data)
	for parser.NextExpression() {
		w.expression(parser.Expression())
	}
	return p
}

// line returns the 1-based line of a byte offset.
func (p *positions) line(off int) int {
	return sort.Search(len(p.lineStarts), func(i int) bool { return p.lineStarts[i] > off })
}

// offset returns the byte offset of a 1-based line and column.
func (p *positions) offset(line, col int) int {
	if line < 1 || line > len(p.lineStarts) {
		return -1
	}
	return p.lineStarts[line-1] + col - 1
}

// lineOf returns the line of a canonical path, or 0 when the document does not
// write it.
func (p *positions) lineOf(path string) int {
	if off, ok := p.byPath[path]; ok {
		return p.line(off)
	}
	return 0
}

// keyBefore returns the last key that starts at or before off: the key whose
// value an error at off is about.
func (p *positions) keyBefore(off int) (string, bool) {
	i := sort.Search(len(p.order), func(i int) bool { return p.order[i].off > off })
	if i == 0 {
		return "", false
	}
	return p.order[i-1].path, true
}

func (p *positions) add(path string, off int) {
	if _, ok := p.byPath[path]; !ok {
		p.byPath[path] = off
	}
	p.order = append(p.order, keyAt{off, path})
}

type walker struct {
	pos    *positions
	table  string         // canonical path of the current table header
	arrays map[string]int // array tables: path without index → elements so far
}

func (w *walker) expression(n *unstable.Node) {
	if n == nil {
		return
	}
	switch n.Kind {
	case unstable.Table, unstable.ArrayTable:
		path, off := "", -1
		it := n.Key()
		for it.Next() {
			k := it.Node()
			if off < 0 {
				off = int(k.Raw.Offset)
			}
			path = join(path, keyName(k.Data))
			if it.IsLast() && n.Kind == unstable.ArrayTable {
				w.arrays[path]++
				path += "[" + strconv.Itoa(w.arrays[path]-1) + "]"
			} else if c, ok := w.arrays[path]; ok {
				path += "[" + strconv.Itoa(c-1) + "]"
			}
		}
		w.table = path
		w.pos.add(path, max(off, 0))
	case unstable.KeyValue:
		w.keyValue(w.table, n)
	}
}

func (w *walker) keyValue(prefix string, n *unstable.Node) {
	path, off := prefix, -1
	it := n.Key()
	for it.Next() {
		k := it.Node()
		if off < 0 {
			off = int(k.Raw.Offset)
		}
		path = join(path, keyName(k.Data))
	}
	w.pos.add(path, max(off, 0))
	w.value(path, n.Value())
}

func (w *walker) value(path string, v *unstable.Node) {
	switch v.Kind {
	case unstable.InlineTable:
		it := v.Children()
		for it.Next() {
			if c := it.Node(); c.Kind == unstable.KeyValue {
				w.keyValue(path, c)
			}
		}
	case unstable.Array:
		it := v.Children()
		for i := 0; it.Next(); i++ {
			w.value(path+"["+strconv.Itoa(i)+"]", it.Node())
		}
	}
}

func join(prefix, part string) string {
	if prefix == "" {
		return part
	}
	return prefix + "." + part
}

// keyName renders one key part as TOML would need it written: bare when it
// can be, quoted otherwise.
func keyName(b []byte) string {
	s := string(b)
	if s == "" {
		return `""`
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return strconv.Quote(s)
		}
	}
	return s
}

// pathOf renders a go-toml key (no array indexes) the same way, for messages
// when the index has nothing better.
func pathOf(k []string) string {
	parts := make([]string, len(k))
	for i, s := range k {
		parts[i] = keyName([]byte(s))
	}
	return strings.Join(parts, ".")
}
