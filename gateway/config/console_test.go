package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConsole: [console] is off when absent; HTTPS by default with a
// self-signed certificate; plain HTTP only on loopback; bad values named
// with their line.
func TestConsole(t *testing.T) {
	c, err := Parse("/etc/og/c.toml", []byte(head))
	if err != nil || c.Console.Enabled {
		t.Fatalf("no [console]: %+v %v", c.Console, err)
	}
	c, err = Parse("/etc/og/c.toml", []byte(head+"[console]\nlisten = \"0.0.0.0:8443\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Console{Enabled: true, Listen: "0.0.0.0:8443", TLS: true, IdleTimeout: DefaultConsoleIdle,
		UsersFile: filepath.Join(filepath.Dir(c.Journal.Dir), "console-users")}
	if c.Console != want {
		t.Fatalf("defaults: %+v, want %+v", c.Console, want)
	}
	c, err = Parse("/etc/og/c.toml", []byte(head+"[console]\nlisten = \"127.0.0.1:8080\"\ntls = false\nidle_timeout = \"5m\"\nusers_file = \"users\"\n"))
	if err != nil || c.Console.TLS || c.Console.IdleTimeout != 5*time.Minute || c.Console.UsersFile != "/etc/og/users" {
		t.Fatalf("loopback plain: %+v %v", c.Console, err)
	}
	for _, e := range []struct{ doc, want string }{
		{"[console]\nlisten = \"0.0.0.0:8080\"\ntls = false\n", `c.toml:7: console.listen = "0.0.0.0:8080": plain HTTP (tls = false) only on a loopback address`},
		{"[console]\nlisten = \":8080\"\ntls = false\n", `console.listen = ":8080": plain HTTP`},
		{"[console]\ntls = true\n", `console.listen: required`},
		{"[console]\nlisten = \"0.0.0.0:8443\"\ncert_file = \"c.pem\"\n", `console.cert_file = "c.pem": cert_file and key_file go together`},
		{"[console]\nlisten = \"0.0.0.0:8443\"\nidle_timeout = \"10s\"\n", `console.idle_timeout = "10s"`},
		{"[console]\nlisten = \"nowhere\"\n", `console.listen = "nowhere": want host:port`},
		{"[console]\nlisten = \"0.0.0.0:8443\"\npassword = \"x\"\n", `console.password: unknown key`},
	} {
		_, err := Parse("c.toml", []byte(head+e.doc))
		if err == nil || !strings.Contains(err.Error(), e.want) {
			t.Errorf("%q: %v, want %q", e.doc, err, e.want)
		}
	}
}
