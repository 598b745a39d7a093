package connect

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/officegate/officegate/internal/backoff"
)

// JetStream takes the contract's messages from a JetStream stream through a
// durable pull consumer shared by every replica (doc.go, "JetStream").
type JetStream struct {
	URLs []string // nats://host:port of the cluster's nodes
	// Stream is the stream read; default MQTTStream, the MQTT listener's
	// own store of QoS 1 messages, which keeps every message the gateways
	// were PUBACKed for until the consumer acknowledges it (doc.go,
	// "JetStream"). Another stream (OFFICEGATE, for NATS-native
	// publishers) holds the contract's subjects as they are.
	Stream   string
	Consumer string // the durable consumer's name, the same in every replica
	Root     string // the contract's topic root; default "officegate"
	// AckWait is how long the cluster waits for a message's ack before it
	// gives it to another replica; default DefaultAckWait.
	AckWait time.Duration
	// MaxAckPending bounds the messages handed out and not yet acknowledged,
	// across the replicas; default DefaultMaxAckPending.
	MaxAckPending int
	Batch         int // messages per fetch; default DefaultBatch
	User          string
	Password      string
	TLS           *tls.Config // nil: plain
	Name          string      // the connection's name in the cluster's monitoring
	Log           zerolog.Logger
	// BackoffMin and BackoffMax space the retries after a failed fetch or a
	// cluster that cannot be reached; default 250 ms and 10 s.
	BackoffMin, BackoffMax time.Duration
	// Shared makes every replica fetch (load shared, no device order across
	// replicas); by default one replica, the lease's holder, fetches and
	// the others stand by (doc.go, "Order").
	Shared bool
	// LeaseTTL is how long a dead holder's lease outlives it; default
	// DefaultLeaseTTL. The lease bucket's max age, once created, rules.
	LeaseTTL time.Duration
	Replica  string // this replica's name in the lease; default host/pid

	active   func(bool) // connect's metrics (reportRole)
	takeover func()
	// unacked counts the messages handed to ingest and not yet
	// acknowledged: those of the consumer's pending this replica holds.
	unacked atomic.Int64
}

// Defaults of the JetStream source (doc.go, "JetStream" explains them).
const (
	DefaultAckWait       = 30 * time.Second
	DefaultMaxAckPending = 4096
	DefaultBatch         = 256
)

// MQTTStream is the stream nats-server's MQTT listener stores every QoS 1
// message in before it sends the publisher's PUBACK, under
// MQTTSubjectPrefix + the message's subject (nats-server v2.10.24,
// server/mqtt.go: mqttStreamName, mqttStreamSubjectPrefix,
// mqttInitiateMsgDelivery). The server creates it (interest retention, file
// storage, mqtt.stream_replicas replicas) when the first MQTT client of the
// account connects.
const (
	MQTTStream        = "$MQTT_msgs"
	MQTTSubjectPrefix = "$MQTT.msgs."
)

// prefix is what the stream puts before a message's subject.
func (s *JetStream) prefix() string {
	if s.stream() == MQTTStream {
		return MQTTSubjectPrefix
	}
	return ""
}

func (s *JetStream) stream() string {
	if s.Stream == "" {
		return MQTTStream
	}
	return s.Stream
}

// subjectOf turns an MQTT topic filter's levels into a NATS subject's
// tokens: '/' separates, and a '.' in a level is "//" (nats-server's MQTT
// mapping, docs/nats/README.md).
func subjectOf(topic string) string {
	lv := strings.Split(topic, "/")
	for i, l := range lv {
		lv[i] = strings.ReplaceAll(l, ".", "//")
	}
	return strings.Join(lv, ".")
}

// topicOf is subjectOf's inverse.
func topicOf(subject string) string {
	tk := strings.Split(subject, ".")
	for i, t := range tk {
		tk[i] = strings.ReplaceAll(t, "//", ".")
	}
	return strings.Join(tk, "/")
}

// Filters are the subjects of the messages the sinks take: device events,
// device results, gateway results.
func (s *JetStream) Filters() []string {
	r := s.prefix() + subjectOf(s.root())
	return []string{r + ".*.devices.*.events.*", r + ".*.devices.*.results", r + ".*.results"}
}

func (s *JetStream) root() string {
	if s.Root == "" {
		return "officegate"
	}
	return s.Root
}

func (s *JetStream) defaults() {
	if s.AckWait <= 0 {
		s.AckWait = DefaultAckWait
	}
	if s.MaxAckPending <= 0 {
		s.MaxAckPending = DefaultMaxAckPending
	}
	if s.Batch <= 0 {
		s.Batch = DefaultBatch
	}
	s.Batch = min(s.Batch, s.MaxAckPending)
	if s.BackoffMin <= 0 {
		s.BackoffMin = 250 * time.Millisecond
	}
	if s.BackoffMax <= 0 {
		s.BackoffMax = 10 * time.Second
	}
	if s.LeaseTTL <= 0 {
		s.LeaseTTL = DefaultLeaseTTL
	}
	if s.Replica == "" {
		s.Replica = defaultReplica()
	}
}

// Run implements Source.
func (s *JetStream) Run(ctx context.Context, ingest Ingest) error {
	s.defaults()
	if len(s.URLs) == 0 || s.Consumer == "" {
		return errors.New("connect: jetstream: urls and consumer are required")
	}
	opts := []nats.Option{nats.Name(s.Name), nats.MaxReconnects(-1), nats.RetryOnFailedConnect(true),
		nats.ReconnectWait(time.Second), nats.ReconnectJitter(500*time.Millisecond, time.Second)}
	if s.User != "" {
		opts = append(opts, nats.UserInfo(s.User, s.Password))
	}
	if s.TLS != nil {
		opts = append(opts, nats.Secure(s.TLS))
	}
	nc, err := nats.Connect(strings.Join(s.URLs, ","), opts...)
	if err != nil {
		return fmt.Errorf("connect: jetstream: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("connect: jetstream: %w", err)
	}
	var cons jetstream.Consumer
	for attempt := 0; ; attempt++ {
		cons, err = s.consumer(ctx, js)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		s.Log.Warn().Err(err).Str("stream", s.stream()).Str("consumer", s.Consumer).Msg("connect: jetstream: no consumer yet; retrying")
		if !s.sleep(ctx, attempt) {
			return nil
		}
	}
	s.Log.Info().Str("stream", s.stream()).Str("consumer", s.Consumer).Strs("filters", s.Filters()).Msg("connect: jetstream: consuming")
	if !s.Shared {
		return s.standby(ctx, js, cons, ingest)
	}
	s.role(true, false)
	err = s.settle(ctx, cons, ingest, nil)
	if err == nil {
		err = s.loop(ctx, cons, ingest, nil)
	}
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// loop fetches and takes batches while g holds (nil: until ctx ends).
func (s *JetStream) loop(ctx context.Context, cons jetstream.Consumer, ingest Ingest, g *grant) error {
	var next uint64 // the consumer's delivery sequence the next message should have; 0: unknown
	for attempt := 0; ctx.Err() == nil; {
		msgs, err := s.fetch(ctx, cons, g)
		if err == nil && len(msgs) > 0 {
			var last uint64
			if g != nil && gap(msgs, next, &last) {
				// Deliveries missing between those fetched: with one
				// replica fetching, a batch lost on its way (its node
				// died); they come back after AckWait (doc.go, "Order").
				s.Log.Info().Uint64("expected", next).Msg("connect: jetstream: deliveries missing between the fetched messages (a batch lost on its way): gathering until they come back, to keep the stream's order")
				err, last = s.gather(ctx, cons, ingest, g, msgs), 0
			} else {
				err = s.take(ctx, msgs, ingest, g)
			}
			next = 0
			if last > 0 {
				next = last + 1
			}
		}
		switch {
		case ctx.Err() != nil:
			return nil
		case err == nil:
			attempt = 0
		case errors.Is(err, errIngest), errors.Is(err, errLeaseLost):
			return err
		default:
			s.Log.Warn().Err(err).Msg("connect: jetstream: fetch failed; retrying")
			if !s.sleep(ctx, attempt) {
				return nil
			}
			attempt++
		}
	}
	return nil
}

// errIngest marks a failure of the local side (the journal, the dedup
// store): not retried here, it stops connect.
var errIngest = errors.New("connect: ingest")

func (s *JetStream) consumer(ctx context.Context, js jetstream.JetStream) (jetstream.Consumer, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return js.CreateOrUpdateConsumer(cctx, s.stream(), s.ConsumerConfig())
}

// ConsumerConfig is the durable consumer every replica creates or binds
// to (the same in each, so none changes it under the others). On
// MQTTStream it is the interest that keeps the messages: one published
// while it does not exist is not kept for it (docs/nats/connect-consumer.json
// creates it with the cluster).
func (s *JetStream) ConsumerConfig() jetstream.ConsumerConfig {
	s.defaults()
	return jetstream.ConsumerConfig{
		Durable:        s.Consumer,
		Description:    "officegate connect: the sinks' work queue",
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        s.AckWait,
		MaxAckPending:  s.MaxAckPending,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		FilterSubjects: s.Filters(),
	}
}

// fetch waits up to a few seconds for a batch; with a lease, only while
// the lease surely outlasts the wait, and it keeps nothing fetched once the
// lease is not surely this replica's: it gives it back (Nak) to the next
// holder, whose settle takes it in order (doc.go, "Order").
func (s *JetStream) fetch(ctx context.Context, cons jetstream.Consumer, g *grant) ([]jetstream.Msg, error) {
	wait := min(5*time.Second, s.AckWait/2)
	if g != nil {
		wait = min(wait, g.l.fetchWait())
	}
	if !g.room(wait) {
		return nil, errLeaseLost
	}
	b, err := cons.Fetch(s.Batch, jetstream.FetchMaxWait(wait))
	if err != nil {
		return nil, err
	}
	var out []jetstream.Msg
	for m := range b.Messages() {
		out = append(out, m)
	}
	if err := b.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && len(out) == 0 {
		return nil, err
	}
	if !g.ok() {
		for _, m := range out {
			m.Nak()
		}
		return nil, errLeaseLost
	}
	return out, ctx.Err()
}

// settle runs at start, and when this replica takes the lease over:
// messages a previous run of this replica (killed), or the previous
// holder, had fetched and not acknowledged are redelivered only after
// AckWait, after later ones; until every message still pending is in this
// replica's hands, it gathers what it fetches without journaling it, then
// takes it all in the stream's order (doc.go, "Order").
func (s *JetStream) settle(ctx context.Context, cons jetstream.Consumer, ingest Ingest, g *grant) error {
	info, err := cons.Info(ctx)
	if err != nil || info.NumAckPending == 0 {
		return nil // nothing pending (or unknown: the main loop runs as usual)
	}
	s.Log.Info().Int("pending", info.NumAckPending).Dur("ack_wait", s.AckWait).
		Msg("connect: jetstream: messages delivered before and not acknowledged: gathering them before taking any, to keep the stream's order")
	return s.gather(ctx, cons, ingest, g, nil)
}

// gap says whether msgs' delivery sequences skip one: from next (0:
// unknown) and between them. last is the last one's.
func gap(msgs []jetstream.Msg, next uint64, last *uint64) bool {
	skipped := false
	for _, m := range msgs {
		md, err := m.Metadata()
		if err != nil {
			continue
		}
		if next != 0 && md.Sequence.Consumer > next {
			skipped = true
		}
		next, *last = md.Sequence.Consumer+1, md.Sequence.Consumer
	}
	return skipped
}

// gather holds held and what it fetches, without journaling any, until
// every message the consumer has handed out and not had acknowledged is
// in this replica's hands (held, or journaled and waiting for the sinks)
// or two AckWaits have passed, then takes them all in the stream's order.
func (s *JetStream) gather(ctx context.Context, cons jetstream.Consumer, ingest Ingest, g *grant, held []jetstream.Msg) error {
	deadline := time.Now().Add(2*s.AckWait + 5*time.Second)
	seen := map[uint64]bool{}
	for _, m := range held {
		if md, err := m.Metadata(); err == nil {
			seen[md.Sequence.Stream] = true
		}
	}
	lastKeep := time.Now()
	for time.Now().Before(deadline) && len(held) < s.MaxAckPending {
		if info, err := cons.Info(ctx); err == nil && info.NumAckPending <= above(held, info.AckFloor.Stream)+int(s.unacked.Load()) {
			break
		}
		msgs, err := s.fetch(ctx, cons, g)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, errLeaseLost) {
			for _, m := range held {
				m.Nak()
			}
			return err
		}
		for _, m := range msgs {
			md, err := m.Metadata()
			if err != nil || seen[md.Sequence.Stream] {
				continue
			}
			seen[md.Sequence.Stream] = true
			held = append(held, m)
		}
		if err == nil && time.Since(lastKeep) > s.AckWait/3 {
			keepAll(held)
			lastKeep = time.Now()
		}
	}
	slices.SortFunc(held, func(a, b jetstream.Msg) int {
		ma, _ := a.Metadata()
		mb, _ := b.Metadata()
		if ma == nil || mb == nil {
			return 0
		}
		return cmp.Compare(ma.Sequence.Stream, mb.Sequence.Stream)
	})
	s.Log.Info().Int("messages", len(held)).Msg("connect: jetstream: taking the gathered messages in stream order")
	for len(held) > 0 {
		n := min(len(held), s.Batch)
		if err := s.take(ctx, held[:n], ingest, g); err != nil {
			return err
		}
		held = held[n:]
	}
	return nil
}

// above counts the messages past the consumer's ack floor: those that may
// still be pending. One at or below it was acknowledged (by the replica
// that held it before, still finishing its own).
func above(msgs []jetstream.Msg, floor uint64) int {
	n := 0
	for _, m := range msgs {
		if md, err := m.Metadata(); err == nil && md.Sequence.Stream > floor {
			n++
		}
	}
	return n
}

func keepAll(msgs []jetstream.Msg) {
	for _, m := range msgs {
		m.InProgress()
	}
}

// take journals a batch, in its order; connect acknowledges each message
// once its sinks have passed it, and keeps it meanwhile, while g holds:
// a replica that lost the lease leaves what it has not acknowledged to
// come back to the next holder, which gathers it in order.
func (s *JetStream) take(ctx context.Context, msgs []jetstream.Msg, ingest Ingest, g *grant) error {
	parsed := make([]Message, 0, len(msgs))
	for _, m := range msgs {
		subject, ok := strings.CutPrefix(m.Subject(), s.prefix())
		var pm Message
		var err error
		if ok {
			pm, err = Parse(s.root(), topicOf(subject), m.Data())
		} else {
			err = fmt.Errorf("subject without the stream's prefix %q", s.prefix())
		}
		if err != nil {
			// Not for the sinks: the filters let only a topic of other
			// bytes through.
			s.Log.Warn().Err(err).Str("subject", m.Subject()).Msg("connect: jetstream: a message no sink takes: acknowledged and dropped")
			m.Ack()
			continue
		}
		// A lost ack makes the message come again: a duplicate, dropped by
		// its id.
		var acked atomic.Bool
		s.unacked.Add(1)
		pm.Ack, pm.Keep = func() {
			if !acked.Swap(true) {
				s.unacked.Add(-1)
			}
			if g.ok() {
				m.Ack()
			}
		}, func() {
			if g.ok() {
				m.InProgress()
			}
		}
		parsed = append(parsed, pm)
	}
	if err := ingest(ctx, parsed); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: %w", errIngest, err)
	}
	return nil
}

func (s *JetStream) sleep(ctx context.Context, attempt int) bool {
	d := backoff.Backoff{Min: s.BackoffMin, Max: s.BackoffMax}.Delay(attempt, rand.Float64())
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
