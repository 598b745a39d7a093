package fwcheck

import (
	"fmt"
	"io"
)

// Check is the outcome of one rule.
type Check struct {
	Name    string // what was checked
	Section string // the PROTOCOL.md section that states the rule
	Err     error  // nil: passed
	Skipped string // why it could not be checked; then Err is nil
	Detail  string // what was measured, for a pass
}

// Report is every check of one run, in order.
type Report struct {
	Device string // hardware id, model, firmware from the HELLO
	Checks []Check
}

// Failed counts the checks that failed.
func (r *Report) Failed() int {
	n := 0
	for _, c := range r.Checks {
		if c.Err != nil {
			n++
		}
	}
	return n
}

// Find returns the check named name.
func (r *Report) Find(name string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// WriteTo prints the report: one line per check, failures with the
// PROTOCOL.md section to read, then a summary.
func (r *Report) WriteTo(w io.Writer) (int64, error) {
	var n int64
	p := func(f string, a ...any) {
		k, _ := fmt.Fprintf(w, f, a...)
		n += int64(k)
	}
	p("device: %s\n", r.Device)
	pass, skip := 0, 0
	for _, c := range r.Checks {
		switch {
		case c.Err != nil:
			p("FAIL  %-34s PROTOCOL.md §%s: %v\n", c.Name, c.Section, c.Err)
		case c.Skipped != "":
			skip++
			p("skip  %-34s §%s: %s\n", c.Name, c.Section, c.Skipped)
		default:
			pass++
			p("ok    %-34s §%s %s\n", c.Name, c.Section, c.Detail)
		}
	}
	p("%d passed, %d failed, %d skipped\n", pass, r.Failed(), skip)
	return n, nil
}

func (r *Report) add(name, section string, err error, detail string) {
	r.Checks = append(r.Checks, Check{Name: name, Section: section, Err: err, Detail: detail})
}

func (r *Report) skip(name, section, why string) {
	r.Checks = append(r.Checks, Check{Name: name, Section: section, Skipped: why})
}
