// Command zkpushemu runs emulated ZKTeco PUSH terminals against a server.
//
// For the demo, and for trying a gateway without a terminal on the wall:
//
//	go run ./devices/zkpush/cmd/zkpushemu -server http://127.0.0.1:8081 -sn CQZ7224460 -rate 2
//
// Each terminal punches -rate times a second (a new PIN each time), keeps its
// records until the server answers OK: n, and polls for commands. Its log is
// in memory: a restarted zkpushemu is a terminal whose log was cleared.
// SIGINT or SIGTERM stops it; cancellation is not an error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/officegate/officegate/devices/zkpush/zkpushsim"
)

type config struct {
	server   string
	sns      string
	rate     float64
	every    time.Duration
	retry    time.Duration
	capacity int
}

func main() {
	var c config
	flag.StringVar(&c.server, "server", "http://127.0.0.1:8081", "the PUSH server's base URL")
	flag.StringVar(&c.sns, "sn", "EMU0001", "serial numbers, comma-separated: one terminal each")
	flag.Float64Var(&c.rate, "rate", 1, "punches per second per terminal (0: none)")
	flag.DurationVar(&c.every, "every", 0, "time between upload and poll rounds (0: the server's Delay)")
	flag.DurationVar(&c.retry, "retry", 0, "wait after a failure (0: the server's ErrorDelay)")
	flag.IntVar(&c.capacity, "capacity", 100000, "records a terminal holds")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, c)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "zkpushemu:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	if c.rate < 0 || c.capacity <= 0 {
		return errors.New("-rate must be ≥ 0 and -capacity > 0")
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, sn := range strings.Split(c.sns, ",") {
		term := zkpushsim.New(sn, c.server, &zkpushsim.Opts{Capacity: c.capacity})
		wg.Add(1)
		go func() { defer wg.Done(); term.Run(ctx, c.every, c.retry) }()
		if c.rate == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(time.Duration(float64(time.Second) / c.rate))
			defer tick.Stop()
			for n := 0; ; n++ {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				if _, err := term.Punch(fmt.Sprint(10000+n), n%2, 1); err != nil {
					fmt.Fprintf(os.Stderr, "zkpushemu %s: %v\n", sn, err)
				}
			}
		}()
	}
	<-ctx.Done()
	return nil
}
