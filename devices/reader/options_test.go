package reader_test

import (
	"strings"
	"testing"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/reader"
	"github.com/officegate/officegate/devices/wiegand/wiegandsim"
)

// TestBadOptions checks that each bad value is refused by New with an error naming
// its key and quoting the value, without touching hardware.
func TestBadOptions(t *testing.T) {
	short := writeKey(t, "0123456789abcde\n") // 15 bytes once the line ending goes
	cases := []struct {
		section string
		want    []string
	}{
		{"d1 = 27", []string{"d0", "missing"}},
		{"d0 = 17", []string{"d1", "missing"}},
		{"d0 = 17\nd1 = 17", []string{"d0 and d1", "17"}},
		{"d0 = -5\nd1 = 17", []string{"d0", "-5"}},
		{"d0 = 1\nd1 = 2\nchip = ''", []string{"chip", "empty"}},
		{"d0 = 1\nd1 = 2\nformats = ['h10301', 'h999']", []string{"formats", `"h999"`}},
		{"d0 = 1\nd1 = 2\nformats = []", []string{"formats", "empty"}},
		{"d0 = 1\nd1 = 2\nformats = ['w34', 'w34number']", []string{"formats", "34 bits"}},
		{"d0 = 1\nd1 = 2\nend_gap = 'fast'", []string{"end_gap", `"fast"`}},
		{"d0 = 1\nd1 = 2\nend_gap = '5s'", []string{"end_gap", `"5s"`}},
		{"d0 = 1\nd1 = 2\nend_gap = '-1ms'", []string{"end_gap", `"-1ms"`}},
		{"d0 = 1\nd1 = 2\nemit = 'both'", []string{"emit", `"both"`}},
		{"d0 = 1\nd1 = 2\ncard_text = 'hex'", []string{"card_text", `"hex"`}},
		{"d0 = 1\nd1 = 2\ncard_key_file = 'no/such/card.key'", []string{"card_key_file", "no/such/card.key"}},
		{"d0 = 1\nd1 = 2\ncard_key_file = '" + short + "'", []string{"card_key_file", "15 bytes", "at least 16"}},
		{"d0 = 1\nd1 = 2\nd2 = 3", []string{"d2"}}, // the configuration's own check
	}
	for _, c := range cases {
		_, err := reader.New("door-1", devices.Options{Config: tomlSection(c.section)})
		if err == nil {
			t.Errorf("%q: accepted", c.section)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q does not say %q", c.section, err, w)
			}
		}
	}
}

// TestOneLineWithSource refuses half a pair of lines even when the source is injected.
func TestOneLineWithSource(t *testing.T) {
	_, err := reader.NewWith("door-1", devices.Options{Config: tomlSection("d0 = 17")}, reader.With{Source: wiegandsim.NewSource()})
	if err == nil || !strings.Contains(err.Error(), "d0 and d1: set both") {
		t.Errorf("error %v", err)
	}
}

// TestDefaults builds a driver from no section with an injected source, and one from
// lines alone: New never opens the chip, so neither needs hardware.
func TestDefaults(t *testing.T) {
	if _, err := reader.NewWith("door-1", devices.Options{}, reader.With{Source: wiegandsim.NewSource()}); err != nil {
		t.Errorf("no section, injected source: %v", err)
	}
	if _, err := reader.New("door-1", devices.Options{}); err == nil || !strings.Contains(err.Error(), "d0") {
		t.Errorf("no section, no source: %v, want d0 missing", err)
	}
	if _, err := reader.New("door-1", devices.Options{Config: tomlSection("chip = '/dev/gpiochip9'\nd0 = 4\nd1 = 5")}); err != nil {
		t.Errorf("lines only: %v", err)
	}
	if o := reader.DefaultOptions(); o.Chip != "/dev/gpiochip0" || o.EndGap != "25ms" || o.Emit != "read" || o.CardText != "facility:number" {
		t.Errorf("defaults %+v", o)
	}
}
