package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/intake"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/uplink"
)

// fleetChildResult is what a publisher child prints.
type fleetChildResult struct {
	Counts []int   `json:"counts"`   // events published per gateway
	Start  int64   `json:"start_ns"` // Unix ns: the load began (every session up)
	End    int64   `json:"end_ns"`   // Unix ns: the last event acknowledged
	CPUSec float64 `json:"cpu_s"`    // this process, from Start to End
}

// fleetUp is the line a publisher child prints once every session is up;
// it then waits for its stdin to close before it starts the load.
type fleetUp struct {
	Up int64 `json:"up_ns"` // Unix ns
}

// gatewayPublisher is one simulated gateway's way to the cluster.
type gatewayPublisher interface {
	// send hands over a gateway's next events, in order; it may return
	// before they are acknowledged (the window), and blocks while it is full.
	send(ctx context.Context, evs []envelope.Outbound) error
	// flush returns once everything sent is acknowledged.
	flush(ctx context.Context) error
	close()
}

// fleetChild connects cfg.Gateways publishers of kind cfg.Child, then runs
// the phase's load through them.
func fleetChild(ctx context.Context, cfg fleetConfig) (fleetChildResult, error) {
	nodes := strings.Split(cfg.Nodes, ",")
	pubs := make([]gatewayPublisher, cfg.Gateways)
	defer func() {
		for _, p := range pubs {
			if p != nil {
				p.close()
			}
		}
	}()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	// Connect concurrently, at most cfg.Ramp sessions being set up at
	// once: a NATS MQTT session takes a few JetStream round trips to set up
	// (its session record, a replicated consumer per QoS 1 subscription),
	// and the load starts only once all are up.
	ramp := make(chan struct{}, max(cfg.Ramp, 1))
	for g := range pubs {
		// Gateway g starts on node g mod 3 and has the others as its
		// further URLs, as [mqtt] urls would list them.
		urls := append(append([]string{}, nodes[g%len(nodes):]...), nodes[:g%len(nodes)]...)
		wg.Go(func() {
			ramp <- struct{}{}
			p, err := newPublisher(ctx, cfg, g, urls)
			<-ramp
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("gateway %d: %w", g, err))
				return
			}
			pubs[g] = p
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fleetChildResult{}, err
	}
	// Every session is up: say so, and wait for the parent's go (stdin
	// closed). Meanwhile it measures what the idle sessions cost the
	// cluster, and none of their setup is in the load's figures.
	if err := json.NewEncoder(os.Stdout).Encode(fleetUp{Up: time.Now().UnixNano()}); err != nil {
		return fleetChildResult{}, err
	}
	if _, err := io.Copy(io.Discard, os.Stdin); err != nil {
		return fleetChildResult{}, fmt.Errorf("waiting for the go on stdin: %w", err)
	}

	var r fleetChildResult
	r.Counts = make([]int, cfg.Gateways)
	// The saturated phase's events are made before the clock starts; the
	// paced phase makes each as it falls due.
	var ready [][]envelope.Outbound
	if !cfg.Paced {
		ready = make([][]envelope.Outbound, cfg.Gateways)
		now := time.Now()
		for g := range ready {
			for k := range cfg.Events {
				ev, err := fleetEvent(g, k, cfg.Devices, cfg.Phase, now)
				if err != nil {
					return r, err
				}
				ready[g] = append(ready[g], ev)
			}
		}
	}
	cpu0, t0 := selfCPU(), time.Now()
	r.Start = t0.UnixNano()
	for g, p := range pubs {
		wg.Go(func() {
			var err error
			if cfg.Paced {
				r.Counts[g], err = paced(ctx, cfg, g, p, t0)
			} else {
				err = p.send(ctx, ready[g])
				r.Counts[g] = len(ready[g])
			}
			if err == nil {
				err = p.flush(ctx)
			}
			if err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("gateway %d: %w", g, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	r.End, r.CPUSec = time.Now().UnixNano(), (selfCPU() - cpu0).Seconds()
	return r, errors.Join(errs...)
}

// paced sends gateway g's share of cfg.Rate for cfg.LatencyFor from t0, each
// event stamped with its due time; events that fell due while a send
// blocked go together in the next. It returns how many it sent.
func paced(ctx context.Context, cfg fleetConfig, g int, p gatewayPublisher, t0 time.Time) (int, error) {
	rate := cfg.Rate / float64(cfg.Gateways)
	period := time.Duration(float64(time.Second) / rate)
	// Gateways start spread over one period, as real ones would, and each
	// sends the events that fall due within -latency-for: together
	// cfg.Rate × cfg.LatencyFor, even when a gateway's period is longer.
	offset := period * time.Duration(g) / time.Duration(cfg.Gateways)
	t0 = t0.Add(offset)
	total := max(0, int(math.Ceil(float64(cfg.LatencyFor-offset)/float64(period))))
	// The first event falls due at t0, which may be a period away: sent
	// earlier, it would arrive before its due time.
	timer := time.NewTimer(time.Until(t0))
	defer timer.Stop()
	for k := 0; k < total; {
		select {
		case <-ctx.Done():
			return k, ctx.Err()
		case <-timer.C:
		}
		due := min(total, int(time.Since(t0)/period)+1)
		var evs []envelope.Outbound
		for ; k < due; k++ {
			ev, err := fleetEvent(g, k, cfg.Devices, cfg.Phase, t0.Add(time.Duration(k)*period))
			if err != nil {
				return k, err
			}
			evs = append(evs, ev)
		}
		if err := p.send(ctx, evs); err != nil {
			return k, err
		}
		timer.Reset(time.Until(t0.Add(time.Duration(k) * period)))
	}
	return total, nil
}

func newPublisher(ctx context.Context, cfg fleetConfig, g int, urls []string) (gatewayPublisher, error) {
	switch cfg.Child {
	case "officegate":
		return newUplinkPublisher(ctx, cfg, g, urls)
	case "raw":
		return newPahoPublisher(cfg, g, urls[0])
	default:
		return newJetStreamPublisher(cfg, urls[0])
	}
}

// uplinkPublisher is a gateway's journal and its uplink: send appends (and
// waits for the group commit, as the intake does), the uplink publishes.
type uplinkPublisher struct {
	j      *journal.Journal
	u      *uplink.Uplink
	topics envelope.Topics
	stop   context.CancelFunc
	done   chan error
}

func newUplinkPublisher(ctx context.Context, cfg fleetConfig, g int, urls []string) (*uplinkPublisher, error) {
	t := fleetTopics(g)
	j, err := journal.Open(filepath.Join(cfg.State, fmt.Sprintf("p%d", cfg.Phase), t.Gateway),
		&journal.Options{SyncWindow: cfg.SyncWindow, Streams: intake.JournalStreams()})
	if err != nil {
		return nil, err
	}
	var streams []string
	for _, s := range intake.Streams() {
		streams = append(streams, s.Name)
	}
	log := zerolog.New(os.Stderr).Level(zerolog.WarnLevel).With().Str("gateway", t.Gateway).Logger()
	u, err := uplink.New(j, uplink.Options{Broker: urls[0], Brokers: urls[1:],
		// An id of the phase's own: the cluster tracks client ids across
		// nodes, and the previous phase's sessions are still being removed.
		ClientID: fmt.Sprintf("officegate-%s-p%d", t.Gateway, cfg.Phase), Topics: t,
		Boot: fmt.Sprintf("fleet-p%d", cfg.Phase), Streams: streams, Inflight: cfg.Inflight, CommandsQoS0: cfg.CommandQoS == 0, Log: &log})
	if err != nil {
		j.Close()
		return nil, err
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	p := &uplinkPublisher{j: j, u: u, topics: t, stop: stop, done: make(chan error, 1)}
	go func() { p.done <- u.Run(runCtx) }()
	if err := poll(ctx, time.Minute, func() bool { return u.Broker() != "" }); err != nil {
		p.close()
		return nil, fmt.Errorf("uplink to %v: no session: %w", urls, err)
	}
	return p, nil
}

func (p *uplinkPublisher) send(ctx context.Context, evs []envelope.Outbound) error {
	bodies := make([][]byte, 0, len(evs))
	for i := range evs {
		b, err := evs[i].Encode()
		if err != nil {
			return err
		}
		bodies = append(bodies, b)
	}
	// The intake's largest batch is far smaller; this only bounds the
	// saturated phase's one big send.
	for len(bodies) > 0 {
		n := min(len(bodies), 500)
		if _, err := p.j.AppendBatch(ctx, intake.StreamRecords, bodies[:n]); err != nil {
			return err
		}
		bodies = bodies[n:]
	}
	return nil
}

func (p *uplinkPublisher) flush(ctx context.Context) error {
	return poll(ctx, phaseTimeout, func() bool {
		for _, s := range p.j.Stats().Streams {
			if s.Depth != 0 {
				return false
			}
		}
		return true
	})
}

func (p *uplinkPublisher) close() {
	p.stop()
	<-p.done
	p.j.Close()
}

// pahoPublisher is a plain paho client, as the e2e command's raw peer: a
// clean session, auto-reconnect off, a window of Inflight publishes whose
// PUBACKs are awaited in order.
type pahoPublisher struct {
	c      paho.Client
	topics envelope.Topics
	window *ackWindow
}

func newPahoPublisher(cfg fleetConfig, g int, url string) (*pahoPublisher, error) {
	t := fleetTopics(g)
	o := paho.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("raw-%s-p%d", t.Gateway, cfg.Phase)).
		SetCleanSession(true).SetAutoReconnect(false).SetConnectRetry(false).SetOrderMatters(false).
		SetKeepAlive(30 * time.Second).SetConnectTimeout(10 * time.Second).SetWriteTimeout(10 * time.Second)
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(time.Minute) || tok.Error() != nil {
		return nil, fmt.Errorf("paho: connect to %s: %v", url, tok.Error())
	}
	return &pahoPublisher{c: c, topics: t, window: newAckWindow(cfg.Inflight)}, nil
}

func (p *pahoPublisher) send(ctx context.Context, evs []envelope.Outbound) error {
	for i := range evs {
		topic, payload, err := evs[i].Message(p.topics, envelope.JSON)
		if err != nil {
			return err
		}
		tok := p.c.Publish(topic, 1, false, payload)
		if err := p.window.add(ctx, func() error { <-tok.Done(); return tok.Error() }); err != nil {
			return err
		}
	}
	return nil
}

func (p *pahoPublisher) flush(ctx context.Context) error { return p.window.flush(ctx) }
func (p *pahoPublisher) close()                          { p.window.close(); p.c.Disconnect(100) }

// jetStreamPublisher publishes natively to the stream, each message
// acknowledged by it (stored on a quorum of its replicas), with the same
// window: the cluster's ceiling with no MQTT listener in the way.
type jetStreamPublisher struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	window *ackWindow
}

func newJetStreamPublisher(cfg fleetConfig, url string) (*jetStreamPublisher, error) {
	nc, err := nats.Connect(url, nats.Timeout(time.Minute))
	if err != nil {
		return nil, fmt.Errorf("nats: connect to %s: %w", url, err)
	}
	// The window below bounds what is in flight (Inflight, one being
	// awaited, one being sent); the client's own cap must not stall first.
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(cfg.Inflight+2))
	if err != nil {
		nc.Close()
		return nil, err
	}
	return &jetStreamPublisher{nc: nc, js: js, window: newAckWindow(cfg.Inflight)}, nil
}

func (p *jetStreamPublisher) send(ctx context.Context, evs []envelope.Outbound) error {
	for i := range evs {
		g := evs[i].Event.Gateway
		topic, payload, err := evs[i].Message(envelope.Topics{Root: fleetRoot, Gateway: g}, envelope.JSON)
		if err != nil {
			return err
		}
		f, err := p.js.PublishAsync(natsSubject(topic), payload)
		if err != nil {
			return err
		}
		if err := p.window.add(ctx, func() error {
			select {
			case <-f.Ok():
				return nil
			case err := <-f.Err():
				return err
			}
		}); err != nil {
			return err
		}
	}
	return nil
}

func (p *jetStreamPublisher) flush(ctx context.Context) error { return p.window.flush(ctx) }
func (p *jetStreamPublisher) close()                          { p.window.close(); p.nc.Close() }

// ackWindow holds up to n publishes awaiting their acknowledgement; one
// goroutine awaits them in order, as the uplink's runner does.
type ackWindow struct {
	flights chan func() error
	acked   chan error // the first failure, or nil once flights is closed and drained
	mu      sync.Mutex
	// Guarded by mu.
	sent, done int
	err        error
	idle       chan struct{} // closed when done catches up with sent
	closed     bool
}

func newAckWindow(n int) *ackWindow {
	w := &ackWindow{flights: make(chan func() error, n), acked: make(chan error, 1)}
	go func() {
		for wait := range w.flights {
			err := wait()
			w.mu.Lock()
			w.done++
			if err != nil && w.err == nil {
				w.err = err
			}
			if w.done == w.sent && w.idle != nil {
				close(w.idle)
				w.idle = nil
			}
			w.mu.Unlock()
		}
		close(w.acked)
	}()
	return w
}

func (w *ackWindow) add(ctx context.Context, wait func() error) error {
	w.mu.Lock()
	w.sent++
	err := w.err
	w.mu.Unlock()
	if err != nil {
		return err
	}
	select {
	case w.flights <- wait:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flush waits until every publish added was acknowledged, and returns the
// first failure.
func (w *ackWindow) flush(ctx context.Context) error {
	w.mu.Lock()
	if w.done == w.sent {
		err := w.err
		w.mu.Unlock()
		return err
	}
	if w.idle == nil {
		w.idle = make(chan struct{})
	}
	idle := w.idle
	w.mu.Unlock()
	select {
	case <-idle:
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(phaseTimeout):
		return fmt.Errorf("publishes not acknowledged within %v", phaseTimeout)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *ackWindow) close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	w.mu.Unlock()
	close(w.flights)
	<-w.acked
}

// poll waits until cond holds, ctx ends or timeout passes. The conditions
// polled here (a journal's depth, a session being up) have no
// notification to wait on.
func poll(ctx context.Context, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}
