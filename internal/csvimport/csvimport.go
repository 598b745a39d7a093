// Package csvimport reads the CSV files operators import from a spreadsheet.
//
// A file is one exact header line, then records, each fault reported with
// its line.
//
// The device manifest (provisioning) and the people directory's import
// (provisioning/people) share it, so both cap the size, accept a
// spreadsheet's byte order mark and number lines the same way.
package csvimport

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrTooLong is returned by Read for a file longer than its File.Max.
var ErrTooLong = errors.New("csvimport: file too long")

// File describes one kind of import file.
type File struct {
	Header string // the first line, exactly
	Max    int    // bytes; a longer file is refused whole, before any line is read
	Noun   string // names the file in the problem for an empty one ("empty <Noun>")
}

// Read reads r as f and calls record for each record after the header, with
// the line it starts on (the header is line 1). Each fault of the file's
// content is passed to problem with its line and stops nothing but that
// line, except a missing or wrong header: the columns are then unknown, so
// Read reports it and reads no further. The error is for a file that cannot
// be read at all: the reader's own error, or one wrapping ErrTooLong.
func Read(r io.Reader, f File, record func(line int, rec []string), problem func(line int, reason string)) error {
	data, err := io.ReadAll(io.LimitReader(r, int64(f.Max)+1))
	if err != nil {
		return err
	}
	if len(data) > f.Max {
		return fmt.Errorf("%w: longer than %d bytes", ErrTooLong, f.Max)
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff")) // spreadsheets' UTF-8 byte order mark
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1 // the caller counts, with a clearer message
	header, lastLine := true, -1
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			if pe.StartLine == lastLine {
				break // no progress: the rest is one broken record
			}
			lastLine = pe.StartLine
			problem(pe.StartLine, pe.Err.Error())
			if header {
				return nil // columns unknown: the lines cannot be read
			}
			continue
		}
		if err != nil {
			return err
		}
		line, _ := cr.FieldPos(0)
		lastLine = line
		if header {
			header = false
			if got := strings.Join(rec, ","); got != f.Header {
				problem(line, fmt.Sprintf("header is %q, want %q", got, f.Header))
				return nil // columns unknown: the lines cannot be read
			}
			continue
		}
		record(line, rec)
	}
	if header {
		problem(1, fmt.Sprintf("empty %s: want the header %q", f.Noun, f.Header))
	}
	return nil
}
