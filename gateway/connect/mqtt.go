package connect

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/officegate/officegate/internal/backoff"
)

// MQTT takes the contract's messages from an MQTT broker: a persistent
// session (clean session off) subscribed at QoS 1, each message's PUBACK
// sent once the sinks have passed it (doc.go, "MQTT").
type MQTT struct {
	URLs     []string // brokers (or a cluster's nodes), tried in turn
	ClientID string   // the persistent session's id: one per replica
	// ShareGroup, if set, subscribes through $share/<ShareGroup>/… so that
	// the replicas of one group share the messages (doc.go, "MQTT", says
	// where that is safe).
	ShareGroup string
	Root       string // the contract's topic root; default "officegate"
	Username   string
	Password   string
	TLS        *tls.Config
	KeepAlive  time.Duration // default 30 s
	Batch      int           // messages per ingest at most; default DefaultBatch
	Log        zerolog.Logger
	// BackoffMin and BackoffMax space the reconnections; default 250 ms
	// and 10 s.
	BackoffMin, BackoffMax time.Duration
}

// Filters are the topic filters of the messages the sinks take, shared
// through ShareGroup when set.
func (s *MQTT) Filters() []string {
	root := s.root()
	fs := []string{root + "/+/devices/+/events/+", root + "/+/devices/+/results", root + "/+/results"}
	if s.ShareGroup != "" {
		for i, f := range fs {
			fs[i] = "$share/" + s.ShareGroup + "/" + f
		}
	}
	return fs
}

func (s *MQTT) root() string {
	if s.Root == "" {
		return "officegate"
	}
	return s.Root
}

// Run implements Source: one session at a time, the next URL after a lost
// one.
func (s *MQTT) Run(ctx context.Context, ingest Ingest) error {
	if len(s.URLs) == 0 || s.ClientID == "" {
		return errors.New("connect: mqtt: urls and client id are required")
	}
	if s.KeepAlive <= 0 {
		s.KeepAlive = 30 * time.Second
	}
	if s.Batch <= 0 {
		s.Batch = DefaultBatch
	}
	if s.BackoffMin <= 0 {
		s.BackoffMin = 250 * time.Millisecond
	}
	if s.BackoffMax <= 0 {
		s.BackoffMax = 10 * time.Second
	}
	for attempt, i := 0, 0; ; i++ {
		url := s.URLs[i%len(s.URLs)]
		took, err := s.session(ctx, url, ingest)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errIngest) {
			return err
		}
		if took {
			attempt = 0
		}
		s.Log.Warn().Err(err).Str("broker", url).Msg("connect: mqtt: session ended; reconnecting")
		d := backoff.Backoff{Min: s.BackoffMin, Max: s.BackoffMax}.Delay(attempt, rand.Float64())
		attempt++
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// session runs one connection until it is lost or ctx ends; took says
// whether it got as far as subscribing.
func (s *MQTT) session(ctx context.Context, url string, ingest Ingest) (took bool, err error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	in := make(chan mqtt.Message, s.Batch)
	lost := make(chan error, 1)
	acks := &orderedAcks{}
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID(s.ClientID).SetCleanSession(false).
		SetProtocolVersion(4). // 3.1.1 only, never paho's fall-back to 3.1 (the uplink's TestConnectSpeaksOnly311)
		// The session is ours to restart, as the uplink's is; a message is
		// acknowledged only once the sinks have it.
		SetAutoReconnect(false).SetConnectRetry(false).SetAutoAckDisabled(true).SetOrderMatters(true).
		SetKeepAlive(s.KeepAlive).SetConnectTimeout(10 * time.Second).SetUsername(s.Username).SetPassword(s.Password).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			select {
			case lost <- err:
			default:
			}
		}).
		// Messages of the session that the broker sends before the
		// subscription is renewed come here too. Blocking is the
		// backpressure: paho stops reading the connection.
		SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) {
			select {
			case in <- m:
			case <-sctx.Done():
			}
		})
	if s.TLS != nil {
		o.SetTLSConfig(s.TLS)
	}
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		return false, fmt.Errorf("connect: mqtt: connect to %s: %w", url, tokenErr(tok))
	}
	defer func() {
		cancel() // unblocks the handler
		c.Disconnect(250)
	}()
	filters := map[string]byte{}
	for _, f := range s.Filters() {
		filters[f] = 1
	}
	// The session's messages may come before the SUBACK: they are taken
	// while the subscription is renewed (paho handles the SUBACK on the
	// goroutine the handler blocks).
	sub := c.SubscribeMultiple(filters, nil)
	subDone, subBy := sub.Done(), time.After(30*time.Second)
	for {
		var first mqtt.Message
		select {
		case <-ctx.Done():
			return took, nil
		case err := <-lost:
			return took, fmt.Errorf("connect: mqtt: connection to %s lost: %w", url, err)
		case <-subDone:
			if err := sub.Error(); err != nil {
				return took, fmt.Errorf("connect: mqtt: subscribe on %s: %w", url, err)
			}
			if st, ok := sub.(*mqtt.SubscribeToken); ok {
				for f, q := range st.Result() {
					if q != 1 {
						// 0x80 refused (an ACL), 0 would lose messages.
						return took, fmt.Errorf("connect: mqtt: subscribe on %s: %q granted QoS %#x, want 1", url, f, q)
					}
				}
			}
			subDone, subBy, took = nil, nil, true
			s.Log.Info().Str("broker", url).Str("client_id", s.ClientID).Strs("filters", s.Filters()).Msg("connect: mqtt: consuming")
			continue
		case <-subBy:
			return took, fmt.Errorf("connect: mqtt: subscribe on %s: no SUBACK within 30 s", url)
		case first = <-in:
		}
		batch := []mqtt.Message{first}
	more:
		for len(batch) < s.Batch {
			select {
			case m := <-in:
				batch = append(batch, m)
			default:
				break more
			}
		}
		parsed := make([]Message, 0, len(batch))
		for _, m := range batch {
			ack := acks.add(m)
			pm, err := Parse(s.root(), m.Topic(), m.Payload())
			if err != nil {
				s.Log.Warn().Err(err).Str("topic", m.Topic()).Msg("connect: mqtt: a message no sink takes: acknowledged and dropped")
				ack()
				continue
			}
			pm.Ack = ack
			parsed = append(parsed, pm)
		}
		if err := ingest(ctx, parsed); err != nil {
			if ctx.Err() != nil {
				return took, nil
			}
			return took, fmt.Errorf("%w: %w", errIngest, err)
		}
	}
}

func tokenErr(tok mqtt.Token) error {
	if err := tok.Error(); err != nil {
		return err
	}
	return errors.New("timed out")
}

// orderedAcks sends a session's PUBACKs in the order its PUBLISHes came,
// as MQTT 3.1.1 requires [MQTT-4.6.0-2], whatever order the sinks finish
// them in: an acknowledgement waits for those of the messages before it.
type orderedAcks struct {
	mu sync.Mutex
	// Guarded by mu.
	next    uint64 // the index of the next message to come
	flushed uint64 // messages before this index are acknowledged
	done    map[uint64]mqtt.Message
}

// add registers the next message and returns the func that acknowledges
// it (once; later calls do nothing).
func (a *orderedAcks) add(m mqtt.Message) func() {
	a.mu.Lock()
	i := a.next
	a.next++
	a.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			if a.done == nil {
				a.done = map[uint64]mqtt.Message{}
			}
			a.done[i] = m
			for {
				m, ok := a.done[a.flushed]
				if !ok {
					return
				}
				delete(a.done, a.flushed)
				a.flushed++
				m.Ack()
			}
		})
	}
}
