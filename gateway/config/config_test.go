package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/logging"
	"github.com/rs/zerolog"
)

const minimal = `
[gateway]
id = "gw1"

[mqtt]
url = "tcp://127.0.0.1"
`

func TestDefaults(t *testing.T) {
	c, err := Parse("config.toml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		File:    "config.toml",
		Gateway: Gateway{ID: "gw1", Name: "gw1", Timezone: time.Local, ClockThreshold: time.Second, ClockSyncEvery: 10 * time.Minute},
		MQTT: MQTT{
			URL: "tcp://127.0.0.1:1883", ClientID: "officegate-gw1", TopicRoot: "officegate", Format: envelope.JSON,
			Inflight: 64, CommandQoS: 1, Keepalive: 30 * time.Second, ConnectTimeout: 10 * time.Second,
			BackoffMin: 500 * time.Millisecond, BackoffMax: time.Minute,
		},
		Provisioning: Provisioning{Baud: 115200, Socket: DefaultSocket, FirmwareMaxSize: DefaultFirmwareMaxSize},
		Journal: Journal{
			Dir: "/var/lib/officegate/journal", MaxBytes: 1 << 30, SegmentSize: 8 << 20,
			SyncWindow: 10 * time.Millisecond, CursorInterval: time.Second, Retention: map[string]time.Duration{},
		},
		HTTP: HTTP{Listen: "127.0.0.1:9464"},
		Log:  Log{Level: zerolog.InfoLevel, Format: logging.Auto},
		pos:  c.pos,
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got\n%+v\nwant\n%+v", c, want)
	}
	if got := c.Topics().GatewayStatus(); got != "officegate/gw1/status" {
		t.Errorf("topics: %q", got)
	}
}

func TestFull(t *testing.T) {
	doc := `
[gateway]
id = "hq-3"
name = "HQ 3"
timezone = "Asia/Shanghai"

[mqtt]
url = "mqtts://broker.example.com"
client_id = "gw-hq-3"
username = "u"
password = "p"
topic_root = "acme/office"
format = "cbor"
inflight = 128
command_qos = 0
keepalive = "1m"
connect_timeout = "3s"
backoff_min = "1s"
backoff_max = "2m"

[mqtt.tls]
ca_file = "ca.pem"
cert_file = "/etc/c.pem"
key_file = "/etc/k.pem"
server_name = "broker"

[journal]
dir = "journal"
max_bytes = "64MiB"
segment_size = 1048576
sync_window = "0s"
cursor_interval = "250ms"
retention = { visitors = "30d", "room.occupancy" = "1d12h" }

[http]
listen = "[::1]:9000"

[log]
level = "debug"
format = "json"

[[devices]]
id = "t1"
kind = "terminal"
port = "/dev/serial/by-id/usb-a"
baud = 9600
[devices.terminal]
gap = "25ms"

[[devices]]
id = "k1"
kind = "kiosk"
`
	c, err := Parse("/etc/officegate/config.toml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	if c.Gateway.ID != "hq-3" || c.Gateway.Name != "HQ 3" || c.Gateway.Timezone.String() != shanghai.String() {
		t.Errorf("gateway = %+v", c.Gateway)
	}
	wantMQTT := MQTT{
		URL: "mqtts://broker.example.com:8883", TLSEnabled: true, ClientID: "gw-hq-3", Username: "u", Password: "p",
		TopicRoot: "acme/office", Format: envelope.CBOR, Inflight: 128, Keepalive: time.Minute,
		ConnectTimeout: 3 * time.Second, BackoffMin: time.Second, BackoffMax: 2 * time.Minute,
		TLS: TLS{CAFile: "/etc/officegate/ca.pem", CertFile: "/etc/c.pem", KeyFile: "/etc/k.pem", ServerName: "broker"},
	}
	if !reflect.DeepEqual(c.MQTT, wantMQTT) {
		t.Errorf("mqtt = %+v\nwant %+v", c.MQTT, wantMQTT)
	}
	wantJournal := Journal{
		Dir: "/etc/officegate/journal", MaxBytes: 64 << 20, SegmentSize: 1 << 20, SyncWindow: 0,
		CursorInterval: 250 * time.Millisecond,
		Retention:      map[string]time.Duration{"visitors": 30 * 24 * time.Hour, "room.occupancy": 36 * time.Hour},
	}
	if !reflect.DeepEqual(c.Journal, wantJournal) {
		t.Errorf("journal = %+v", c.Journal)
	}
	if c.HTTP.Listen != "[::1]:9000" || c.Log != (Log{zerolog.DebugLevel, logging.JSON}) {
		t.Errorf("http, log = %+v, %+v", c.HTTP, c.Log)
	}
	if len(c.Devices) != 2 {
		t.Fatalf("devices = %+v", c.Devices)
	}
	d := c.Devices[0]
	if d.ID != "t1" || d.Kind != "terminal" || d.Port != "/dev/serial/by-id/usb-a" || d.Baud != 9600 || d.Line != 42 || !d.Options.Present() {
		t.Errorf("devices[0] = %+v", d)
	}
	if d := c.Devices[1]; d.Port != "" || d.Baud != 0 || d.Options.Present() {
		t.Errorf("devices[1] = %+v", d)
	}
	if c.Device("k1") != &c.Devices[1] || c.Device("nope") != nil {
		t.Error("Device lookup")
	}
	if c.Line("mqtt.tls.ca_file") != 22 || c.Line("devices[1].kind") != 52 || c.Line("mqtt.password_file") != 0 {
		t.Errorf("lines: %d %d", c.Line("mqtt.tls.ca_file"), c.Line("devices[1].kind"))
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %v", c.Warnings)
	}
}

func TestExample(t *testing.T) {
	c, err := Parse("example.toml", []byte(Example))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("the example should be clean: %v", c.Warnings)
	}
	if c.Gateway.ID == "" || len(c.Devices) == 0 || c.MQTT.TLS.CAFile == "" || c.Journal.Retention["visitors"] != 30*24*time.Hour {
		t.Errorf("example lost its content: %+v", c)
	}
	// Every key the parser knows appears in the example, and in CONFIG.md.
	doc, err := os.ReadFile(filepath.Join("..", "CONFIG.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range knownKeys() {
		short := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(key, ".<stream>"), ".<profile>"), ".<key>"), "[]")
		short = short[strings.LastIndex(short, ".")+1:]
		if !strings.Contains(Example, short) {
			t.Errorf("example.toml does not mention %s", key)
		}
		if !strings.Contains(string(doc), "`"+key+"`") {
			t.Errorf("CONFIG.md does not document `%s`", key)
		}
	}
}

// knownKeys lists the keys of the file structs, from their toml tags.
func knownKeys() []string {
	var keys []string
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			key := join(prefix, f.Tag.Get("toml"))
			ft := f.Type
			for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
				if ft.Kind() == reflect.Slice {
					key += "[]"
				}
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Map {
				key += ".<" + map[string]string{"retention": "stream", "profiles": "profile", "settings": "key"}[f.Tag.Get("toml")] + ">"
			}
			if ft.Kind() == reflect.Struct {
				walk(key, ft)
				continue
			}
			keys = append(keys, key)
		}
	}
	walk("", reflect.TypeOf(file{}))
	return keys
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(minimal+"\n[journal]\ndir = \"j\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Journal.Dir != filepath.Join(dir, "j") || c.File != path {
		t.Errorf("dir = %q, file = %q", c.Journal.Dir, c.File)
	}
	_, err = Load(filepath.Join(dir, "missing.toml"))
	if err == nil || errors.Is(err, ErrInvalid) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestReadPassword(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("s3cret\nignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := MQTT{PasswordFile: pw}
	if got, err := m.ReadPassword(); err != nil || got != "s3cret" {
		t.Errorf("ReadPassword = %q, %v", got, err)
	}
	m = MQTT{Password: "inline"}
	if got, _ := m.ReadPassword(); got != "inline" {
		t.Errorf("inline = %q", got)
	}
	m = MQTT{PasswordFile: filepath.Join(dir, "none")}
	if _, err := m.ReadPassword(); err == nil || !strings.Contains(err.Error(), "mqtt.password_file") {
		t.Errorf("missing = %v", err)
	}
}

func TestWarnings(t *testing.T) {
	doc := minimal + `
[http]
listen = "0.0.0.0:9464"
allow_non_loopback = true

[[devices]]
id = "p1"
kind = "panel"
port = "/dev/ttyUSB0"
`
	c, err := Parse("config.toml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`config.toml:9: http.listen = "0.0.0.0:9464": metrics and health are reachable from the network`,
		`config.toml:15: devices[0].port = "/dev/ttyUSB0": not under /dev/serial/by-id/: the name can change across reboots and re-plugging`,
	}
	var got []string
	for _, w := range c.Warnings {
		got = append(got, w.String())
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("warnings:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestKindsExtend(t *testing.T) {
	doc := minimal + "\n[[devices]]\nid = \"l1\"\nkind = \"lock\"\n[devices.lock]\npin = 17\n"
	if _, err := Parse("c.toml", []byte(doc)); err == nil || !strings.Contains(err.Error(), `kind = "lock": unknown kind`) {
		t.Fatalf("default kinds accepted lock: %v", err)
	}
	c, err := ParseOpts("c.toml", []byte(doc), &Opts{Kinds: append(DefaultKinds(), Kind{Name: "lock"})})
	if err != nil {
		t.Fatal(err)
	}
	var opt struct {
		Pin int `toml:"pin"`
	}
	if err := c.Devices[0].Options.Decode(&opt); err != nil || opt.Pin != 17 {
		t.Errorf("lock options = %+v, %v", opt, err)
	}
}

func TestErrorsAreInvalid(t *testing.T) {
	_, err := Parse("c.toml", []byte("[gateway]\nid = 1\n"))
	var e *Error
	if !errors.Is(err, ErrInvalid) || !errors.As(err, &e) || e.Line != 2 || e.Key != "gateway.id" {
		t.Fatalf("err = %v (%+v)", err, e)
	}
}

func TestSinks(t *testing.T) {
	c, err := Parse("c.toml", []byte(`
[gateway]
id = "gw1"
[mqtt]
url = "tcp://localhost:1883"
[[sinks]]
name = "archive"
kind = "file"
streams = ["attendance"]
[sinks.settings]
path = "/mnt/archive/events.jsonl"
`))
	if err != nil {
		t.Fatal(err)
	}
	want := Sink{Name: "archive", Kind: "file", Streams: []string{"attendance"},
		Settings: map[string]string{"path": "/mnt/archive/events.jsonl"}, Line: 6}
	if len(c.Sinks) != 1 || !reflect.DeepEqual(c.Sinks[0], want) {
		t.Fatalf("sinks %+v, want %+v", c.Sinks, want)
	}
	_, err = Parse("c.toml", []byte(`
[gateway]
id = "gw1"
[mqtt]
url = "tcp://localhost:1883"
[[sinks]]
name = "mqtt"
kind = "file"
[[sinks]]
name = "a"
[[sinks]]
name = "a"
kind = "file"
streams = ["rooms", "rooms"]
colour = "red"
`))
	for _, w := range []string{
		`c.toml:7: sinks[0].name = "mqtt": reserved for the MQTT uplink`,
		`sinks[1].kind: required`,
		`c.toml:12: sinks[2].name = "a": duplicate: already used by sinks[1].name (line 10)`,
		`sinks[2].streams[1] = "rooms": listed twice`,
		`sinks[2].colour`,
	} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("errors %v\nwant %q", err, w)
		}
	}
}
