package config

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	toml "github.com/pelletier/go-toml/v2"

	"github.com/officegate/officegate/gateway/envelope"
)

// Connect is the configuration of officegate connect, the central consumer
// (CONFIG.md "officegate connect"): where it takes events from, and the
// same [[sinks]], [journal], [http] and [log] as a gateway.
type Connect struct {
	File string
	// StateDir holds the local journal, the dedup keys, held records and
	// the person directory; default DefaultConnectState.
	StateDir    string
	DedupWindow time.Duration // default DefaultDedupWindow
	TopicRoot   string        // the gateways' mqtt.topic_root; default "officegate"
	Socket      string        // the admin socket; default DefaultConnectSocket
	SocketGroup string
	// Exactly one source is set.
	JetStream *ConnectJetStream
	MQTT      *ConnectMQTT
	Journal   Journal // Dir is StateDir/journal
	HTTP      HTTP
	Log       Log
	Sinks     []Sink

	Warnings []Warning
	pos      *positions
}

// ConnectJetStream is [connect.jetstream]: a durable pull consumer shared
// by the replicas.
type ConnectJetStream struct {
	URLs          []string // nats:// or tls:// URLs of the cluster's nodes
	Stream        string   // default "$MQTT_msgs", the MQTT listener's QoS 1 store (docs/nats)
	Consumer      string   // default "connect": the same in every replica
	AckWait       time.Duration
	MaxAckPending int
	Batch         int
	User          string
	PasswordFile  string
	CAFile        string // for tls:// URLs; default the system roots
	// Replicas is how the replicas of the consumer work together:
	// ReplicasStandby (one fetches, the lease's holder; each device's
	// order kept) or ReplicasShared (every one fetches).
	Replicas string
	LeaseTTL time.Duration // how long a dead holder's lease outlives it
}

// The values of connect.jetstream.replicas (CONFIG.md).
const (
	ReplicasStandby = "standby"
	ReplicasShared  = "shared"
)

// DefaultLeaseTTL is connect.jetstream.lease_ttl's default: a dead active
// replica's lease expires after it, and a standby takes over.
const DefaultLeaseTTL = 10 * time.Second

// ConnectMQTT is [connect.mqtt]: a persistent session at QoS 1, shared by
// the replicas through $share/<ShareGroup>/ where the broker supports it.
type ConnectMQTT struct {
	URLs         []string // tcp:// or ssl:// URLs, tried in turn
	ClientID     string   // required: the persistent session's; unique per replica
	ShareGroup   string   // "": a plain subscription (one replica)
	Username     string
	PasswordFile string
	CAFile       string
	Keepalive    time.Duration
}

// Connect's defaults.
const (
	DefaultConnectState  = "/var/lib/officegate-connect"
	DefaultConnectSocket = "/run/officegate-connect/admin.sock"
	DefaultConnectListen = "127.0.0.1:9465"
	DefaultDedupWindow   = 8 * 24 * time.Hour
	DefaultStream        = "$MQTT_msgs"
	DefaultConsumer      = "connect"
)

type connectFile struct {
	Connect fileConnect `toml:"connect"`
	Journal fileJournal `toml:"journal"`
	HTTP    fileHTTP    `toml:"http"`
	Log     fileLog     `toml:"log"`
	Sinks   []fileSink  `toml:"sinks"`
}

type fileConnect struct {
	StateDir    *string        `toml:"state_dir"`
	DedupWindow any            `toml:"dedup_window"`
	TopicRoot   *string        `toml:"topic_root"`
	Socket      *string        `toml:"socket"`
	SocketGroup *string        `toml:"socket_group"`
	JetStream   *fileJetStream `toml:"jetstream"`
	MQTT        *fileConnMQTT  `toml:"mqtt"`
}

type fileJetStream struct {
	URLs          []string `toml:"urls"`
	Stream        *string  `toml:"stream"`
	Consumer      *string  `toml:"consumer"`
	AckWait       any      `toml:"ack_wait"`
	MaxAckPending *int64   `toml:"max_ack_pending"`
	Batch         *int64   `toml:"batch"`
	User          *string  `toml:"user"`
	PasswordFile  *string  `toml:"password_file"`
	CAFile        *string  `toml:"ca_file"`
	Replicas      *string  `toml:"replicas"`
	LeaseTTL      any      `toml:"lease_ttl"`
}

type fileConnMQTT struct {
	URLs         []string `toml:"urls"`
	ClientID     *string  `toml:"client_id"`
	ShareGroup   *string  `toml:"share_group"`
	Username     *string  `toml:"username"`
	PasswordFile *string  `toml:"password_file"`
	CAFile       *string  `toml:"ca_file"`
	Keepalive    any      `toml:"keepalive"`
}

// LoadConnect reads and validates officegate connect's file at path.
func LoadConnect(path string) (*Connect, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: read %s: %w", path, err)
	}
	return ParseConnect(path, data)
}

// ParseConnect validates a connect configuration document; as Parse, the
// error joins one *Error per problem, by line.
func ParseConnect(name string, data []byte) (*Connect, error) {
	p := &problems{file: name, pos: index(data)}
	if len(data) > MaxFileSize {
		p.at("", nil, "file larger than %d bytes", MaxFileSize)
		return nil, p.err()
	}
	var f connectFile
	if err := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(&f); err != nil {
		p.decodeErrors(err, "", p.pos)
		if !isStrict(err) {
			return nil, p.err()
		}
	}
	scratch := &Config{File: name, pos: p.pos}
	v := validator{p: p, c: scratch, base: baseDir(name)}
	c := &Connect{File: name, pos: p.pos, StateDir: DefaultConnectState, DedupWindow: DefaultDedupWindow,
		TopicRoot: DefaultTopicRoot, Socket: DefaultConnectSocket}
	fc := &f.Connect
	if fc.StateDir != nil {
		c.StateDir = v.path("connect.state_dir", fc.StateDir)
	}
	v.duration("connect.dedup_window", fc.DedupWindow, &c.DedupWindow, time.Hour, 365*24*time.Hour)
	if fc.TopicRoot != nil {
		if root := *fc.TopicRoot; rootOK(root) {
			c.TopicRoot = root
		} else {
			p.at("connect.topic_root", root, "1..8 levels, each 1..64 of a-z 0-9 . _ - (the gateways' mqtt.topic_root)")
		}
	}
	if fc.Socket != nil {
		c.Socket = v.path("connect.socket", fc.Socket)
	}
	c.SocketGroup = v.text("connect.socket_group", fc.SocketGroup, 64)
	switch {
	case fc.JetStream != nil && fc.MQTT != nil:
		p.at("connect.mqtt", nil, "set with connect.jetstream: connect takes events from one source")
	case fc.JetStream != nil:
		c.JetStream = v.connectJetStream(fc.JetStream)
	case fc.MQTT != nil:
		c.MQTT = v.connectMQTT(fc.MQTT)
	default:
		p.at("connect", nil, "no source: set [connect.jetstream] or [connect.mqtt]")
	}
	if f.Journal.Dir != nil {
		p.at("journal.dir", *f.Journal.Dir, "connect keeps its journal in connect.state_dir")
		f.Journal.Dir = nil
	}
	v.journal(&f.Journal)
	c.Journal = scratch.Journal
	c.Journal.Dir = ""
	v.http(&f.HTTP)
	c.HTTP = scratch.HTTP
	if f.HTTP.Listen == nil {
		c.HTTP.Listen = DefaultConnectListen
	}
	v.log(&f.Log)
	c.Log = scratch.Log
	v.sinks(f.Sinks)
	c.Sinks = scratch.Sinks
	if len(f.Sinks) == 0 {
		p.at("sinks", nil, "no [[sinks]]: connect has nowhere to deliver")
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	c.Warnings = p.warnings
	return c, nil
}

// Line is Config.Line for connect's file.
func (c *Connect) Line(key string) int {
	if c.pos == nil {
		return 0
	}
	return c.pos.lineOf(key)
}

// Errorf is Config.Errorf for connect's file.
func (c *Connect) Errorf(key string, value any, format string, args ...any) error {
	return (&Config{File: c.File, pos: c.pos}).Errorf(key, value, format, args...)
}

// natsSchemes are the URL schemes of a NATS client connection.
var natsSchemes = map[string]string{"nats": "4222", "tls": "4222"}

func (v *validator) connectJetStream(f *fileJetStream) *ConnectJetStream {
	js := &ConnectJetStream{Stream: DefaultStream, Consumer: DefaultConsumer,
		AckWait: 30 * time.Second, MaxAckPending: 4096, Batch: 256, Replicas: ReplicasStandby, LeaseTTL: DefaultLeaseTTL}
	js.URLs = v.serverURLs("connect.jetstream.urls", f.URLs, natsSchemes, "nats://nats-1.example.com:4222")
	if f.Stream != nil {
		// A stream's name: no spaces, '.', '*', '>' or path separators.
		if *f.Stream == "" || len(*f.Stream) > 255 || bytes.ContainsAny([]byte(*f.Stream), " .*>/\\\t") {
			v.p.at("connect.jetstream.stream", *f.Stream, "not a JetStream stream name")
		} else {
			js.Stream = *f.Stream
		}
	}
	if f.Consumer != nil {
		if !sinkName().MatchString(*f.Consumer) {
			v.p.at("connect.jetstream.consumer", *f.Consumer, "want 1..32 of a-z, 0-9, '-', '_'")
		} else {
			js.Consumer = *f.Consumer
		}
	}
	// Far above the few ms a batch takes to journal, and the time a sink
	// takes to deliver it when its destination answers; a dead replica's
	// messages wait this long for another.
	v.duration("connect.jetstream.ack_wait", f.AckWait, &js.AckWait, time.Second, 10*time.Minute)
	if f.MaxAckPending != nil {
		if *f.MaxAckPending < 1 || *f.MaxAckPending > 1<<20 {
			v.p.at("connect.jetstream.max_ack_pending", *f.MaxAckPending, "must be 1..1048576")
		} else {
			js.MaxAckPending = int(*f.MaxAckPending)
		}
	}
	if f.Batch != nil {
		if *f.Batch < 1 || *f.Batch > 10000 {
			v.p.at("connect.jetstream.batch", *f.Batch, "must be 1..10000")
		} else {
			js.Batch = int(*f.Batch)
		}
	}
	js.Batch = min(js.Batch, js.MaxAckPending)
	if f.Replicas != nil {
		switch *f.Replicas {
		case ReplicasStandby, ReplicasShared:
			js.Replicas = *f.Replicas
		default:
			v.p.at("connect.jetstream.replicas", *f.Replicas, "want %q (one replica fetches, each device's order kept) or %q (every replica fetches)",
				ReplicasStandby, ReplicasShared)
		}
	}
	// Above a cluster's leader election (a few seconds) so that one does
	// not move the lease; the pause before a standby takes over.
	v.duration("connect.jetstream.lease_ttl", f.LeaseTTL, &js.LeaseTTL, time.Second, 10*time.Minute)
	if f.LeaseTTL != nil && js.Replicas == ReplicasShared {
		v.p.warn("connect.jetstream.lease_ttl", f.LeaseTTL, "ignored: replicas = %q takes no lease", ReplicasShared)
	}
	v.sameTLS("connect.jetstream.urls", js.URLs, "tls")
	js.User = v.text("connect.jetstream.user", f.User, 256)
	js.PasswordFile = v.path("connect.jetstream.password_file", f.PasswordFile)
	js.CAFile = v.path("connect.jetstream.ca_file", f.CAFile)
	return js
}

func (v *validator) connectMQTT(f *fileConnMQTT) *ConnectMQTT {
	m := &ConnectMQTT{Keepalive: DefaultKeepalive}
	m.URLs = v.serverURLs("connect.mqtt.urls", f.URLs, map[string]string{"tcp": "1883", "mqtt": "1883", "ssl": "8883", "tls": "8883", "mqtts": "8883"},
		"ssl://broker.example.com:8883")
	switch {
	case f.ClientID == nil || *f.ClientID == "":
		v.p.at("connect.mqtt.client_id", nil, "required: the persistent session's id, one per replica")
	case len(*f.ClientID) > 128:
		v.p.at("connect.mqtt.client_id", *f.ClientID, "longer than 128 bytes")
	default:
		m.ClientID = *f.ClientID
	}
	if f.ShareGroup != nil {
		if err := envelope.CheckLevel("", *f.ShareGroup); err != nil {
			v.p.at("connect.mqtt.share_group", *f.ShareGroup, "must be 1..64 of a-z 0-9 . _ - (a topic level)")
		} else {
			m.ShareGroup = *f.ShareGroup
		}
	}
	v.sameTLS("connect.mqtt.urls", m.URLs, "ssl", "tls", "mqtts")
	m.Username = v.text("connect.mqtt.username", f.Username, 256)
	m.PasswordFile = v.path("connect.mqtt.password_file", f.PasswordFile)
	m.CAFile = v.path("connect.mqtt.ca_file", f.CAFile)
	v.duration("connect.mqtt.keepalive", f.Keepalive, &m.Keepalive, 5*time.Second, 10*time.Minute)
	return m
}

// rootOK checks a topic root as mqtt.topic_root is checked.
func rootOK(s string) bool {
	levels := strings.Split(s, "/")
	if len(levels) > 8 {
		return false
	}
	for _, l := range levels {
		if envelope.CheckLevel("", l) != nil {
			return false
		}
	}
	return true
}

// sameTLS refuses TLS and plain URLs mixed: one ca_file serves them all.
func (v *validator) sameTLS(key string, urls []string, tlsSchemes ...string) {
	isTLS := func(u string) bool {
		for _, s := range tlsSchemes {
			if strings.HasPrefix(u, s+"://") {
				return true
			}
		}
		return false
	}
	for i, u := range urls {
		if i > 0 && isTLS(u) != isTLS(urls[0]) {
			v.p.at(key, u, "TLS and plain URLs mixed: make them all TLS or none")
			return
		}
	}
}

// serverURLs checks a list of server URLs of the given schemes (scheme →
// default port) and makes each port explicit.
func (v *validator) serverURLs(key string, urls []string, schemes map[string]string, example string) []string {
	if len(urls) == 0 || len(urls) > maxBrokerURLs {
		v.p.at(key, nil, "want 1..%d URLs, got %d", maxBrokerURLs, len(urls))
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for i, s := range urls {
		k := fmt.Sprintf("%s[%d]", key, i)
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || u.Opaque != "" {
			v.p.at(k, s, "not a server URL (want e.g. %q)", example)
			continue
		}
		port, ok := schemes[u.Scheme]
		switch {
		case !ok:
			v.p.at(k, s, "scheme %q: want one of %v", u.Scheme, sortedKeys(schemes))
			continue
		case u.User != nil:
			v.p.at(k, "…", "credentials in the URL end up in logs: use the user and password_file settings")
			continue
		case u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "":
			v.p.at(k, s, "a server URL has no path, query or fragment")
			continue
		}
		if p := u.Port(); p != "" {
			if n, err := parsePort(p); err != nil || n == 0 {
				v.p.at(k, s, "port %q: must be 1..65535", p)
				continue
			}
			port = p
		}
		norm := u.Scheme + "://" + net.JoinHostPort(u.Hostname(), port)
		if seen[norm] {
			v.p.at(k, s, "listed twice")
			continue
		}
		seen[norm] = true
		out = append(out, norm)
	}
	return out
}
