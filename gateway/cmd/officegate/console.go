package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/officegate/officegate/gateway/config"
	"github.com/officegate/officegate/gateway/console"
)

const consoleUsage = `usage:
  officegate console user add NAME --role viewer|operator|admin [--password-file FILE]
  officegate console user passwd NAME [--role ROLE] [--password-file FILE]
  officegate console user remove NAME
  officegate console user list
The users file is [console] users_file of --config FILE (default /etc/officegate/officegate.toml),
or --users FILE. Without --password-file the password is asked for on the terminal, twice;
--password-file - reads it from the first line of standard input.
`

// runConsole runs "console user …": the web console's users file.
func runConsole(args []string, stdout, stderr io.Writer) error {
	if len(args) >= 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprint(stdout, consoleUsage)
		return errHelp
	}
	if len(args) < 2 || args[0] != "user" {
		fmt.Fprint(stderr, consoleUsage)
		return errUsage
	}
	verb := args[1]
	fs := flag.NewFlagSet("console user "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "/etc/officegate/officegate.toml", "configuration `file` naming the users file")
	usersFile := fs.String("users", "", "the users `file` (instead of --config)")
	roleName := fs.String("role", "", "viewer, operator or admin")
	pwFile := fs.String("password-file", "", "read the password from the first line of `file` (- for standard input)")
	var name string
	rest := args[2:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		name, rest = rest[0], rest[1:]
	}
	if err := parseFlags(fs, rest, consoleUsage, stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 || (name == "") != (verb == "list") {
		fmt.Fprint(stderr, consoleUsage)
		return errUsage
	}
	path := *usersFile
	if path == "" {
		cfg, err := config.Load(*cfgPath)
		if err != nil {
			return err
		}
		if !cfg.Console.Enabled {
			return fmt.Errorf("%s has no [console] section; name the users file with --users", *cfgPath)
		}
		path = cfg.Console.UsersFile
	}
	var role console.Role
	if *roleName != "" {
		var err error
		if role, err = console.ParseRole(*roleName); err != nil {
			return err
		}
	}
	switch verb {
	case "add", "passwd":
		if verb == "add" && role == 0 {
			return errors.New("console user add: --role viewer, operator or admin is required")
		}
		pw, err := readPassword(*pwFile, stderr)
		if err != nil {
			return err
		}
		if verb == "add" {
			err = console.AddUser(path, name, role, pw)
		} else {
			err = console.SetPassword(path, name, role, pw)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: user %s %s\n", path, name, map[string]string{"add": "added", "passwd": "changed"}[verb])
	case "remove":
		if err := console.RemoveUser(path, name); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: user %s removed; their sessions end at their next request\n", path, name)
	case "list":
		u, err := console.LoadUsers(path)
		if err != nil {
			return err
		}
		for _, x := range u.List() {
			fmt.Fprintf(stdout, "%s\t%s\n", x.Name, x.Role)
		}
	default:
		fmt.Fprint(stderr, consoleUsage)
		return errUsage
	}
	return nil
}

// readPassword reads the password from file's first line ("-": standard
// input), or else asks twice on the terminal with echo off.
func readPassword(file string, stderr io.Writer) (string, error) {
	if file != "" {
		var r io.Reader = os.Stdin
		if file != "-" {
			f, err := os.Open(file)
			if err != nil {
				return "", err
			}
			defer f.Close()
			r = f
		}
		line, err := bufio.NewReader(r).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return "", errors.New("no terminal to ask the password on: use --password-file")
	}
	defer tty.Close()
	ask := func(prompt string) (string, error) {
		fmt.Fprint(tty, prompt)
		fd := int(tty.Fd())
		old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		if err == nil {
			noEcho := *old
			noEcho.Lflag &^= unix.ECHO
			unix.IoctlSetTermios(fd, unix.TCSETS, &noEcho)
			defer unix.IoctlSetTermios(fd, unix.TCSETS, old)
		}
		line, err := bufio.NewReader(tty).ReadString('\n')
		fmt.Fprintln(tty)
		return strings.TrimRight(line, "\r\n"), err
	}
	a, err := ask("password: ")
	if err != nil {
		return "", err
	}
	b, err := ask("again: ")
	if err != nil {
		return "", err
	}
	if a != b {
		return "", errors.New("the passwords differ")
	}
	return a, nil
}
