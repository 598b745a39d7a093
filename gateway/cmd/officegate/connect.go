package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"

	"github.com/officegate/officegate/gateway/config"
	"github.com/officegate/officegate/gateway/connect"
	"github.com/officegate/officegate/gateway/intake"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/logging"
	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/gateway/sinks/all"
)

const connectUsage = `usage: officegate connect [--config FILE] [--check]
  run the central consumer: the sinks, fed from the backbone (docs/OPERATIONS.md "Central consumer")
`

// runConnect runs "connect".
func runConnect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("connect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "/etc/officegate/connect.toml", "configuration `file`")
	check := fs.Bool("check", false, "validate the configuration file and exit")
	if err := parseFlags(fs, args, connectUsage, stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		printFlags(fs, connectUsage, stderr)
		return errUsage
	}
	cfg, err := loadConnect(*path)
	if err != nil {
		return err
	}
	if *check {
		for _, w := range cfg.Warnings {
			fmt.Fprintln(stdout, "warning:", w.String())
		}
		fmt.Fprintf(stdout, "%s: ok (%d sinks, source %s)\n", *path, len(cfg.Sinks), sourceName(cfg))
		return nil
	}
	log := logging.New(stdout, logging.Options{Level: cfg.Log.Level, Format: cfg.Log.Format})
	for _, w := range cfg.Warnings {
		log.Warn().Msg(w.String())
	}
	sd := startSystemd(ctx, log)
	defer sd.close()
	o := connect.Options{StateDir: cfg.StateDir, DedupWindow: cfg.DedupWindow, HTTP: cfg.HTTP.Listen,
		Socket: cfg.Socket, SocketGID: -1, Log: log,
		Journal: journal.Options{MaxBytes: cfg.Journal.MaxBytes, SegmentSize: cfg.Journal.SegmentSize,
			SyncWindow: cfg.Journal.SyncWindow, CursorInterval: cfg.Journal.CursorInterval},
		Ready: func(*connect.Connector) { sd.ready(nil) },
	}
	if cfg.SocketGroup != "" {
		grp, err := user.LookupGroup(cfg.SocketGroup)
		if err != nil {
			return fmt.Errorf("connect.socket_group: %w", err)
		}
		if o.SocketGID, err = strconv.Atoi(grp.Gid); err != nil {
			return fmt.Errorf("connect.socket_group %q: gid %q: %w", cfg.SocketGroup, grp.Gid, err)
		}
	}
	for _, s := range cfg.Sinks {
		o.Sinks = append(o.Sinks, connect.Sink{Name: s.Name, Kind: s.Kind, Streams: s.Streams, Settings: s.Settings})
	}
	switch {
	case cfg.JetStream != nil:
		js := cfg.JetStream
		src := &connect.JetStream{URLs: js.URLs, Stream: js.Stream, Consumer: js.Consumer, Root: cfg.TopicRoot,
			AckWait: js.AckWait, MaxAckPending: js.MaxAckPending, Batch: js.Batch, User: js.User,
			Shared: js.Replicas == config.ReplicasShared, LeaseTTL: js.LeaseTTL,
			Name: "officegate-connect", Log: log.With().Str("part", "jetstream").Logger()}
		if js.PasswordFile != "" {
			if src.Password, err = readFirstLine(js.PasswordFile); err != nil {
				return fmt.Errorf("connect.jetstream.password_file: %w", err)
			}
		}
		if strings.HasPrefix(js.URLs[0], "tls://") {
			if src.TLS, err = tlsConfig(js.CAFile); err != nil {
				return fmt.Errorf("connect.jetstream.ca_file: %w", err)
			}
		}
		o.Source, o.KeepEvery = src, js.AckWait/3
	default:
		m := cfg.MQTT
		src := &connect.MQTT{URLs: m.URLs, ClientID: m.ClientID, ShareGroup: m.ShareGroup, Root: cfg.TopicRoot,
			Username: m.Username, KeepAlive: m.Keepalive, Log: log.With().Str("part", "mqtt").Logger()}
		if m.PasswordFile != "" {
			if src.Password, err = readFirstLine(m.PasswordFile); err != nil {
				return fmt.Errorf("connect.mqtt.password_file: %w", err)
			}
		}
		if u := m.URLs[0]; strings.HasPrefix(u, "ssl://") || strings.HasPrefix(u, "tls://") || strings.HasPrefix(u, "mqtts://") {
			if src.TLS, err = tlsConfig(m.CAFile); err != nil {
				return fmt.Errorf("connect.mqtt.ca_file: %w", err)
			}
		}
		o.Source = src
	}
	return connect.Run(ctx, o)
}

func sourceName(cfg *config.Connect) string {
	if cfg.JetStream != nil {
		return "jetstream " + cfg.JetStream.Stream + "/" + cfg.JetStream.Consumer + ", replicas " + cfg.JetStream.Replicas
	}
	return "mqtt " + cfg.MQTT.ClientID
}

// loadConnect loads connect's file and checks what only the binary knows:
// the sinks' kinds and settings, and their streams.
func loadConnect(path string) (*config.Connect, error) {
	cfg, err := config.LoadConnect(path)
	if err != nil {
		return nil, err
	}
	var errs []error
	for i, s := range cfg.Sinks {
		if sk, err := all.New(s.Name, s.Kind, s.Settings); err != nil {
			errs = append(errs, cfg.Errorf(fmt.Sprintf("sinks[%d].kind", i), s.Kind, "%v", err))
		} else if c, ok := sk.(sinks.Closer); ok {
			c.Close()
		}
		for j, st := range s.Streams {
			if !isStream(st) {
				errs = append(errs, cfg.Errorf(fmt.Sprintf("sinks[%d].streams[%d]", i, j), st, "not a published stream"))
			}
		}
	}
	return cfg, errors.Join(errs...)
}

func isStream(name string) bool {
	for _, s := range intake.Streams() {
		if s.Name == name {
			return true
		}
	}
	return false
}

// readFirstLine reads a secret file's first line.
func readFirstLine(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSuffix(line, "\r"), nil
}

// tlsConfig trusts caFile's certificates, or the system's when "".
func tlsConfig(caFile string) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return c, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	c.RootCAs = x509.NewCertPool()
	if !c.RootCAs.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate", caFile)
	}
	return c, nil
}
