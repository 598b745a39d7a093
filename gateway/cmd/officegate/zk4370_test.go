package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/zk4370"
	"github.com/officegate/officegate/gateway/daemon"
)

// TestZK4370Wired: a [[devices]] entry of kind zk4370 passes the
// configuration, and the binary's registry builds its driver from the
// [devices.zk4370] table, refusing a bad value by its key.
func TestZK4370Wired(t *testing.T) {
	dir := t.TempDir()
	head := "[gateway]\nid = \"gw-1\"\n\n[mqtt]\nurl = \"tcp://127.0.0.1:1\"\n\n[journal]\ndir = \"" + filepath.Join(dir, "journal") + "\"\n\n"
	for _, c := range []struct{ section, want string }{
		{"address = \"10.0.3.21\"\ncomm_key = 123456\ntime_zone = \"Asia/Shanghai\"\n", ""},
		{"address = \"10.0.3.21\"\ncomm_key = -1\n", "comm_key -1"},
		{"comm_key = 1\n", "address: required"},
	} {
		path := filepath.Join(dir, "c.toml")
		doc := head + "[[devices]]\nid = \"att-entrance\"\nkind = \"zk4370\"\n[devices.zk4370]\n" + c.section
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, _, err := loadConfig(path)
		if err != nil {
			t.Fatalf("%q: %v", c.section, err)
		}
		d := cfg.Devices[0]
		opts := devices.Options{StateDir: dir}
		if d.Options.Present() {
			opts.Config = d.Options
		}
		drv, err := newRegistry(&daemon.Sender{}).New(d.Kind, d.ID, opts)
		if c.want == "" {
			if err != nil || drv.Describe().Kind != zk4370.Kind {
				t.Errorf("%q: %v", c.section, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.section, err, c.want)
		}
	}
}
