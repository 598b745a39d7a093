// Command zk4370emu runs an emulated ZKTeco terminal speaking the 4370 protocol.
//
// For the demo, and for trying a gateway without a terminal on the wall:
//
//	go run ./devices/zk4370/cmd/zk4370emu -listen 127.0.0.1:4370 -sn CQZ7224460 -rate 1
//
// and a [[devices]] entry of kind "zk4370" with address "127.0.0.1:4370". The
// terminal punches -rate times a second (a new PIN each time), keeps every
// punch in its log (up to -capacity) and sends it in real time to sessions
// that registered for it. Its log is in memory: a restarted zk4370emu is a
// terminal whose log was cleared. SIGINT or SIGTERM stops it; cancellation
// is not an error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/officegate/officegate/devices/zk4370/zk4370sim"
)

type config struct {
	listen   string
	sn       string
	key      uint
	rate     float64
	capacity int
}

func main() {
	var c config
	flag.StringVar(&c.listen, "listen", "127.0.0.1:4370", "the address the terminal listens on")
	flag.StringVar(&c.sn, "sn", "ZKSIM0001", "the terminal's serial number")
	flag.UintVar(&c.key, "commkey", 0, "the terminal's comm key (0: none)")
	flag.Float64Var(&c.rate, "rate", 1, "punches per second (0: none)")
	flag.IntVar(&c.capacity, "capacity", 100000, "records the log holds")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, c)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "zk4370emu:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	if c.rate < 0 || c.capacity <= 0 || c.key > 1<<32-1 {
		return errors.New("-rate must be ≥ 0, -capacity > 0 and -commkey < 2^32")
	}
	term := zk4370sim.New(zk4370sim.Options{Serial: c.sn, CommKey: uint32(c.key), Capacity: c.capacity})
	if err := term.Listen(c.listen); err != nil {
		return err
	}
	defer term.Close()
	fmt.Fprintf(os.Stderr, "zk4370emu: terminal %s listening on %s\n", c.sn, term.Addr())
	if c.rate == 0 {
		<-ctx.Done()
		return nil
	}
	tick := time.NewTicker(time.Duration(float64(time.Second) / c.rate))
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if _, err := term.Punch(fmt.Sprint(10000+n), 1, uint8(n%2)); err != nil {
			fmt.Fprintf(os.Stderr, "zk4370emu: punch: %v\n", err)
		}
	}
}
