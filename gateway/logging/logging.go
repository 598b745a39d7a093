package logging

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
)

// Format selects the output format.
type Format string

const (
	Auto    Format = "auto"    // console on a terminal, JSON otherwise
	JSON    Format = "json"    // one JSON object per line (journald, collectors)
	Console Format = "console" // human-readable, coloured on a terminal
)

// ParseFormat reads "auto", "json" or "console"; "" means Auto.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case "":
		return Auto, nil
	case Auto, JSON, Console:
		return f, nil
	}
	return "", fmt.Errorf("logging: unknown format %q (want auto, json or console)", s)
}

// ParseLevel reads trace, debug, info, warn or error; "" means info. Levels
// that end the process (fatal, panic) and "disabled" are refused: the daemon
// never silences its errors.
func ParseLevel(s string) (zerolog.Level, error) {
	switch s {
	case "":
		return zerolog.InfoLevel, nil
	case "trace", "debug", "info", "warn", "error":
		return zerolog.ParseLevel(s)
	}
	return zerolog.NoLevel, fmt.Errorf("logging: unknown level %q (want trace, debug, info, warn or error)", s)
}

// Options configure New. The zero value logs at debug level (zerolog's zero
// Level) in the Auto format; set Level from ParseLevel.
type Options struct {
	Level  zerolog.Level
	Format Format
	// Now stamps records. Default time.Now.
	Now func() time.Time
	// TTY overrides terminal detection for Auto (tests). Default: isatty on w
	// when w is an *os.File.
	TTY func(w io.Writer) bool
}

// TimeFormat is the timestamp written in JSON records: UTC with milliseconds,
// so events a millisecond apart can be ordered from the log.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// New returns a logger writing to w (normally os.Stdout).
func New(w io.Writer, opts Options) zerolog.Logger {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	tty := opts.TTY
	if tty == nil {
		tty = isTerminal
	}
	format := opts.Format
	if format == "" || format == Auto {
		format = JSON
		if tty(w) {
			format = Console
		}
	}
	if format == Console {
		w = zerolog.ConsoleWriter{Out: w, NoColor: !tty(w), TimeFormat: "15:04:05.000", TimeLocation: time.Local}
	}
	// A hook, not zerolog's Timestamp(): the time format and the clock are
	// package globals in zerolog, and configuration here is not global.
	return zerolog.New(w).Level(opts.Level).Hook(stamp{now})
}

type stamp struct{ now func() time.Time }

func (s stamp) Run(e *zerolog.Event, _ zerolog.Level, _ string) {
	e.Str(zerolog.TimestampFieldName, s.now().UTC().Format(TimeFormat))
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// Device returns a child logger whose records carry the device id.
func Device(l zerolog.Logger, id string) zerolog.Logger {
	return l.With().Str("device", id).Logger()
}

// Component returns a child logger whose records name the part of the daemon
// (journal, uplink, metrics) they come from.
func Component(l zerolog.Logger, name string) zerolog.Logger {
	return l.With().Str("component", name).Logger()
}
