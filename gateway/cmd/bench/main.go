// Command bench measures officegate's parts against the alternatives we chose
// them over. Every figure is measured in one run, on the machine it runs on.
//
//	go run ./gateway/cmd/bench journal [flags]   the journal, bbolt and SQLite side by side
//	go run ./gateway/cmd/bench e2e [flags]       devices → officegate → mosquitto, against raw paho
//	go run ./gateway/cmd/bench terminals [flags] punches/s from attendance terminals into the journal
//	go run ./gateway/cmd/bench zkpush [flags]    punches/s from ZKTeco PUSH terminals, against the link terminals
//	go run ./gateway/cmd/bench sinks [flags]     the postgres and webhook sinks, against plain pgx and a plain client
//	go run ./gateway/cmd/bench fleet [flags]     N gateways' uplinks → a 3-node NATS cluster, against raw paho and native JetStream
//	go run ./gateway/cmd/bench pages [flags]     the binary's pages resident in a gateway after its start
//
// It is a tool, not a test: nothing here asserts a timing.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"
)

// command is one subcommand: it parses its own flags from args.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string) error
}

var commands = []command{
	{"journal", "the journal, bbolt and SQLite doing the same store-and-forward work", journalMain},
	{"e2e", "devices on PTYs → officegate → mosquitto, against raw paho with the same messages", e2eMain},
	{"terminals", "punches/s from 1 and 16 attendance terminals on PTYs into the journal", terminalsMain},
	{"zkpush", "punches/s from 1 and 32 ZKTeco PUSH terminals over HTTP into the journal, against the link terminals", zkpushMain},
	{"sinks", "punches into PostgreSQL and a webhook through the sinks, against plain pgx and a plain HTTP client", sinksMain},
	{"fleet", "N gateways' uplinks → a 3-node NATS cluster → its stream, against raw paho and native JetStream", fleetMain},
	{"pages", "which pages of the officegate binary a gateway has resident right after its start, by section and package", pagesMain},
}

func main() { os.Exit(mainWith(os.Args[1:])) }

// mainWith runs a command until it ends or SIGINT or SIGTERM cancels it,
// and returns the exit code.
func mainWith(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := dispatch(ctx, args)
	stop()
	if errors.Is(err, errUsage) {
		return 2
	}
	if errors.Is(err, flag.ErrHelp) { // -h: the usage is printed, nothing failed
		return 0
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	return 0
}

var errUsage = errors.New("bench: usage")

func dispatch(ctx context.Context, args []string) error {
	if len(args) > 0 {
		for _, c := range commands {
			if c.name == args[0] {
				return c.run(ctx, args[1:])
			}
		}
		if args[0] == "-h" || args[0] == "-help" || args[0] == "help" {
			usage()
			return nil
		}
		fmt.Fprintf(os.Stderr, "bench: unknown command %q\n", args[0])
	}
	usage()
	return errUsage
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: bench <command> [flags]   (bench <command> -h for its flags)")
	for _, c := range commands {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", c.name, c.summary)
	}
}

// parseArgs parses a command's flags. After -h it returns flag.ErrHelp
// (mainWith exits 0), after a bad flag errUsage (the flag package has said
// why), and an error for an argument left over: no command takes any.
func parseArgs(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// childJSON runs a command's gateway side in a child process that exits
// with its parent, and writes what it measured as one JSON object.
func childJSON[R any](w io.Writer, run func() (R, error)) error {
	go exitWithParent()
	r, err := run()
	if err != nil {
		return err
	}
	return json.NewEncoder(w).Encode(r)
}

// setUsage makes fs print header and its flags, without the internal ones
// (the flags a parent passes to its child processes).
func setUsage(fs *flag.FlagSet, header string, internal ...string) {
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), header)
		fs.VisitAll(func(f *flag.Flag) {
			if slices.Contains(internal, f.Name) {
				return
			}
			name, usage := flag.UnquoteUsage(f)
			if f.DefValue != "" && f.DefValue != "false" {
				usage += " (default " + f.DefValue + ")"
			}
			fmt.Fprintf(fs.Output(), "  -%s %s\n    \t%s\n", f.Name, name, usage)
		})
	}
}
