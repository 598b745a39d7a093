package reader

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/wiegand"
)

// Options is the device's configuration section. New fills in the defaults before
// decoding, so keys the section leaves out keep them.
type Options struct {
	Chip        string   `toml:"chip"`          // default "/dev/gpiochip0"
	D0          int64    `toml:"d0"`            // line offset; required unless a source is injected
	D1          int64    `toml:"d1"`            // line offset; required unless a source is injected
	Formats     []string `toml:"formats"`       // nil: every format but w34number
	EndGap      string   `toml:"end_gap"`       // a Go duration; default "25ms"
	Emit        string   `toml:"emit"`          // EmitRead (default) or EmitPunch
	CardKeyFile string   `toml:"card_key_file"` // "": cards are sent in clear
	CardText    string   `toml:"card_text"`     // CardTextFacility (default) or CardTextNumber
}

// Values of Options.Emit and Options.CardText.
const (
	EmitRead         = "read"
	EmitPunch        = "punch"
	CardTextFacility = "facility:number"
	CardTextNumber   = "number"
)

// noLine marks a line offset the configuration left out.
const noLine = -1

// DefaultOptions returns the options a section without keys gives.
func DefaultOptions() Options {
	return Options{
		Chip:     "/dev/gpiochip0",
		D0:       noLine,
		D1:       noLine,
		EndGap:   "25ms",
		Emit:     EmitRead,
		CardText: CardTextFacility,
	}
}

// MinKeyLen is the shortest card key accepted (devices.MinKeyLen).
const MinKeyLen = devices.MinKeyLen

// maxEndGap bounds end_gap: beyond a second, two people presenting cards one after the
// other would merge into one (rejected) frame.
const maxEndGap = time.Second

// formatNames maps configuration names to formats. The same names label events.
var formatNames = map[string]wiegand.Format{
	"h10301":    wiegand.H10301,
	"w34":       wiegand.W34,
	"w34number": wiegand.W34Number,
	"h10304":    wiegand.H10304,
	"keypad4":   wiegand.Keypad4,
	"keypad8":   wiegand.Keypad8,
}

// formatName is the name of f in configurations and events.
func formatName(f wiegand.Format) string { return strings.ToLower(f.String()) }

// settings are Options validated and converted.
type settings struct {
	chip       string
	d0, d1     uint32
	haveLines  bool
	decoder    wiegand.Config
	punch      bool
	numberText bool   // card_text = "number"
	key        []byte // nil: cards in clear
}

// validate checks o and reads the key file. needLines is false when a source is
// injected, which makes the line offsets optional. Errors name the key and quote the value.
func (o Options) validate(needLines bool) (settings, error) {
	var s settings
	if o.Chip == "" {
		return s, errors.New("reader: option chip: empty (leave it out for /dev/gpiochip0)")
	}
	s.chip = o.Chip
	lines := 0
	for _, l := range []struct {
		key string
		v   int64
		dst *uint32
	}{{"d0", o.D0, &s.d0}, {"d1", o.D1, &s.d1}} {
		switch {
		case l.v == noLine:
			if needLines {
				return s, fmt.Errorf("reader: option %s: missing (the line offset on %s)", l.key, o.Chip)
			}
		case l.v < 0 || l.v > math.MaxUint32:
			return s, fmt.Errorf("reader: option %s: %d is not a line offset", l.key, l.v)
		default:
			*l.dst = uint32(l.v)
			lines++
		}
	}
	switch {
	case lines == 1:
		return s, fmt.Errorf("reader: options d0 and d1: set both or neither (d0 %d, d1 %d)", o.D0, o.D1)
	case lines == 2 && s.d0 == s.d1:
		return s, fmt.Errorf("reader: options d0 and d1: both are line %d", s.d0)
	}
	s.haveLines = lines == 2

	if o.Formats != nil {
		if len(o.Formats) == 0 {
			return s, errors.New("reader: option formats: empty (leave it out for the defaults)")
		}
		for _, n := range o.Formats {
			f, ok := formatNames[strings.ToLower(n)]
			if !ok {
				return s, fmt.Errorf("reader: option formats: %q is not one of h10301, w34, w34number, h10304, keypad4, keypad8", n)
			}
			s.decoder.Formats = append(s.decoder.Formats, f)
		}
	}
	gap, err := time.ParseDuration(o.EndGap)
	if err != nil {
		return s, fmt.Errorf("reader: option end_gap: %q is not a duration such as \"25ms\"", o.EndGap)
	}
	if gap <= 0 || gap > maxEndGap {
		return s, fmt.Errorf("reader: option end_gap: %q is not between 0 and %v", o.EndGap, maxEndGap)
	}
	s.decoder.EndGap = gap
	// wiegand checks what remains (formats sharing a bit count, gaps against spacing)
	// and names the values; the keys are these two.
	if _, err := wiegand.New(&s.decoder); err != nil {
		return s, fmt.Errorf("reader: options formats/end_gap: %w", err)
	}

	switch o.Emit {
	case EmitRead:
	case EmitPunch:
		s.punch = true
	default:
		return s, fmt.Errorf("reader: option emit: %q is not %q or %q", o.Emit, EmitRead, EmitPunch)
	}
	switch o.CardText {
	case CardTextFacility:
	case CardTextNumber:
		s.numberText = true
	default:
		return s, fmt.Errorf("reader: option card_text: %q is not %q or %q", o.CardText, CardTextFacility, CardTextNumber)
	}
	if o.CardKeyFile != "" {
		if s.key, err = devices.ReadKey(o.CardKeyFile); err != nil {
			return s, fmt.Errorf("reader: option card_key_file: %w", err)
		}
	}
	return s, nil
}
