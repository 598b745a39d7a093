package uplink

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/internal/backoff"
)

// Options configure an Uplink.
type Options struct {
	Broker string // tcp://host:1883, ssl://host:8883, …
	// Brokers are further URLs of the same broker cluster, tried in turn
	// after Broker when a connection fails or is lost (doc.go).
	Brokers  []string
	ClientID string
	Username string
	Password string
	// TLS, if set, is called before every connection attempt, so renewed
	// certificates and CA files are picked up without a restart.
	TLS func() (*tls.Config, error)

	Topics   envelope.Topics
	Format   envelope.Format
	Boot     string   // this process's boot id (in the gateway status and its will)
	Version  string   // officegate's version in the retained status; "unknown" when empty
	Streams  []string // journal streams to publish, most important first
	Inflight int      // publishes awaiting PUBACK at once; default 64
	// CommandsQoS0 subscribes to commands at QoS 0 instead of 1: with the
	// uplink's clean session, QoS 1 keeps no command QoS 0 would lose (a
	// command in flight when the connection ends is gone either way), and
	// on NATS's MQTT listener a QoS 0 subscription is no JetStream consumer
	// (docs/SCALING.md: those consumers make each event cost the cluster in
	// proportion to the sessions).
	CommandsQoS0 bool

	KeepAlive      time.Duration // default 30 s
	ConnectTimeout time.Duration // default 10 s
	BackoffMin     time.Duration // default 250 ms
	BackoffMax     time.Duration // default 30 s

	Now     func() time.Time // default time.Now
	Rand    func() float64   // jitter in [0,1); default math/rand/v2
	Log     *zerolog.Logger
	Metrics Metrics
	// DeadLetterAlarm, if set, is called once a record that can never be
	// published (it no longer decodes) is in the dead-letter stream, to
	// raise the visible alarm (sinks.Options.Alarm).
	DeadLetterAlarm func(ctx context.Context, dl sinks.DeadLetter) error
}

// SinkName is the uplink's name as a sink: its log field and metrics label.
const SinkName = "mqtt"

// Metrics is what the uplink reports; the gateway's metrics package implements
// it. Methods must not block.
type Metrics interface {
	Published(stream string, ackLatency time.Duration)
	PublishFailed(stream string)
	Undeliverable(stream string)
	Connected(up bool)
	Reconnect(err error)
	Inflight(n int)
}

type nopMetrics struct{}

func (nopMetrics) Published(string, time.Duration) {}
func (nopMetrics) PublishFailed(string)            {}
func (nopMetrics) Undeliverable(string)            {}
func (nopMetrics) Connected(bool)                  {}
func (nopMetrics) Reconnect(error)                 {}
func (nopMetrics) Inflight(int)                    {}

// Inbound is a command as it arrived on a command topic.
type Inbound struct {
	Device  string // empty for a gateway command
	Name    string
	Payload []byte
	Err     error // set when the topic itself is malformed
	Topic   string
	// Retained is set for a retained message the broker replayed on
	// subscribing: sent some time ago, never to be executed (MQTT.md §6).
	// A message matching a live subscription arrives with it unset, however
	// it was published [MQTT-3.3.1-9].
	Retained bool
}

// NewInbound is the command a message on topic carries, as the uplink hands
// it on.
func NewInbound(t envelope.Topics, topic string, payload []byte, retained bool) Inbound {
	in := Inbound{Topic: topic, Payload: payload, Retained: retained}
	in.Device, in.Name, in.Err = t.ParseCommand(topic)
	return in
}

// Uplink is the MQTT side of the gateway.
type Uplink struct {
	// Immutable.
	j        *journal.Journal
	opt      Options
	log      zerolog.Logger
	runner   *sinks.Runner // drives the uplink as a sink (WindowSink) from the journal's primary cursors
	commands chan Inbound
	done     chan struct{} // closed when Run returns
	brokers  []string      // Broker, then Brokers

	// Owned by Run's goroutine.
	next int // index in brokers of the next connection attempt

	mu sync.Mutex
	// Guarded by mu.
	client   mqtt.Client             // the connected client, nil when down
	sess     context.Context         // the session's context, with client
	endSess  context.CancelCauseFunc // ends the session (a publish failed), with client
	up       chan struct{}           // closed once a session is up; a new one when it ends
	inflight *atomic.Int64           // the session's publishes awaiting their PUBACK, with client
	statuses map[string]envelope.DeviceStatus
	enroll   []byte // the retained enrollment message; nil: none
	lastUp   time.Time
	broker   string // the URL of the session that is up; "" when down
}

// New prepares an uplink over the journal's streams. Run starts it.
func New(j *journal.Journal, o Options) (*Uplink, error) {
	if o.Version == "" {
		o.Version = "unknown" // the status schema wants a version; a test or embedder may not set one
	}
	if o.Inflight == 0 {
		o.Inflight = 64
	}
	if o.KeepAlive == 0 {
		o.KeepAlive = 30 * time.Second
	}
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.BackoffMin == 0 {
		o.BackoffMin = 250 * time.Millisecond
	}
	if o.BackoffMax == 0 {
		o.BackoffMax = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	if o.Metrics == nil {
		o.Metrics = nopMetrics{}
	}
	log := zerolog.Nop()
	if o.Log != nil {
		log = *o.Log
	}
	switch {
	case o.Broker == "" || slices.Contains(o.Brokers, ""):
		return nil, errors.New("uplink: no broker URL")
	case o.ClientID == "":
		return nil, errors.New("uplink: no client id")
	case o.Inflight < 1 || o.Inflight > 65535:
		return nil, fmt.Errorf("uplink: inflight %d: must be 1..65535", o.Inflight)
	case o.BackoffMin > o.BackoffMax:
		return nil, fmt.Errorf("uplink: backoff min %v above max %v", o.BackoffMin, o.BackoffMax)
	case len(o.Streams) == 0:
		return nil, errors.New("uplink: no streams to publish")
	}
	u := &Uplink{j: j, opt: o, log: log, commands: make(chan Inbound, 64), done: make(chan struct{}),
		statuses: map[string]envelope.DeviceStatus{}, brokers: append([]string{o.Broker}, o.Brokers...), up: make(chan struct{})}
	r, err := sinks.New(j, u, sinks.Options{Name: SinkName, Streams: o.Streams, Topics: o.Topics, Format: o.Format,
		// No sinks.Metrics: the uplink counts its publishes itself (Metrics),
		// with the stream and the PUBACK latency the runner does not know.
		Primary: true, Log: &log, Alarm: u.deadLetter,
		// The connection's own backoff paces reconnects (Send waits for a
		// session): a failed round only waits this long to start again.
		BackoffMin: 10 * time.Millisecond, BackoffMax: time.Second})
	if err != nil {
		return nil, fmt.Errorf("uplink: %w", err)
	}
	u.runner = r
	return u, nil
}

// deadLetter counts a record that can never be published and raises the
// alarm.
func (u *Uplink) deadLetter(ctx context.Context, dl sinks.DeadLetter) error {
	u.opt.Metrics.Undeliverable(dl.Stream)
	if u.opt.DeadLetterAlarm != nil {
		return u.opt.DeadLetterAlarm(ctx, dl)
	}
	return nil
}

// Commands delivers inbound commands until Run returns (the channel is never
// closed: select on your own context too). The uplink holds further commands
// back while the consumer is behind, so read it promptly.
func (u *Uplink) Commands() <-chan Inbound { return u.commands }

// Connected reports whether a session is up, and when one last was.
func (u *Uplink) Connected() (bool, time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.client != nil, u.lastUp
}

// Broker returns the URL of the broker the session is up with, "" when
// none is.
func (u *Uplink) Broker() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.broker
}

// SetDeviceStatus records a device's status and publishes it retained if
// connected; every new session republishes all of them (brokers lose retained
// messages, and consumers must not see a device stuck in a stale state).
func (u *Uplink) SetDeviceStatus(st envelope.DeviceStatus) {
	u.mu.Lock()
	u.statuses[st.Device] = st
	c := u.client
	u.mu.Unlock()
	if c != nil {
		u.publishStatus(c, st) // fire and forget: a failure ends the session, which republishes
	}
}

// SetEnrollment records the retained enrollment message (the units waiting
// for approval, MQTT.md §8) and publishes it if connected; every new
// session republishes it.
func (u *Uplink) SetEnrollment(payload []byte) {
	u.mu.Lock()
	u.enroll = payload
	c := u.client
	u.mu.Unlock()
	if c != nil {
		c.Publish(u.opt.Topics.Enrollment(), 1, true, payload)
	}
}

func (u *Uplink) publishStatus(c mqtt.Client, st envelope.DeviceStatus) mqtt.Token {
	st.V, st.Gateway = envelope.Version, u.opt.Topics.Gateway
	p, err := envelope.StatusPayload(u.opt.Format, st)
	if err != nil {
		u.log.Error().Err(err).Str("device", st.Device).Msg("uplink: render device status")
		return nil
	}
	return c.Publish(u.opt.Topics.DeviceStatus(st.Device), 1, true, p)
}

func (u *Uplink) gatewayStatus(state string) []byte {
	return u.gatewayStatusAt(state, u.opt.Now(), journal.FullState{})
}

// gatewayStatusAt renders the gateway status; an online one carries the
// journal's fullness (MQTT.md §8).
func (u *Uplink) gatewayStatusAt(state string, since time.Time, full journal.FullState) []byte {
	st := envelope.GatewayStatus{
		V: envelope.Version, Gateway: u.opt.Topics.Gateway, State: state, Boot: u.opt.Boot,
		Version: u.opt.Version, Since: envelope.StampOf(since).String(),
	}
	if full.Full {
		st.Journal = &envelope.JournalStatus{State: envelope.JournalFull, Cause: full.Cause,
			Since: envelope.StampOf(full.Since.UTC()).String()}
	}
	p, _ := envelope.StatusPayload(u.opt.Format, st)
	return p
}

// watchJournal republishes the online status whenever the journal starts or
// stops refusing events, until ctx ends. changed is the channel that came
// with the state the session's first online status carried.
func (u *Uplink) watchJournal(ctx context.Context, c mqtt.Client, since time.Time, changed <-chan struct{}) {
	for {
		select {
		case <-changed:
		case <-ctx.Done():
			return
		}
		var full journal.FullState
		full, changed = u.j.FullState()
		// Fire and forget, like device statuses: a failed publish ends the
		// session, and the next one publishes the state afresh.
		c.Publish(u.opt.Topics.GatewayStatus(), 1, true, u.gatewayStatusAt(envelope.StateOnline, since, full))
	}
}

// Run keeps a session up until ctx ends, then publishes the offline status and
// disconnects; meanwhile a sinks.Runner publishes the journal's streams
// through it (sink.go). It returns nil on cancellation.
func (u *Uplink) Run(ctx context.Context) error {
	defer close(u.done)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg     sync.WaitGroup
		runErr error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if runErr = u.runner.Run(ctx); runErr != nil {
			cancel() // the journal failed under it: nothing more to publish
		}
	}()
	u.supervise(ctx)
	cancel()
	wg.Wait()
	return runErr
}

// supervise keeps a session up until ctx ends.
func (u *Uplink) supervise(ctx context.Context) {
	attempt := 0
	for ctx.Err() == nil {
		broker := u.brokers[u.next]
		c, lost, err := u.connect(ctx, broker)
		if err == nil {
			attempt = 0
			err = u.session(ctx, c, lost, broker)
			if ctx.Err() != nil {
				u.shutdown(c)
				return
			}
			c.Disconnect(0)
		}
		if ctx.Err() != nil {
			return
		}
		u.opt.Metrics.Reconnect(err)
		delay := u.backoff(attempt)
		attempt++
		u.next = (u.next + 1) % len(u.brokers) // doc.go: failover
		u.log.Warn().Err(err).Dur("retry_in", delay).Str("broker", broker).Str("next", u.brokers[u.next]).Msg("uplink: broker connection down")
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return
		}
	}
}

// backoff is the module's (internal/backoff), so a floor of gateways
// restarted together does not reconnect in lockstep.
func (u *Uplink) backoff(attempt int) time.Duration {
	return backoff.Backoff{Min: u.opt.BackoffMin, Max: u.opt.BackoffMax}.Delay(attempt, u.opt.Rand())
}

func (u *Uplink) connect(ctx context.Context, broker string) (mqtt.Client, <-chan error, error) {
	o := mqtt.NewClientOptions().
		AddBroker(broker).
		SetClientID(u.opt.ClientID).
		// MQTT 3.1.1 only: paho would otherwise retry a refused or timed-out
		// handshake as MQTT 3.1, which the contract does not speak and NATS
		// refuses (TestConnectSpeaksOnly311).
		SetProtocolVersion(4).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetOrderMatters(false). // handlers may block: each runs in its own goroutine
		SetKeepAlive(u.opt.KeepAlive).
		SetConnectTimeout(u.opt.ConnectTimeout).
		SetWriteTimeout(u.opt.ConnectTimeout).
		SetStore(mqtt.NewMemoryStore()).
		SetBinaryWill(u.opt.Topics.GatewayStatus(), u.gatewayStatus(envelope.StateOffline), 1, true)
	if u.opt.Username != "" {
		o.SetUsername(u.opt.Username).SetPassword(u.opt.Password)
	}
	if u.opt.TLS != nil {
		cfg, err := u.opt.TLS()
		if err != nil {
			return nil, nil, fmt.Errorf("uplink: TLS configuration: %w", err)
		}
		o.SetTLSConfig(cfg)
	}
	if u, err := url.Parse(broker); err == nil && plainTCP(u) {
		o.SetCustomOpenConnectionFn(openBuffered) // conn.go
	}
	lost := make(chan error, 1)
	o.SetConnectionLostHandler(func(_ mqtt.Client, err error) {
		select {
		case lost <- err:
		default:
		}
	})
	o.SetDefaultPublishHandler(u.onMessage)
	c := mqtt.NewClient(o)
	tok := c.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		c.Disconnect(0)
		return nil, nil, ctx.Err()
	}
	if err := tok.Error(); err != nil {
		return nil, nil, fmt.Errorf("uplink: connect to %s: %w", broker, err)
	}
	return c, lost, nil
}

// onMessage receives commands (paho calls it in its own goroutine).
func (u *Uplink) onMessage(_ mqtt.Client, m mqtt.Message) {
	in := NewInbound(u.opt.Topics, m.Topic(), m.Payload(), m.Retained())
	select {
	case u.commands <- in:
	case <-u.done:
	}
}

// session keeps a connection until it is lost, a publish fails, or ctx
// ends; meanwhile Send publishes on it.
func (u *Uplink) session(ctx context.Context, c mqtt.Client, lost <-chan error, broker string) error {
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	since := u.opt.Now()
	full, fullChanged := u.j.FullState()
	if err := wait(sctx, c.Publish(u.opt.Topics.GatewayStatus(), 1, true, u.gatewayStatusAt(envelope.StateOnline, since, full))); err != nil {
		return fmt.Errorf("uplink: publish online status: %w", err)
	}
	qos := byte(1)
	if u.opt.CommandsQoS0 {
		qos = 0
	}
	subs := map[string]byte{}
	for _, f := range u.opt.Topics.CommandFilters() {
		subs[f] = qos
	}
	if err := wait(sctx, c.SubscribeMultiple(subs, u.onMessage)); err != nil {
		return fmt.Errorf("uplink: subscribe to commands: %w", err)
	}
	u.mu.Lock()
	u.client, u.lastUp, u.broker = c, u.opt.Now(), broker
	var statuses []envelope.DeviceStatus
	for _, st := range u.statuses {
		statuses = append(statuses, st)
	}
	enroll := u.enroll
	u.mu.Unlock()
	u.opt.Metrics.Connected(true)
	defer func() {
		u.mu.Lock()
		u.client, u.sess, u.endSess, u.inflight, u.lastUp, u.broker = nil, nil, nil, nil, u.opt.Now(), ""
		u.up = make(chan struct{})
		u.mu.Unlock()
		u.opt.Metrics.Connected(false)
		u.opt.Metrics.Inflight(0)
	}()
	for _, st := range statuses {
		u.publishStatus(c, st)
	}
	if enroll != nil {
		c.Publish(u.opt.Topics.Enrollment(), 1, true, enroll)
	}
	// The journal's records go out from here on (Send), after the statuses.
	u.mu.Lock()
	u.sess, u.endSess, u.inflight = sctx, cancel, &atomic.Int64{}
	close(u.up)
	u.mu.Unlock()
	u.log.Info().Str("broker", broker).Msg("uplink: connected")

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); u.watchJournal(sctx, c, since, fullChanged) }()
	select {
	case err := <-lost:
		cancel(fmt.Errorf("uplink: connection lost: %w", err))
	case <-sctx.Done():
	}
	wg.Wait()
	return context.Cause(sctx)
}

// shutdown publishes the offline status (the will is only sent on an unclean
// disconnect) and disconnects.
func (u *Uplink) shutdown(c mqtt.Client) {
	tok := c.Publish(u.opt.Topics.GatewayStatus(), 1, true, u.gatewayStatus(envelope.StateOffline))
	tok.WaitTimeout(2 * time.Second)
	c.Disconnect(250)
	u.log.Info().Msg("uplink: disconnected cleanly")
}

func wait(ctx context.Context, tok mqtt.Token) error {
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
