package config

import (
	"strings"
	"testing"
)

// terminalOpts stands in for a driver's options.
type terminalOpts struct {
	Gap   string `toml:"gap"`
	Hash  bool   `toml:"hash_cards"`
	Clock struct {
		MaxDrift string `toml:"max_drift"`
	} `toml:"clock"`
	Doors []struct {
		Pin int `toml:"pin"`
	} `toml:"doors"`
}

func TestSectionDecode(t *testing.T) {
	doc := head + `
[[devices]]
id = "t0"
kind = "terminal"
port = "/dev/serial/by-id/a"

[[devices]]
id = "t1"
kind = "terminal"
port = "/dev/serial/by-id/b"
[devices.terminal]
gap = "25ms"
hash_cards = true
hsah = 1
clock = { max_drift = "2s", mode = "ntp" }

[[devices.terminal.doors]]
pin = 17
[[devices.terminal.doors]]
pin = "18"
`
	c, err := Parse("c.toml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var none terminalOpts
	none.Gap = "default"
	if err := c.Devices[0].Options.Decode(&none); err != nil || none.Gap != "default" || c.Devices[0].Options.Present() {
		t.Errorf("absent section: %+v, %v", none, err)
	}

	var o terminalOpts
	err = c.Devices[1].Options.Decode(&o)
	want := `c.toml:25: devices[1].terminal.doors[1].pin: want an integer, got string`
	if err == nil || err.Error() != want {
		t.Errorf("type error:\n got %v\nwant %s", err, want)
	}

	// Without the type error, every unknown key is reported with its line.
	c, err = Parse("c.toml", []byte(strings.Replace(doc, `pin = "18"`, `pin = 18`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Devices[1].Options.Decode(&o)
	wantAll := "c.toml:19: devices[1].terminal.hsah: unknown key\nc.toml:20: devices[1].terminal.clock.mode: unknown key"
	if err == nil || err.Error() != wantAll {
		t.Errorf("unknown keys:\n got %v\nwant %s", err, wantAll)
	}
	if o.Gap != "25ms" || !o.Hash || o.Clock.MaxDrift != "2s" || len(o.Doors) != 2 || o.Doors[1].Pin != 18 {
		t.Errorf("decoded %+v", o)
	}

	// A driver's own check, located like the parser's.
	err = c.Devices[1].Options.Errorf("gap", o.Gap, "must be at least %s", "30ms")
	if got := err.Error(); got != `c.toml:17: devices[1].terminal.gap = "25ms": must be at least 30ms` {
		t.Errorf("Errorf = %s", got)
	}
	if got := c.Devices[1].Options.Errorf("", nil, "no reader wired").Error(); got != `c.toml:16: devices[1].terminal: no reader wired` {
		t.Errorf("Errorf section = %s", got)
	}
	if got := c.Errorf("mqtt.url", "x", "refused").Error(); got != `c.toml:5: mqtt.url = "x": refused` {
		t.Errorf("Config.Errorf = %s", got)
	}
}

func TestSectionInline(t *testing.T) {
	doc := head + "\n[[devices]]\nid = \"r\"\nkind = \"reader\"\nreader = { d0 = 5, d1 = 6, extra = true }\n"
	c, err := Parse("c.toml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		D0 int `toml:"d0"`
		D1 int `toml:"d1"`
	}
	err = c.Devices[0].Options.Decode(&o)
	if err == nil || err.Error() != "c.toml:10: devices[0].reader.extra: unknown key" || o.D1 != 6 {
		t.Errorf("inline: %v, %+v", err, o)
	}
}
