package demo

import (
	"fmt"
	"net"
	"path/filepath"

	"github.com/officegate/officegate/gateway/console"
	"github.com/officegate/officegate/gateway/daemon"
)

// The demo's console login: loopback only, for a newcomer's first minute.
const (
	ConsoleUser     = "demo"
	ConsolePassword = "officegate"
)

// DefaultConsole is where the demo serves the web console when that port
// is free; otherwise a free port on loopback.
const DefaultConsole = "127.0.0.1:8080"

// demoConsole makes the console's users file in dir (one admin, the demo
// login) and returns the console's options: plain HTTP on loopback, as the
// configuration allows there only.
func demoConsole(dir, listen string, onURL func(string)) (*daemon.Console, error) {
	users := filepath.Join(dir, "console-users")
	if err := console.AddUser(users, ConsoleUser, console.Admin, ConsolePassword); err != nil {
		return nil, fmt.Errorf("demo: console user: %w", err)
	}
	if listen != "" {
		host, _, err := net.SplitHostPort(listen)
		if ip := net.ParseIP(host); err != nil || host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil, fmt.Errorf("demo: console address %q: the demo serves plain HTTP, so on a loopback address only", listen)
		}
	}
	if listen == "" {
		listen = DefaultConsole
		if ln, err := net.Listen("tcp", listen); err != nil {
			listen = "127.0.0.1:0" // taken: any free port, printed
		} else {
			ln.Close()
		}
	}
	return &daemon.Console{Listen: listen, UsersFile: users, OnURL: onURL}, nil
}
