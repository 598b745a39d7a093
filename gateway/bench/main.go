// Command bench measures officegate's parts against the alternatives we chose
// them over, on the machine it runs on.
//
//	go run ./gateway/bench journal [flags]   the journal, bbolt and SQLite side by side
//
// It is a tool, not a test: nothing here asserts a timing.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
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
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := dispatch(ctx, os.Args[1:])
	stop()
	if errors.Is(err, errUsage) {
		os.Exit(2)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
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
