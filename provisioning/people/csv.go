package people

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/terminal"
	"github.com/officegate/officegate/internal/csvimport"
)

// Header is the first line an import file must have (doc.go, "Import").
const Header = "person,card,name,lang,dingtalk,wecom,feishu,employee"

// maxImport bounds what Import reads: 8 MiB is some 60 000 people.
const maxImport = 8 << 20

var importFile = csvimport.File{Header: Header, Max: maxImport, Noun: "file"}

// ErrRejected is wrapped by Import's error when the file has problems.
var ErrRejected = errors.New("people: import rejected")

// Problem is one thing wrong with one line of an import file. It never
// quotes a card number.
type Problem struct {
	Line   int    // 1-based; the header is line 1
	Field  string // the column at fault, "" for the whole line
	Reason string
}

func (p Problem) String() string {
	if p.Field == "" {
		return fmt.Sprintf("line %d: %s", p.Line, p.Reason)
	}
	return fmt.Sprintf("line %d: %s: %s", p.Line, p.Field, p.Reason)
}

// ImportOptions change what Import does.
type ImportOptions struct {
	// Replace removes the people the file does not name: the file becomes
	// the whole directory.
	Replace bool
}

// ImportResult counts what an import did.
type ImportResult struct {
	Added, Updated, Unchanged, Removed int
}

type entry struct {
	line int
	p    Person
}

// parse reads an import file and checks every line on its own and against
// the other lines; the error is for a file that cannot be read at all.
func (d *Directory) parse(r io.Reader) ([]entry, []Problem, error) {
	var (
		out   []entry
		probs []Problem
		ids   = map[string]int{}
	)
	err := csvimport.Read(r, importFile, func(line int, rec []string) {
		p, ps := d.parseLine(line, rec)
		probs = append(probs, ps...)
		if len(ps) > 0 {
			return
		}
		if l, dup := ids[p.ID]; dup {
			probs = append(probs, Problem{Line: line, Field: "person", Reason: fmt.Sprintf("%q is already on line %d", p.ID, l)})
			return
		}
		ids[p.ID] = line
		out = append(out, entry{line, p})
	}, func(line int, reason string) {
		probs = append(probs, Problem{Line: line, Reason: reason})
	})
	if errors.Is(err, csvimport.ErrTooLong) {
		return nil, nil, fmt.Errorf("%w: longer than %d bytes", ErrRejected, maxImport)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("people: reading the import: %w", err)
	}
	return out, probs, nil
}

// parseLine checks one record's fields.
func (d *Directory) parseLine(line int, rec []string) (Person, []Problem) {
	if len(rec) != 8 {
		return Person{}, []Problem{{Line: line, Reason: fmt.Sprintf("%d fields, want 8 (%s)", len(rec), Header)}}
	}
	for i := range rec {
		rec[i] = strings.TrimSpace(rec[i])
	}
	p := Person{ID: rec[0], Name: rec[2], Lang: normLang(rec[3])}
	var probs []Problem
	bad := func(field string, err error) {
		probs = append(probs, Problem{Line: line, Field: field, Reason: strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": ")})
	}
	if err := CheckID(p.ID); err != nil {
		bad("person", err)
	}
	switch c := rec[1]; {
	case c == "":
	case IsCardHash(c):
		p.CardHash = c
	case !terminal.ValidCard(c):
		// Never quoted: it may be a card number mistyped.
		probs = append(probs, Problem{Line: line, Field: "card", Reason: "neither a card hash (64 lower-case hex digits) nor a card number (decimal, or facility:number)"})
	case d.opts.CardKey == nil:
		probs = append(probs, Problem{Line: line, Field: "card", Reason: "a card number, but the gateway has no card key to hash it with: give the card hash"})
	default:
		p.CardHash = devices.KeyedHash(d.opts.CardKey, c)
	}
	if err := checkName(p.Name); err != nil {
		bad("name", err)
	}
	if err := checkLang(p.Lang); err != nil {
		bad("lang", err)
	}
	for i, pl := range Platforms {
		p.setUserID(pl, rec[4+i])
		if err := checkUserID(pl, rec[4+i]); err != nil {
			bad(string(pl), err)
		}
	}
	return p, probs
}

// Import applies an import file (doc.go, "Import"). Every line is checked,
// on its own and against the directory, before anything is applied; if any
// line has a problem, Import applies nothing and returns every problem with
// an error wrapping ErrRejected. Otherwise it applies every line in one
// durable write.
func (d *Directory) Import(r io.Reader, o ImportOptions) (ImportResult, []Problem, error) {
	entries, probs, err := d.parse(r)
	if err != nil {
		return ImportResult{}, nil, err
	}
	if len(probs) > 0 {
		return ImportResult{}, probs, fmt.Errorf("%w: %d problems, nothing applied", ErrRejected, len(probs))
	}
	var res ImportResult
	err = d.change(func(ps map[string]Person, now time.Time) (bool, error) {
		res = ImportResult{}
		named := map[string]bool{}
		for _, e := range entries {
			named[e.p.ID] = true
			old, ok := ps[e.p.ID]
			switch {
			case !ok:
				res.Added++
			case old.same(e.p):
				res.Unchanged++
				continue
			default:
				res.Updated++
			}
			e.p.Updated = now
			ps[e.p.ID] = e.p
		}
		if o.Replace {
			for _, id := range slices.Sorted(maps.Keys(ps)) {
				if !named[id] {
					delete(ps, id)
					res.Removed++
				}
			}
		}
		// A card hash or platform id may now belong to two people: one the
		// file names and one it leaves as it was. Blame the line.
		own := map[string]string{}
		for _, id := range slices.Sorted(maps.Keys(ps)) {
			p := ps[id]
			for _, k := range claims(p) {
				if other, dup := own[k]; dup {
					what, v, _ := strings.Cut(k, ":")
					for _, e := range entries {
						if e.p.ID == id || e.p.ID == other {
							who := other
							if e.p.ID == other {
								who = id
							}
							probs = append(probs, Problem{Line: e.line, Field: what, Reason: fmt.Sprintf("%q also belongs to %q", v, who)})
							break
						}
					}
				}
				own[k] = id
			}
		}
		if len(probs) > 0 {
			return false, nil
		}
		return res.Added+res.Updated+res.Removed > 0, nil
	})
	if err != nil {
		return ImportResult{}, nil, err
	}
	if len(probs) > 0 {
		slices.SortStableFunc(probs, func(a, b Problem) int { return a.Line - b.Line })
		return ImportResult{}, probs, fmt.Errorf("%w: %d problems, nothing applied", ErrRejected, len(probs))
	}
	return res, nil, nil
}

// claims are the unique keys a person holds besides their id.
func claims(p Person) []string {
	var keys []string
	if p.CardHash != "" {
		keys = append(keys, "card:"+p.CardHash)
	}
	for _, pl := range Platforms {
		if u := p.UserID(pl); u != "" {
			keys = append(keys, string(pl)+":"+u)
		}
	}
	return keys
}
