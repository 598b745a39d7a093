package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/logging"
)

// Defaults, applied once here and nowhere else.
const (
	DefaultTopicRoot      = "officegate"
	DefaultInflight       = 64
	DefaultKeepalive      = 30 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	DefaultBackoffMin     = 500 * time.Millisecond
	DefaultBackoffMax     = time.Minute
	DefaultJournalDir     = "/var/lib/officegate/journal"
	DefaultMaxBytes       = 1 << 30
	DefaultSegmentSize    = 8 << 20
	DefaultSyncWindow     = 10 * time.Millisecond
	DefaultCursorInterval = time.Second
	DefaultListen         = "127.0.0.1:9464"
	DefaultBaud           = 115200
)

type validator struct {
	p     *problems
	c     *Config
	base  string // directory relative paths are resolved against
	kinds []Kind
}

func (v *validator) level(key, s string) bool {
	if err := envelope.CheckLevel("", s); err != nil {
		v.p.at(key, s, "must be 1..64 of a-z 0-9 . _ - (it is an MQTT topic level)")
		return false
	}
	return true
}

// text checks a free-text value: UTF-8, no control characters, bounded.
func (v *validator) text(key string, s *string, maxLen int) string {
	if s == nil {
		return ""
	}
	switch {
	case !utf8.ValidString(*s):
		v.p.at(key, *s, "not valid UTF-8")
	case len(*s) > maxLen:
		v.p.at(key, *s, "longer than %d bytes", maxLen)
	case strings.ContainsFunc(*s, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		v.p.at(key, *s, "control characters are not allowed")
	default:
		return *s
	}
	return ""
}

// path resolves a file path; empty is refused when written.
func (v *validator) path(key string, s *string) string {
	if s == nil {
		return ""
	}
	if *s == "" || strings.ContainsRune(*s, 0) {
		v.p.at(key, *s, "not a path")
		return ""
	}
	if filepath.IsAbs(*s) {
		return filepath.Clean(*s)
	}
	return filepath.Join(v.base, *s)
}

// duration reads a duration value into dst if written, within [lo, hi].
func (v *validator) duration(key string, raw any, dst *time.Duration, lo, hi time.Duration) {
	if raw == nil {
		return
	}
	s, ok := raw.(string)
	if !ok {
		v.p.at(key, raw, `want a duration string like "10s"`)
		return
	}
	d, err := ParseDuration(s)
	switch {
	case err != nil:
		v.p.at(key, s, "%v", err)
	case d < lo || d > hi:
		v.p.at(key, s, "must be %v..%v", lo, hi)
	default:
		*dst = d
	}
}

func (v *validator) size(key string, raw any, dst *int64, lo, hi int64) {
	var n int64
	switch x := raw.(type) {
	case nil:
		return
	case int64:
		n = x
	case string:
		var err error
		if n, err = ParseSize(x); err != nil {
			v.p.at(key, x, "%v", err)
			return
		}
	default:
		v.p.at(key, raw, `want a size like "1GiB" or a number of bytes`)
		return
	}
	if n < lo || n > hi {
		v.p.at(key, raw, "must be %s..%s", human(lo), human(hi))
		return
	}
	*dst = n
}

func human(n int64) string {
	for _, u := range []struct {
		s string
		m int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.m && n%u.m == 0 {
			return fmt.Sprintf("%d%s", n/u.m, u.s)
		}
	}
	return fmt.Sprintf("%dB", n)
}

func (v *validator) gateway(f *fileGateway) {
	g := &v.c.Gateway
	if f.ID == nil {
		v.p.at("gateway.id", nil, "required")
	} else if v.level("gateway.id", *f.ID) {
		g.ID = *f.ID
	}
	g.Name = v.text("gateway.name", f.Name, 256)
	if g.Name == "" {
		g.Name = g.ID
	}
	g.ClockThreshold, g.ClockSyncEvery = time.Second, 10*time.Minute
	v.duration("gateway.clock_threshold", f.ClockThreshold, &g.ClockThreshold, 100*time.Millisecond, time.Hour)
	v.duration("gateway.clock_sync_every", f.ClockSyncEvery, &g.ClockSyncEvery, 10*time.Second, 24*time.Hour)
	g.Timezone = time.Local
	if f.Timezone != nil {
		// LoadLocation also opens files: refuse anything that is not a zone
		// name before it does.
		tz := *f.Timezone
		if tz == "" || strings.Contains(tz, "..") || strings.HasPrefix(tz, "/") || strings.ContainsRune(tz, 0) {
			v.p.at("gateway.timezone", tz, "not an IANA time zone name")
		} else if loc, err := time.LoadLocation(tz); err != nil {
			v.p.at("gateway.timezone", tz, "not an IANA time zone name (or tzdata is missing)")
		} else {
			g.Timezone = loc
		}
	}
}

func (v *validator) provisioning(f *fileProv) {
	p := &v.c.Provisioning
	p.Baud, p.Socket = 115200, DefaultSocket
	for i, g := range f.Ports {
		key := fmt.Sprintf("provisioning.ports[%d]", i)
		if _, err := filepath.Match(g, ""); err != nil || !strings.HasPrefix(g, "/dev/") {
			v.p.at(key, g, "want a glob of device paths, e.g. \"/dev/officegate/*\"")
			continue
		}
		p.Ports = append(p.Ports, g)
	}
	if f.Baud != nil {
		if !slices.Contains(bauds, *f.Baud) {
			v.p.at("provisioning.baud", *f.Baud, "not a standard rate %v", bauds)
		} else {
			p.Baud = int(*f.Baud)
		}
	}
	p.RegistryDir = v.path("provisioning.registry_dir", f.RegistryDir)
	if s := v.path("provisioning.socket", f.Socket); s != "" {
		p.Socket = s
	}
	p.SocketGroup = v.text("provisioning.socket_group", f.SocketGroup, 32)
	p.FirmwareKey = v.path("provisioning.firmware_key", f.FirmwareKey)
	p.FirmwareDir = v.path("provisioning.firmware_dir", f.FirmwareDir)
	// The link's FW_OFFER carries the size as a uint32 (PROTOCOL.md §4.14).
	p.FirmwareMaxSize = DefaultFirmwareMaxSize
	v.size("provisioning.firmware_max_size", f.FirmwareMax, &p.FirmwareMaxSize, 1<<10, 1<<32-1)
	if len(f.Profiles) > 0 {
		p.Profiles = map[string]string{}
	}
	for name, file := range f.Profiles {
		key := "provisioning.profiles." + name
		if !v.level(key, name) {
			continue
		}
		p.Profiles[name] = v.path(key, &file)
	}
}

func (v *validator) privacy(f *filePrivacy) {
	v.c.Privacy.CardKeyFile = v.path("privacy.card_key_file", f.CardKeyFile)
	if p := v.c.Privacy.CardKeyFile; p != "" {
		if _, err := devices.ReadKey(p); err != nil {
			v.p.at("privacy.card_key_file", *f.CardKeyFile, "%v", err)
		}
	}
}

var schemes = map[string]struct {
	tls  bool
	port string
}{
	"tcp": {false, "1883"}, "mqtt": {false, "1883"},
	"ssl": {true, "8883"}, "tls": {true, "8883"}, "mqtts": {true, "8883"},
}

func (v *validator) mqtt(f *fileMQTT) {
	m := &v.c.MQTT
	switch {
	case f.URL != nil && f.URLs != nil:
		v.p.at("mqtt.urls", nil, "set together with mqtt.url: choose one")
	case f.URL != nil:
		m.URL, m.TLSEnabled, _ = v.brokerURL("mqtt.url", *f.URL)
	case f.URLs != nil:
		v.brokerURLs(f.URLs)
	default:
		v.p.at("mqtt.url", nil, "required")
	}
	m.ClientID = "officegate-" + v.c.Gateway.ID
	if f.ClientID != nil {
		// MQTT 3.1.1 allows 1..65535 bytes of UTF-8 [MQTT-1.5.3]; brokers must
		// accept 23 [MQTT-3.1.3-5] and the ones we target accept more.
		if *f.ClientID == "" || len(*f.ClientID) > 65535 || !utf8.ValidString(*f.ClientID) || strings.ContainsRune(*f.ClientID, 0) {
			v.p.at("mqtt.client_id", *f.ClientID, "must be 1..65535 bytes of UTF-8")
		} else {
			m.ClientID = *f.ClientID
		}
	}
	if f.Username != nil {
		m.Username = v.text("mqtt.username", f.Username, 65535)
	}
	if f.Password != nil && f.PasswordFile != nil {
		v.p.at("mqtt.password_file", nil, "set together with mqtt.password: choose one")
	}
	if f.Password != nil {
		m.Password = *f.Password
	}
	m.PasswordFile = v.path("mqtt.password_file", f.PasswordFile)
	if (f.Password != nil || f.PasswordFile != nil) && f.Username == nil {
		key := "mqtt.password"
		if f.Password == nil {
			key = "mqtt.password_file"
		}
		v.p.at(key, nil, "a password needs mqtt.username [MQTT-3.1.2-22]")
	}
	m.TopicRoot = DefaultTopicRoot
	if f.TopicRoot != nil {
		v.topicRoot(*f.TopicRoot)
	}
	if f.Format != nil {
		if *f.Format == "" {
			v.p.at("mqtt.format", *f.Format, "want json or cbor")
		} else if fm, err := envelope.ParseFormat(*f.Format); err != nil {
			v.p.at("mqtt.format", *f.Format, "want json or cbor")
		} else {
			m.Format = fm
		}
	}
	m.CommandQoS = 1
	if f.CommandQoS != nil {
		if *f.CommandQoS != 0 && *f.CommandQoS != 1 {
			v.p.at("mqtt.command_qos", *f.CommandQoS, "must be 0 or 1")
		} else {
			m.CommandQoS = byte(*f.CommandQoS)
		}
	}
	m.Inflight = DefaultInflight
	if f.Inflight != nil {
		// QoS 1 packet identifiers are 16 bits, nonzero [MQTT-2.3.1-1].
		if *f.Inflight < 1 || *f.Inflight > 65535 {
			v.p.at("mqtt.inflight", *f.Inflight, "must be 1..65535")
		} else {
			m.Inflight = int(*f.Inflight)
		}
	}
	m.Keepalive, m.ConnectTimeout = DefaultKeepalive, DefaultConnectTimeout
	m.BackoffMin, m.BackoffMax = DefaultBackoffMin, DefaultBackoffMax
	// Keep Alive is a 16-bit number of seconds on the wire [MQTT-3.1.2.10].
	v.duration("mqtt.keepalive", f.Keepalive, &m.Keepalive, time.Second, 65535*time.Second)
	if m.Keepalive%time.Second != 0 {
		v.p.at("mqtt.keepalive", f.Keepalive, "must be whole seconds")
	}
	v.duration("mqtt.connect_timeout", f.ConnectTimeout, &m.ConnectTimeout, 100*time.Millisecond, 5*time.Minute)
	v.duration("mqtt.backoff_min", f.BackoffMin, &m.BackoffMin, 10*time.Millisecond, time.Hour)
	v.duration("mqtt.backoff_max", f.BackoffMax, &m.BackoffMax, 10*time.Millisecond, time.Hour)
	if m.BackoffMax < m.BackoffMin {
		v.p.at("mqtt.backoff_max", f.BackoffMax, "less than mqtt.backoff_min (%v)", m.BackoffMin)
	}
	v.tls(f.TLS)
}

// brokerURL normalises one broker URL (the port made explicit); ok is false
// when it was reported bad.
func (v *validator) brokerURL(key, s string) (norm string, tls, ok bool) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" {
		v.p.at(key, s, "not a broker URL (want e.g. \"ssl://broker.example.com:8883\")")
		return "", false, false
	}
	sch, ok := schemes[u.Scheme]
	switch {
	case !ok:
		v.p.at(key, s, "scheme %q: want tcp, mqtt, ssl, tls or mqtts", u.Scheme)
		return "", false, false
	case u.User != nil:
		v.p.at(key, "…", "credentials in the URL end up in logs: use mqtt.username and mqtt.password_file")
		return "", false, false
	case u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "":
		v.p.at(key, s, "a broker URL has no path, query or fragment")
		return "", false, false
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = sch.port
	} else if n, err := parsePort(port); err != nil || n == 0 {
		v.p.at(key, s, "port %q: must be 1..65535", port)
		return "", false, false
	}
	return u.Scheme + "://" + net.JoinHostPort(host, port), sch.tls, true
}

// maxBrokerURLs bounds mqtt.urls: a cluster's nodes, not a scan of a network.
const maxBrokerURLs = 16

// brokerURLs is mqtt.urls: the nodes of one broker cluster, tried in turn
// (the uplink's failover); the first is MQTT.URL, the rest MQTT.Failover.
// One [mqtt.tls] serves them all, so they are all TLS or none is.
func (v *validator) brokerURLs(urls []string) {
	m := &v.c.MQTT
	if len(urls) == 0 || len(urls) > maxBrokerURLs {
		v.p.at("mqtt.urls", nil, "want 1..%d broker URLs, got %d", maxBrokerURLs, len(urls))
		return
	}
	seen := map[string]string{}
	for i, s := range urls {
		key := fmt.Sprintf("mqtt.urls[%d]", i)
		norm, tls, ok := v.brokerURL(key, s)
		if !ok {
			continue
		}
		if first, dup := seen[norm]; dup {
			v.p.at(key, s, "the same broker as %s", first)
			continue
		}
		seen[norm] = key
		if i == 0 {
			m.URL, m.TLSEnabled = norm, tls
			continue
		}
		if tls != m.TLSEnabled {
			v.p.at(key, s, "TLS and plain URLs mixed: one [mqtt.tls] serves every broker, make them all TLS or none")
			continue
		}
		m.Failover = append(m.Failover, norm)
	}
}

func parsePort(s string) (int, error) {
	n := 0
	if s == "" || len(s) > 5 {
		return 0, fmt.Errorf("bad port")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("bad port")
		}
		n = n*10 + int(c-'0')
	}
	if n > 65535 {
		return 0, fmt.Errorf("bad port")
	}
	return n, nil
}

func (v *validator) topicRoot(s string) {
	levels := strings.Split(s, "/")
	if len(levels) > 8 {
		v.p.at("mqtt.topic_root", s, "at most 8 levels")
		return
	}
	for _, l := range levels {
		if envelope.CheckLevel("", l) != nil {
			v.p.at("mqtt.topic_root", s, "each level must be 1..64 of a-z 0-9 . _ - (no wildcards, no leading or trailing /)")
			return
		}
	}
	v.c.MQTT.TopicRoot = s
}

func (v *validator) tls(f *fileTLS) {
	m := &v.c.MQTT
	if f == nil {
		return
	}
	if !m.TLSEnabled && m.URL != "" {
		v.p.at("mqtt.tls", nil, "set but mqtt.url is not a TLS URL (use ssl://, tls:// or mqtts://)")
	}
	t := &m.TLS
	t.CAFile = v.path("mqtt.tls.ca_file", f.CAFile)
	t.CertFile = v.path("mqtt.tls.cert_file", f.CertFile)
	t.KeyFile = v.path("mqtt.tls.key_file", f.KeyFile)
	switch {
	case f.CertFile != nil && f.KeyFile == nil:
		v.p.at("mqtt.tls.cert_file", nil, "set without mqtt.tls.key_file")
	case f.KeyFile != nil && f.CertFile == nil:
		v.p.at("mqtt.tls.key_file", nil, "set without mqtt.tls.cert_file")
	}
	if f.ServerName != nil {
		if *f.ServerName == "" || len(*f.ServerName) > 253 || strings.ContainsAny(*f.ServerName, " /:\x00") {
			v.p.at("mqtt.tls.server_name", *f.ServerName, "not a host name")
		} else {
			t.ServerName = *f.ServerName
		}
	}
	insecure := f.InsecureSkipVerify != nil && *f.InsecureSkipVerify
	understood := f.IUnderstand != nil && *f.IUnderstand
	switch {
	case insecure && !understood:
		v.p.at("mqtt.tls.insecure_skip_verify", true,
			"anyone on the network path could read attendance and visitor events and send door commands; "+
				"set mqtt.tls.ca_file to the broker's CA instead, or add i_understand_this_is_insecure = true for a lab")
	case insecure:
		t.InsecureSkipVerify = true
		v.p.warn("mqtt.tls.insecure_skip_verify", true, "the broker's certificate is not verified")
	case f.IUnderstand != nil:
		v.p.at("mqtt.tls.i_understand_this_is_insecure", nil, "set without insecure_skip_verify = true: remove it")
	}
}

func (v *validator) journal(f *fileJournal) {
	j := &v.c.Journal
	j.Dir = DefaultJournalDir
	if f.Dir != nil {
		j.Dir = v.path("journal.dir", f.Dir)
	}
	j.MaxBytes, j.SegmentSize = DefaultMaxBytes, DefaultSegmentSize
	j.SyncWindow, j.CursorInterval = DefaultSyncWindow, DefaultCursorInterval
	// The journal's own limits, checked here so they are reported with a line:
	// a segment holds the largest record (64 KiB) many times over and is
	// 8-byte aligned; the cap holds at least 4 segments.
	v.size("journal.segment_size", f.SegmentSize, &j.SegmentSize, 256<<10, 1<<30)
	if j.SegmentSize%8 != 0 {
		v.p.at("journal.segment_size", f.SegmentSize, "must be a multiple of 8 bytes")
		j.SegmentSize = DefaultSegmentSize
	}
	v.size("journal.max_bytes", f.MaxBytes, &j.MaxBytes, 1<<20, 1<<50)
	if j.MaxBytes < 4*j.SegmentSize {
		v.p.at("journal.max_bytes", f.MaxBytes, "must hold at least 4 segments (%s)", human(4*j.SegmentSize))
	}
	v.duration("journal.sync_window", f.SyncWindow, &j.SyncWindow, 0, time.Second)
	v.duration("journal.cursor_interval", f.CursorInterval, &j.CursorInterval, 10*time.Millisecond, time.Hour)
	j.Retention = map[string]time.Duration{}
	for _, name := range sortedKeys(f.Retention) {
		key := "journal.retention." + keyName([]byte(name))
		if !v.level(key, name) {
			continue
		}
		var d time.Duration
		v.duration(key, f.Retention[name], &d, time.Minute, 100*365*24*time.Hour)
		if d > 0 {
			j.Retention[name] = d
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (v *validator) http(f *fileHTTP) {
	h := &v.c.HTTP
	h.Listen = DefaultListen
	h.AllowNonLoopback = f.AllowNonLoopback != nil && *f.AllowNonLoopback
	if f.Listen == nil {
		return
	}
	host, port, err := net.SplitHostPort(*f.Listen)
	if err != nil {
		v.p.at("http.listen", *f.Listen, "want host:port, e.g. \"127.0.0.1:9464\"")
		return
	}
	if _, err := parsePort(port); err != nil {
		v.p.at("http.listen", *f.Listen, "port %q: must be 0..65535", port)
		return
	}
	if !isLoopback(host) {
		if !h.AllowNonLoopback {
			v.p.at("http.listen", *f.Listen, "not a loopback address: metrics and health stay on the box "+
				"(scrape through a proxy, or set http.allow_non_loopback = true)")
			return
		}
		v.p.warn("http.listen", *f.Listen, "metrics and health are reachable from the network")
	}
	h.Listen = *f.Listen
}

// isLoopback accepts loopback IP literals and "localhost"; an empty host
// means every interface.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

func (v *validator) log(f *fileLog) {
	l := &v.c.Log
	var err error
	if l.Level, err = logging.ParseLevel(deref(f.Level)); err != nil || f.Level != nil && *f.Level == "" {
		v.p.at("log.level", deref(f.Level), "want trace, debug, info, warn or error")
	}
	if l.Format, err = logging.ParseFormat(deref(f.Format)); err != nil || f.Format != nil && *f.Format == "" {
		v.p.at("log.format", deref(f.Format), "want auto, json or console")
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
