package uplink

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/officegate/officegate/gateway/sinks"
)

// The uplink is the journal's first sink: a sinks.Runner reads its streams
// from the journal's primary cursors and drives it as a WindowSink, a
// window of QoS 1 publishes in flight, each record acknowledged to the
// journal only on the broker's PUBACK for that exact message. A publish
// that fails (the connection dropped) ends the runner's round: it starts
// again from the first record without a PUBACK, on the next session.
var _ sinks.WindowSink = (*Uplink)(nil)

// Window implements sinks.WindowSink: Options.Inflight.
func (u *Uplink) Window() int { return u.opt.Inflight }

// Send implements sinks.WindowSink: it publishes ev at QoS 1 on the current
// session, waiting for one while the broker is down.
func (u *Uplink) Send(ctx context.Context, ev sinks.Event) (sinks.Pending, error) {
	for {
		u.mu.Lock()
		c, sess, end, n, up := u.client, u.sess, u.endSess, u.inflight, u.up
		u.mu.Unlock()
		if sess != nil {
			p := &publish{u: u, tok: c.Publish(ev.Topic, 1, false, ev.Payload), sess: sess, end: end, n: n,
				stream: ev.Stream, seq: ev.Seq, sent: time.Now()}
			u.opt.Metrics.Inflight(int(n.Add(1)))
			return p, nil
		}
		select {
		case <-up:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Deliver implements sinks.Sink: one publish, waiting for its PUBACK.
func (u *Uplink) Deliver(ctx context.Context, ev sinks.Event) error {
	p, err := u.Send(ctx, ev)
	if err != nil {
		return err
	}
	return p.Wait(ctx)
}

// publish is a QoS 1 publish awaiting its PUBACK.
type publish struct {
	u      *Uplink
	tok    mqtt.Token
	sess   context.Context // the session it went out on
	end    context.CancelCauseFunc
	n      *atomic.Int64 // the session's publishes in flight
	stream string
	seq    uint64
	sent   time.Time
}

// Wait implements sinks.Pending: nil only when the token completed without
// error; the session ending first fails it, and a failed token ends the
// session (the connection is then not to be trusted).
func (p *publish) Wait(ctx context.Context) error {
	defer func() {
		if n := p.n.Add(-1); p.sess.Err() == nil {
			p.u.opt.Metrics.Inflight(int(n)) // an ended session's count is 0 (session)
		}
	}()
	select {
	case <-p.tok.Done():
	case <-p.sess.Done():
		p.u.opt.Metrics.PublishFailed(p.stream)
		return fmt.Errorf("uplink: publish %s seq %d: %w", p.stream, p.seq, context.Cause(p.sess))
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := p.tok.Error(); err != nil {
		p.u.opt.Metrics.PublishFailed(p.stream)
		err = fmt.Errorf("uplink: publish %s seq %d: %w", p.stream, p.seq, err)
		p.end(err)
		return err
	}
	p.u.opt.Metrics.Published(p.stream, time.Since(p.sent))
	return nil
}
