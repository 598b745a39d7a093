package config

import (
	"net"
	"path/filepath"
	"time"
)

// Console is [console]: the facilities web console (gateway/console). The
// console is off unless the section is present.
type Console struct {
	Enabled bool
	Listen  string // host:port
	// TLS is false only for a loopback Listen (tls = false).
	TLS bool
	// CertFile and KeyFile (PEM) are read again when they change; both
	// empty: a self-signed certificate made once beside the journal
	// directory, its fingerprint logged.
	CertFile, KeyFile string
	// UsersFile is the console's users (officegate console user …);
	// default "console-users" beside the journal directory.
	UsersFile string
	// IdleTimeout ends an unused session; default 15 min.
	IdleTimeout time.Duration
}

type fileConsole struct {
	Listen      *string `toml:"listen"`
	TLS         *bool   `toml:"tls"`
	CertFile    *string `toml:"cert_file"`
	KeyFile     *string `toml:"key_file"`
	UsersFile   *string `toml:"users_file"`
	IdleTimeout any     `toml:"idle_timeout"`
}

// DefaultConsoleIdle is how long an unused console session lasts.
const DefaultConsoleIdle = 15 * time.Minute

// console validates [console]; after journal (the default users file is
// beside the journal directory).
func (v *validator) console(f *fileConsole) {
	if f == nil {
		return
	}
	c := &v.c.Console
	c.Enabled, c.TLS, c.IdleTimeout = true, true, DefaultConsoleIdle
	if f.TLS != nil {
		c.TLS = *f.TLS
	}
	v.duration("console.idle_timeout", f.IdleTimeout, &c.IdleTimeout, time.Minute, 24*time.Hour)
	c.CertFile = v.path("console.cert_file", f.CertFile)
	c.KeyFile = v.path("console.key_file", f.KeyFile)
	if (c.CertFile == "") != (c.KeyFile == "") {
		v.p.at("console.cert_file", deref(f.CertFile), "cert_file and key_file go together (neither: a self-signed certificate)")
	}
	if !c.TLS && (c.CertFile != "" || c.KeyFile != "") {
		v.p.at("console.tls", false, "cert_file and key_file are for TLS")
	}
	c.UsersFile = v.path("console.users_file", f.UsersFile)
	if c.UsersFile == "" {
		c.UsersFile = filepath.Join(filepath.Dir(v.c.Journal.Dir), "console-users")
	}
	if f.Listen == nil {
		v.p.at("console.listen", nil, "required: host:port, e.g. \"0.0.0.0:8443\" (HTTPS) or \"127.0.0.1:8080\" with tls = false")
		return
	}
	host, port, err := net.SplitHostPort(*f.Listen)
	if err != nil {
		v.p.at("console.listen", *f.Listen, "want host:port, e.g. \"0.0.0.0:8443\"")
		return
	}
	if _, err := parsePort(port); err != nil {
		v.p.at("console.listen", *f.Listen, "port %q: must be 0..65535", port)
		return
	}
	if !c.TLS && !isLoopback(host) {
		v.p.at("console.listen", *f.Listen, "plain HTTP (tls = false) only on a loopback address: passwords and session cookies would cross the LAN in clear")
		return
	}
	c.Listen = *f.Listen
}
