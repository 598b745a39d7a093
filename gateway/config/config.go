package config

import (
	"fmt"
	"os"
	"time"

	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/logging"
	"github.com/rs/zerolog"
)

// Config is a validated configuration with every default applied. Paths are
// absolute or relative to the directory of the configuration file.
type Config struct {
	File         string // the name errors are reported under
	Gateway      Gateway
	MQTT         MQTT
	Journal      Journal
	HTTP         HTTP
	Log          Log
	Privacy      Privacy
	Provisioning Provisioning
	Devices      []Device
	Sinks        []Sink
	Console      Console

	// Warnings are doubtful but valid settings, in file order, for the daemon
	// to log at start and check-config to print.
	Warnings []Warning

	pos *positions
}

// Gateway is [gateway].
type Gateway struct {
	ID       string         // topic level and default client id; [a-z0-9._-]{1,64}
	Name     string         // free text for people; default ID
	Timezone *time.Location // applied to device local times; default Local
	// ClockThreshold is how far off a device clock may be before it is
	// stepped, its events count as drifted and an alarm is raised; default 1 s.
	ClockThreshold time.Duration
	// ClockSyncEvery is the interval between clock syncs; default 10 min.
	ClockSyncEvery time.Duration
}

// Provisioning is [provisioning].
type Provisioning struct {
	// Ports are glob patterns of serial ports watched for devices to
	// enroll; none: devices are only the configured ones.
	Ports       []string
	Baud        int    // default 115200
	RegistryDir string // default: "registry" beside the journal directory
	Socket      string // the admin socket; default /run/officegate/admin.sock
	SocketGroup string // group allowed to use the socket; "" keeps the process's
	FirmwareKey string // Ed25519 public key file for firmware rollouts; "" refuses rollouts
	// FirmwareDir is the one directory rollout images are taken from;
	// "": "firmware" beside the journal directory (the state directory).
	FirmwareDir string
	// FirmwareMaxSize caps an image's size, checked before it is read;
	// default DefaultFirmwareMaxSize.
	FirmwareMaxSize int64
	// Profiles are configuration files by profile name, pushed by hash to
	// the devices of that profile.
	Profiles map[string]string
}

// DefaultSocket is where the admin socket is when the file does not say.
const DefaultSocket = "/run/officegate/admin.sock"

// DefaultFirmwareMaxSize is the image cap when the file does not say (the
// same as provisioning/rollout.DefaultMaxImage, which explains it).
const DefaultFirmwareMaxSize = 16 << 20

// Privacy is [privacy].
type Privacy struct {
	// CardKeyFile, if set, makes every card number travel as a keyed hash
	// (MQTT.md §11); the file is read at start (devices.ReadKey).
	CardKeyFile string
}

// MQTT is [mqtt] and [mqtt.tls].
type MQTT struct {
	URL string // scheme://host:port with the port made explicit
	// Failover are mqtt.urls after the first (URL): further nodes of the
	// same broker cluster, tried in turn when a connection fails or is lost.
	Failover       []string
	TLSEnabled     bool   // the scheme is ssl, tls or mqtts
	ClientID       string // default "officegate-" + gateway id
	Username       string
	Password       string // inline; at most one of Password and PasswordFile
	PasswordFile   string // read when connecting (ReadPassword)
	TopicRoot      string // default "officegate"
	Format         envelope.Format
	Inflight       int  // 1..65535, default 64
	CommandQoS     byte // the QoS of the gateway's command subscriptions: 0 or 1, default 1
	Keepalive      time.Duration
	ConnectTimeout time.Duration
	BackoffMin     time.Duration
	BackoffMax     time.Duration
	TLS            TLS
}

// TLS is [mqtt.tls]. Files are read by the uplink at each connect, so a
// renewed certificate is picked up on reconnect.
type TLS struct {
	CAFile     string // default: the system roots
	CertFile   string // client certificate, with KeyFile
	KeyFile    string
	ServerName string // default: the URL's host
	// InsecureSkipVerify turns off server verification. Only set when the file
	// also says i_understand_this_is_insecure = true; always warned about.
	InsecureSkipVerify bool
}

// ReadPassword returns the broker password: Password, or the first line of
// PasswordFile.
func (m *MQTT) ReadPassword() (string, error) {
	if m.PasswordFile == "" {
		return m.Password, nil
	}
	b, err := os.ReadFile(m.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("config: mqtt.password_file: %w", err)
	}
	for i, c := range b {
		if c == '\n' || c == '\r' {
			b = b[:i]
			break
		}
	}
	return string(b), nil
}

// Topics returns the topic builder for this gateway.
func (c *Config) Topics() envelope.Topics {
	return envelope.Topics{Root: c.MQTT.TopicRoot, Gateway: c.Gateway.ID}
}

// Journal is [journal] and [journal.retention].
type Journal struct {
	Dir            string // default /var/lib/officegate/journal
	MaxBytes       int64  // default 1 GiB
	SegmentSize    int64  // default 8 MiB
	SyncWindow     time.Duration
	CursorInterval time.Duration
	// Retention is the privacy cap per stream name (journal.Stream.MaxAge).
	Retention map[string]time.Duration
}

// HTTP is [http]: /metrics and /healthz.
type HTTP struct {
	Listen           string // host:port, default 127.0.0.1:9464
	AllowNonLoopback bool
}

// Log is [log].
type Log struct {
	Level  zerolog.Level
	Format logging.Format
}

// Device is one [[devices]] entry.
type Device struct {
	ID   string
	Kind string
	Port string // serial device path, "" when the kind needs none
	Baud int    // 0 when Port is ""
	// Options is the [devices.<kind>] table, decoded by the kind's driver.
	Options Section
	Line    int // the line of the entry, for messages about the device
}

// Sink is one [[sinks]] entry: a destination besides the MQTT uplink.
type Sink struct {
	Name     string            // [a-z0-9_-]{1,32}, not "mqtt"; its journal cursor's name
	Kind     string            // checked by the gateway against its sink kinds
	Streams  []string          // none: every published stream
	Settings map[string]string // the kind's own keys ([sinks.settings])
	Line     int
}

// Device returns the device with id, or nil.
func (c *Config) Device(id string) *Device {
	for i := range c.Devices {
		if c.Devices[i].ID == id {
			return &c.Devices[i]
		}
	}
	return nil
}

// Line returns the line a key (canonical path: "mqtt.url",
// "devices[1].port") is written on, or 0 when the file does not write it.
func (c *Config) Line(key string) int {
	if c.pos == nil {
		return 0
	}
	return c.pos.lineOf(key)
}

// Errorf makes an error located at key, for checks the daemon makes after
// loading (a certificate that does not parse, a port that does not open):
// `config.toml:14: mqtt.tls.cert_file = "/etc/x.pem": …`.
func (c *Config) Errorf(key string, value any, format string, args ...any) error {
	p := problems{file: c.File, pos: c.pos}
	if p.pos == nil {
		p.pos = &positions{byPath: map[string]int{}}
	}
	return p.make(key, value, format, args...)
}
