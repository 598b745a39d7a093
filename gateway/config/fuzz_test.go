package config

import (
	"testing"
)

// FuzzParse: no input panics, and an accepted file yields a usable Config
// whose device sections decode without panicking.
func FuzzParse(f *testing.F) {
	f.Add([]byte(Example))
	f.Add([]byte(minimal))
	f.Add([]byte(head + "[[devices]]\nid = \"a\"\nkind = \"reader\"\nreader = { d0 = [1, {x = 2}] }\n"))
	f.Add([]byte("devices = [{id = \"a\", kind = \"reader\", reader = {a.b.c = 1}}]\n" + head))
	f.Add([]byte("[a]\n[[a.b]]\n[a.b.c]\n[[a.b]]\n'x y'.\"z\" = 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.toml", data)
		if err != nil {
			if c != nil {
				t.Fatal("config with an error")
			}
			_ = err.Error()
			return
		}
		for _, d := range c.Devices {
			var anything struct {
				X int `toml:"x"`
			}
			if err := d.Options.Decode(&anything); err != nil {
				_ = err.Error()
			}
		}
	})
}
