package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/officegate/officegate/devices/serialport"
	"github.com/officegate/officegate/firmware-bridge/fwcheck"
)

const fwcheckUsage = `usage: officegate fwcheck [flags] PORT
  check the device on the serial port PORT against PROTOCOL.md: officegate plays
  the gateway and reports each rule with its section. Stop the gateway on that
  port first, reset the device to its factory state (no link key), and have it
  record a dozen events (punches, button presses) before running.
`

// runFwcheck is officegate fwcheck: the conformance check of a device on a
// serial port (package fwcheck). A failed check is an error (exit 1).
func runFwcheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fwcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	baud := fs.Int("baud", 115200, "the port's `rate`: the retransmission bounds follow from it")
	wait := fs.Duration("hello", 20*time.Second, "how long to wait for the device's first HELLO")
	if err := parseFlags(fs, args, fwcheckUsage, stdout); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		printFlags(fs, fwcheckUsage, stderr)
		return errUsage
	}
	port, err := serialport.Open(serialport.Config{Name: fs.Arg(0), Baud: *baud})
	if err != nil {
		return err
	}
	rep, err := fwcheck.Run(ctx, port, fwcheck.Options{Baud: *baud, Hello: *wait})
	if rep != nil {
		rep.WriteTo(stdout)
	}
	if err != nil {
		return err
	}
	if n := rep.Failed(); n > 0 {
		return fmt.Errorf("fwcheck: %s: %d checks failed", fs.Arg(0), n)
	}
	return nil
}
