package config

import (
	"errors"
	"strings"
	"testing"
)

// head is a valid start: line 1 [gateway], 2 id, 3 blank, 4 [mqtt], 5 url.
const head = "[gateway]\nid = \"gw1\"\n\n[mqtt]\nurl = \"ssl://b.example.com\"\n"

// TestBad checks that each bad file gets exactly the expected messages: the
// file, the line, the canonical key and the value.
func TestBad(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		want []string
	}{
		{"unknown top-level key", head + "colour = \"blue\"\n",
			[]string{`c.toml:6: mqtt.colour: unknown key`}},
		{"unknown top-level table", "[gateway]\nid = \"gw1\"\n[mqtt]\nurl = \"tcp://b\"\n[metrics]\nlisten = \"x\"\n",
			[]string{`c.toml:5: metrics: unknown key`}},
		{"unknown root key", "verbose = true\n" + head,
			[]string{`c.toml:1: verbose: unknown key`}},
		{"unknown nested key", head + "qos = 1\n[mqtt.tls]\nca_file = \"ca.pem\"\nca_path = \"/etc\"\n",
			[]string{`c.toml:6: mqtt.qos: unknown key`, `c.toml:9: mqtt.tls.ca_path: unknown key`}},
		{"unknown dotted key", head + "tls.ca = \"x\"\n",
			[]string{`c.toml:6: mqtt.tls.ca: unknown key`}},
		{"unknown key in inline table", head + "tls = { ca_file = \"a\", cafile = \"b\" }\n",
			[]string{`c.toml:6: mqtt.tls.cafile: unknown key`}},
		{"missing required", "[mqtt]\nclient_id = \"x\"\n",
			[]string{`c.toml: gateway.id: required`, `c.toml:1: mqtt.url: required`}},
		{"bad duration", head + "keepalive = \"30 seconds\"\nbackoff_min = 5\n",
			[]string{
				`c.toml:6: mqtt.keepalive = "30 seconds": not a duration (want e.g. "10ms", "5m", "30d")`,
				`c.toml:7: mqtt.backoff_min = 5: want a duration string like "10s"`,
			}},
		{"duration out of range", head + "keepalive = \"1500ms\"\nbackoff_min = \"10s\"\nbackoff_max = \"1s\"\n",
			[]string{
				`c.toml:6: mqtt.keepalive = "1500ms": must be whole seconds`,
				`c.toml:8: mqtt.backoff_max = "1s": less than mqtt.backoff_min (10s)`,
			}},
		{"bad size", head + "\n[journal]\nmax_bytes = \"12XB\"\nsegment_size = \"-1MiB\"\n",
			[]string{
				`c.toml:8: journal.max_bytes = "12XB": not a size (want e.g. "512MiB", "1GiB")`,
				`c.toml:9: journal.segment_size = "-1MiB": must not be negative`,
			}},
		{"firmware cap", head + "[provisioning]\nfirmware_max_size = \"4GiB\"\nfirmware_dir = \"\"\n",
			[]string{
				`c.toml:7: provisioning.firmware_max_size = "4GiB": must be 1KiB..4294967295B`,
				`c.toml:8: provisioning.firmware_dir = "": not a path`,
			}},
		{"size limits", head + "[journal]\nsegment_size = \"1000001B\"\nmax_bytes = \"2MiB\"\n",
			[]string{
				`c.toml:7: journal.segment_size = "1000001B": must be a multiple of 8 bytes`,
				`c.toml:8: journal.max_bytes = "2MiB": must hold at least 4 segments (32MiB)`,
			}},
		{"bad retention", head + "[journal.retention]\nvisitors = \"30x\"\n\"Bad Name\" = \"1d\"\nshort = \"1s\"\n",
			[]string{
				`c.toml:7: journal.retention.visitors = "30x": not a duration (want e.g. "10ms", "5m", "30d")`,
				`c.toml:8: journal.retention."Bad Name" = "Bad Name": must be 1..64 of a-z 0-9 . _ - (it is an MQTT topic level)`,
				`c.toml:9: journal.retention.short = "1s": must be 1m0s..876000h0m0s`,
			}},
		{"bad clock and card key", "[gateway]\nid = \"gw1\"\nclock_threshold = \"10ms\"\n[mqtt]\nurl = \"tcp://b:1\"\n[privacy]\ncard_key_file = \"/no/such/card.key\"\n",
			[]string{
				`c.toml:3: gateway.clock_threshold = "10ms": must be 100ms..1h0m0s`,
				`c.toml:7: privacy.card_key_file = "/no/such/card.key": cannot read the key: open /no/such/card.key: no such file or directory`,
			}},
		{"bad url scheme", "[gateway]\nid = \"gw1\"\n[mqtt]\nurl = \"ws://b.example.com\"\n",
			[]string{`c.toml:4: mqtt.url = "ws://b.example.com": scheme "ws": want tcp, mqtt, ssl, tls or mqtts`}},
		{"url with credentials", "[gateway]\nid = \"gw1\"\n[mqtt]\nurl = \"tcp://u:secret@b\"\n",
			[]string{`c.toml:4: mqtt.url = "…": credentials in the URL end up in logs: use mqtt.username and mqtt.password_file`}},
		{"url with path and bad port", "[gateway]\nid = \"gw1\"\n[mqtt]\nurl = \"tcp://b:99999\"\n",
			[]string{`c.toml:4: mqtt.url = "tcp://b:99999": port "99999": must be 1..65535`}},
		{"tls on plain url", "[gateway]\nid = \"gw1\"\n[mqtt]\nurl = \"tcp://b\"\n[mqtt.tls]\nca_file = \"ca.pem\"\n",
			[]string{`c.toml:5: mqtt.tls: set but mqtt.url is not a TLS URL (use ssl://, tls:// or mqtts://)`}},
		{"tls cert without key", head + "[mqtt.tls]\ncert_file = \"c.pem\"\n",
			[]string{`c.toml:7: mqtt.tls.cert_file: set without mqtt.tls.key_file`}},
		{"tls key without cert", head + "[mqtt.tls]\nkey_file = \"k.pem\"\n",
			[]string{`c.toml:7: mqtt.tls.key_file: set without mqtt.tls.cert_file`}},
		{"insecure without the flag", head + "[mqtt.tls]\ninsecure_skip_verify = true\n",
			[]string{`c.toml:7: mqtt.tls.insecure_skip_verify = true: anyone on the network path could read attendance and visitor events and send door commands; set mqtt.tls.ca_file to the broker's CA instead, or add i_understand_this_is_insecure = true for a lab`}},
		{"password and password_file", head + "username = \"u\"\npassword = \"p\"\npassword_file = \"/etc/pw\"\n",
			[]string{`c.toml:8: mqtt.password_file: set together with mqtt.password: choose one`}},
		{"password without username", head + "password_file = \"/etc/pw\"\n",
			[]string{`c.toml:6: mqtt.password_file: a password needs mqtt.username [MQTT-3.1.2-22]`}},
		{"command qos", head + "command_qos = 2\n",
			[]string{`c.toml:6: mqtt.command_qos = 2: must be 0 or 1`}},
		{"inflight and format", head + "inflight = 0\nformat = \"xml\"\ntopic_root = \"a/+/b\"\n",
			[]string{
				`c.toml:6: mqtt.inflight = 0: must be 1..65535`,
				`c.toml:7: mqtt.format = "xml": want json or cbor`,
				`c.toml:8: mqtt.topic_root = "a/+/b": each level must be 1..64 of a-z 0-9 . _ - (no wildcards, no leading or trailing /)`,
			}},
		{"invalid gateway id", "[gateway]\nid = \"HQ Floor 3\"\ntimezone = \"Mars/Olympus\"\n[mqtt]\nurl = \"tcp://b\"\n",
			[]string{
				`c.toml:2: gateway.id = "HQ Floor 3": must be 1..64 of a-z 0-9 . _ - (it is an MQTT topic level)`,
				`c.toml:3: gateway.timezone = "Mars/Olympus": not an IANA time zone name (or tzdata is missing)`,
			}},
		{"timezone path", "[gateway]\nid = \"g\"\ntimezone = \"../../etc/passwd\"\n[mqtt]\nurl = \"tcp://b\"\n",
			[]string{`c.toml:3: gateway.timezone = "../../etc/passwd": not an IANA time zone name`}},
		{"non-loopback http", head + "[http]\nlisten = \"0.0.0.0:9464\"\n",
			[]string{`c.toml:7: http.listen = "0.0.0.0:9464": not a loopback address: metrics and health stay on the box (scrape through a proxy, or set http.allow_non_loopback = true)`}},
		{"all interfaces http", head + "[http]\nlisten = \":9464\"\n",
			[]string{`c.toml:7: http.listen = ":9464": not a loopback address: metrics and health stay on the box (scrape through a proxy, or set http.allow_non_loopback = true)`}},
		{"bad log", head + "[log]\nlevel = \"fatal\"\nformat = \"pretty\"\n",
			[]string{
				`c.toml:7: log.level = "fatal": want trace, debug, info, warn or error`,
				`c.toml:8: log.format = "pretty": want auto, json or console`,
			}},
		{"duplicate device id", head + "[[devices]]\nid = \"t1\"\nkind = \"reader\"\n[[devices]]\nid = \"t1\"\nkind = \"reader\"\n",
			[]string{`c.toml:10: devices[1].id = "t1": duplicate: already used by devices[0].id (line 7)`}},
		{"invalid device ids", head + "[[devices]]\nid = \"Lobby/1\"\nkind = \"reader\"\n[[devices]]\nkind = \"reader\"\n[[devices]]\nid = \"\"\nkind = \"reader\"\n",
			[]string{
				`c.toml:7: devices[0].id = "Lobby/1": must be 1..64 of a-z 0-9 . _ - (it is an MQTT topic level)`,
				`c.toml:9: devices[1].id: required`,
				`c.toml:12: devices[2].id = "": must be 1..64 of a-z 0-9 . _ - (it is an MQTT topic level)`,
			}},
		{"device kind, port, baud", head + "[[devices]]\nid = \"a\"\nkind = \"lock\"\n[[devices]]\nid = \"b\"\nkind = \"terminal\"\n[[devices]]\nid = \"c\"\nkind = \"panel\"\nport = \"COM3\"\nbaud = 1000\n",
			[]string{
				`c.toml:8: devices[0].kind = "lock": unknown kind (want one of terminal, panel, kiosk, reader, room, zkpush, zk4370)`,
				`c.toml:9: devices[1].port: required for kind "terminal"`,
				`c.toml:15: devices[2].port = "COM3": want a device path such as "/dev/serial/by-id/usb-FTDI_FT232R_A10K1Z9X-if00-port0"`,
				`c.toml:16: devices[2].baud = 1000: not a standard rate [1200 2400 4800 9600 19200 38400 57600 115200 230400 460800 921600]`,
			}},
		{"duplicate port", head + "[[devices]]\nid = \"a\"\nkind = \"panel\"\nport = \"/dev/serial/by-id/x\"\n[[devices]]\nid = \"b\"\nkind = \"panel\"\nport = \"/dev/serial/by-id/x\"\n",
			[]string{`c.toml:13: devices[1].port = "/dev/serial/by-id/x": already used by devices[0].port (line 9)`}},
		{"unknown device key and other kind's table", head + "[[devices]]\nid = \"a\"\nkind = \"reader\"\npin = 4\n[devices.terminal]\ngap = 1\n[devices.reader]\nd0 = 5\n",
			[]string{
				`c.toml:9: devices[0].pin: unknown key`,
				`c.toml:10: devices[0].terminal: options for kind "terminal" on a "reader" device`,
			}},
		{"kind table not a table", head + "[[devices]]\nid = \"a\"\nkind = \"reader\"\nreader = 5\n",
			[]string{`c.toml:9: devices[0].reader = 5: want a table ([devices.reader] or reader = { … })`}},
		{"type mismatch stops", head + "inflight = \"64\"\nbogus = 1\n",
			[]string{`c.toml:6: mqtt.inflight: want an integer, got string`}},
		{"type mismatch in array table", head + "[[devices]]\nid = \"a\"\nkind = \"reader\"\n[[devices]]\nid = 7\n",
			[]string{`c.toml:10: devices[1].id: want a string, got integer`}},
		{"syntax error", head + "inflight = [1,\n",
			[]string{`c.toml:6: array is incomplete`}},
		{"duplicate key", head + "url = \"tcp://c\"\n",
			[]string{`c.toml:6: mqtt.url: key url is already defined`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("c.toml", []byte(tc.doc))
			if err == nil {
				t.Fatalf("accepted: %+v", c)
			}
			if c != nil {
				t.Error("a config returned with an error")
			}
			got := strings.Split(err.Error(), "\n")
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) {
				t.Errorf("not an *Error: %T", err)
			}
		})
	}
}
