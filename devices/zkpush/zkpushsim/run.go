package zkpushsim

import (
	"context"
	"time"
)

// Run is the terminal's main loop until ctx ends: a handshake (retried
// ErrorDelay seconds after a failure, §5), then every round uploads waiting
// records and polls for commands; a failed round goes back to the handshake,
// as a terminal that lost its server does. every is the time between rounds;
// 0 means the handshake's Delay. retry is the wait after a failure; 0 means
// the handshake's ErrorDelay (30 s before the first handshake succeeds).
// Cancellation is not an error.
func (t *Terminal) Run(ctx context.Context, every, retry time.Duration) error {
	connected := false
	for {
		wait := every
		var err error
		if !connected {
			err = t.Handshake(ctx)
			connected = err == nil
		}
		if connected {
			if _, err = t.Upload(ctx); err == nil {
				_, err = t.Poll(ctx)
			}
			connected = err == nil
		}
		o := t.Options()
		if wait == 0 {
			wait = time.Duration(max(o.Delay, 1)) * time.Second
		}
		if err != nil {
			wait = retry
			if wait == 0 {
				wait = time.Duration(max(o.ErrorDelay, 30)) * time.Second
			}
		}
		tm := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			tm.Stop()
			return nil
		case <-tm.C:
		}
	}
}
