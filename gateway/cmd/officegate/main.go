// Command officegate is the office hardware gateway. It takes events from
// attendance terminals, reception kiosks and meeting-room panels to MQTT
// without losing, duplicating or reordering any.
//
//	officegate run --config /etc/officegate/officegate.toml
//	officegate demo [--duration 30s] [--broker tcp://host:1883]
//	officegate check-config FILE
//	officegate connect --config /etc/officegate/connect.toml
//	officegate version
//	officegate console user add|passwd|remove|list
package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	_ "time/tzdata" // zone names work on a board without the tzdata package

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/kiosk"
	"github.com/officegate/officegate/devices/reader"
	"github.com/officegate/officegate/devices/roomdrv"
	"github.com/officegate/officegate/devices/zk4370"
	"github.com/officegate/officegate/firmware-bridge/link"

	"github.com/officegate/officegate/devices/zkpush/pushdrv"
	"github.com/officegate/officegate/gateway/config"
	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/gateway/demo"
	"github.com/officegate/officegate/gateway/intake"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/logging"
	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/gateway/sinks/all"
	"github.com/officegate/officegate/gateway/uplink"
)

// version is set at build time: -ldflags "-X main.version=1.2.3".
var version = "dev"

// newRegistry is every driver this binary knows that does not speak the
// firmware-bridge link (those are configured by their serial port). Only main
// knows every driver. A room reaches its panel through send.
func newRegistry(send *daemon.Sender) devices.Registry {
	toPanel := func(ctx context.Context, panel, name string, args map[string]any) error {
		res, err := send.Send(ctx, panel, devices.Command{Name: name, Args: args})
		if err == nil && res.Status != devices.StatusOK {
			err = fmt.Errorf("panel %q answered %s to %s: %s", panel, res.Status, name, res.Error)
		}
		return err
	}
	return devices.Registry{reader.Kind: reader.New, kiosk.Kind: kiosk.New, roomdrv.Kind: roomdrv.Factory(nil, nil, toPanel),
		pushdrv.Kind: pushdrv.Factory(pushdrv.NewHub(nil)),
		zk4370.Kind:  zk4370.New}
}

func main() {
	// SIGINT and SIGTERM become one cancellation; a second signal kills.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, errUsage) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "officegate:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// errHelp is returned once a subcommand has printed its usage because -h or
// --help asked for it: run reports success.
var errHelp = errors.New("help printed")

// parseFlags parses args with fs. -h, -help and --help print what, then
// fs's flags, to stdout and return errHelp; any other flag error prints the
// flag package's message, what and the flags to fs's output (stderr) and
// returns errUsage.
func parseFlags(fs *flag.FlagSet, args []string, what string, stdout io.Writer) error {
	fs.Usage = func() {} // printed below, to the right stream
	err := fs.Parse(args)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		printFlags(fs, what, stdout)
		return errHelp
	default:
		printFlags(fs, what, fs.Output())
		return errUsage
	}
}

// printFlags prints what and fs's flags to w.
func printFlags(fs *flag.FlagSet, what string, w io.Writer) {
	fmt.Fprint(w, what)
	out := fs.Output()
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(out)
}

// wantsHelp says whether args ask for help: -h, -help or --help, alone.
func wantsHelp(args []string) bool {
	return len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help")
}

const usage = `usage:
  officegate run --config FILE     run the gateway
  officegate demo [flags]          run everything with an embedded broker and emulated devices
  officegate check-config FILE     validate a configuration file
  officegate connect [--config FILE]  run the central consumer: the sinks, fed from the backbone
  officegate version               print the version
  officegate console user add|passwd|remove|list …  the web console's users (help: officegate console --help)
  officegate devices|enroll|config|firmware …  administer devices through the running daemon (help: officegate devices --help)
  officegate people …              the person directory and held punches (help: officegate people --help)
  officegate fwcheck [flags] PORT  check a device's firmware on a serial port against PROTOCOL.md
`

// run runs the command line args. Help asked for is printed to stdout and is
// not an error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	err := dispatch(ctx, args, stdout, stderr)
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "run":
		fs := flag.NewFlagSet("run", flag.ContinueOnError)
		fs.SetOutput(stderr)
		path := fs.String("config", "/etc/officegate/officegate.toml", "configuration `file`")
		if err := parseFlags(fs, args[1:], "usage: officegate run [--config FILE]\n", stdout); err != nil {
			return err
		}
		return runGateway(ctx, *path, stdout)
	case "demo":
		fs := flag.NewFlagSet("demo", flag.ContinueOnError)
		fs.SetOutput(stderr)
		dur := fs.Duration("duration", 0, "stop after this long (default: until Ctrl-C)")
		broker := fs.String("broker", "", "use this broker `URL` instead of the embedded one")
		rate := fs.Float64("rate", 2, "events per second per emulated device")
		verbose := fs.Bool("v", false, "log the gateway's own records too")
		con := fs.String("console", "", "loopback `address` of the web console (default "+demo.DefaultConsole+", or any free port if taken; off: none)")
		if err := parseFlags(fs, args[1:], "usage: officegate demo [flags]\n", stdout); err != nil {
			return err
		}
		level := zerolog.WarnLevel
		if *verbose {
			level = zerolog.InfoLevel
		}
		log := logging.New(stderr, logging.Options{Level: level})
		return demo.Run(ctx, demo.Options{Duration: *dur, Broker: *broker, Rate: *rate, Out: stdout, Log: log, Version: versionString(), Console: *con})
	case "check-config":
		const what = "usage: officegate check-config FILE\n  validate a configuration file as run would, without starting anything\n"
		if wantsHelp(args[1:]) {
			fmt.Fprint(stdout, what)
			return errHelp
		}
		if len(args) != 2 {
			fmt.Fprint(stderr, what)
			return errUsage
		}
		cfg, _, err := loadConfig(args[1])
		if err != nil {
			return err
		}
		for _, w := range cfg.Warnings {
			fmt.Fprintln(stdout, "warning:", w.String())
		}
		fmt.Fprintf(stdout, "%s: ok (gateway %q, %d devices, broker %s)\n", args[1], cfg.Gateway.ID, len(cfg.Devices), cfg.MQTT.URL)
		return nil
	case "console":
		return runConsole(args[1:], stdout, stderr) // console.go
	case "connect":
		return runConnect(ctx, args[1:], stdout, stderr) // connect.go
	case "fwcheck":
		return runFwcheck(ctx, args[1:], stdout, stderr) // fwcheck.go
	case "devices", "enroll", "config", "firmware", "people", "sinks", "--socket", "-socket":
		return runAdmin(ctx, args, stdout, stderr) // admin.go
	case "version":
		if wantsHelp(args[1:]) {
			fmt.Fprint(stdout, "usage: officegate version\n  print the version\n")
			return errHelp
		}
		fmt.Fprintln(stdout, "officegate", versionString())
		return nil
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "officegate: unknown command %q\n%s", args[0], usage)
	return errUsage
}

func versionString() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	return v
}

// loadConfig loads and validates the configuration file, including what
// only the gateway's own tables can check: a [journal.retention] key that
// names no stream is an error with its line (a typo must not keep visitor
// data forever). check-config and run both use it, so they agree.
func loadConfig(path string) (*config.Config, journal.Options, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, journal.Options{}, err
	}
	jo, err := cfg.JournalOptions(intake.Streams())
	if err != nil {
		return nil, journal.Options{}, err
	}
	if err := checkSinks(cfg); err != nil {
		return nil, journal.Options{}, err
	}
	return cfg, jo, nil
}

// checkSinks checks what only the gateway knows of [[sinks]]: the kinds and
// their settings, and the stream names.
func checkSinks(cfg *config.Config) error {
	var errs []error
	for i, s := range cfg.Sinks {
		if s.Kind != "" {
			if sk, err := all.New(s.Name, s.Kind, s.Settings); err != nil {
				errs = append(errs, cfg.Errorf(fmt.Sprintf("sinks[%d].kind", i), s.Kind, "%v", err))
			} else if c, ok := sk.(sinks.Closer); ok {
				c.Close()
			}
		}
		for j, st := range s.Streams {
			if !slices.ContainsFunc(intake.Streams(), func(js journal.Stream) bool { return js.Name == st }) {
				errs = append(errs, cfg.Errorf(fmt.Sprintf("sinks[%d].streams[%d]", i, j), st, "not a published stream"))
			}
		}
	}
	return errors.Join(errs...)
}

// daemonSinks are the configuration's [[sinks]] for daemon.Options.
func daemonSinks(cfg *config.Config) []daemon.Sink {
	var out []daemon.Sink
	for _, s := range cfg.Sinks {
		out = append(out, daemon.Sink{Name: s.Name, Kind: s.Kind, Streams: s.Streams, Settings: s.Settings})
	}
	return out
}

func runGateway(ctx context.Context, path string, stdout io.Writer) error {
	cfg, jo, err := loadConfig(path)
	if err != nil {
		return err
	}
	log := logging.New(stdout, logging.Options{Level: cfg.Log.Level, Format: cfg.Log.Format})
	for _, w := range cfg.Warnings {
		log.Warn().Msg(w.String())
	}
	// systemd: READY, watchdog, STOPPING (systemd.go).
	sd := startSystemd(ctx, log)
	defer sd.close()
	password, err := cfg.MQTT.ReadPassword()
	if err != nil {
		return err
	}
	cardKey, err := siteCardKey(cfg, log)
	if err != nil {
		return err
	}
	sender := &daemon.Sender{}
	registry := newRegistry(sender)
	var devs []daemon.Device
	var drivers []devices.Driver
	for _, d := range cfg.Devices {
		if d.Port != "" {
			devs = append(devs, daemon.Device{ID: d.ID, Kind: d.Kind, Port: d.Port, Baud: d.Baud})
			continue
		}
		opts := devices.Options{Log: logging.Device(log, d.ID), CardKey: cardKey, Send: sender.Send,
			StateDir: filepath.Dir(cfg.Journal.Dir)}
		if d.Options.Present() {
			opts.Config = d.Options
		}
		drv, err := registry.New(d.Kind, d.ID, opts)
		if err != nil {
			return fmt.Errorf("%s:%d: device %q: %w", cfg.File, d.Line, d.ID, err)
		}
		drivers = append(drivers, drv)
	}
	uo := uplink.Options{
		Broker: cfg.MQTT.URL, Brokers: cfg.MQTT.Failover, ClientID: cfg.MQTT.ClientID, Username: cfg.MQTT.Username, Password: password,
		Topics: cfg.Topics(), Format: cfg.MQTT.Format, Inflight: cfg.MQTT.Inflight, CommandsQoS0: cfg.MQTT.CommandQoS == 0,
		KeepAlive: cfg.MQTT.Keepalive, ConnectTimeout: cfg.MQTT.ConnectTimeout,
		BackoffMin: cfg.MQTT.BackoffMin, BackoffMax: cfg.MQTT.BackoffMax,
	}
	if cfg.MQTT.TLSEnabled {
		t := cfg.MQTT.TLS
		uo.TLS = uplink.TLSFiles{CAFile: t.CAFile, CertFile: t.CertFile, KeyFile: t.KeyFile,
			ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}.Config
	}
	prov, err := provisioningOptions(cfg)
	if err != nil {
		return err
	}
	var con *daemon.Console
	if c := cfg.Console; c.Enabled {
		con = &daemon.Console{Listen: c.Listen, TLS: c.TLS, CertFile: c.CertFile, KeyFile: c.KeyFile, UsersFile: c.UsersFile, Idle: c.IdleTimeout}
	}
	return daemon.Run(ctx, daemon.Options{
		Gateway: cfg.Gateway.ID, Location: cfg.Gateway.Timezone,
		StateDir: filepath.Dir(cfg.Journal.Dir), JournalDir: cfg.Journal.Dir,
		Journal:   jo,
		Retention: cfg.Journal.Retention, Uplink: uo, Sinks: daemonSinks(cfg), Devices: devs, Drivers: drivers, Version: versionString(), Log: log,
		HTTP: cfg.HTTP.Listen, CardKey: cardKey, Sender: sender, Provisioning: prov, Console: con,
		TimeSync: link.TimeSync{Step: cfg.Gateway.ClockThreshold, Every: cfg.Gateway.ClockSyncEvery},
		Ready:    sd.ready, Watchdog: sd.watchdog,
	})
}

// siteCardKey is [privacy] card_key_file, or else the site key in the
// state directory, made at the first start: card numbers are always hashed.
func siteCardKey(cfg *config.Config, log zerolog.Logger) ([]byte, error) {
	if cfg.Privacy.CardKeyFile != "" {
		key, err := devices.ReadKey(cfg.Privacy.CardKeyFile)
		if err != nil {
			return nil, fmt.Errorf("privacy.card_key_file: %w", err)
		}
		return key, nil
	}
	state := filepath.Dir(cfg.Journal.Dir)
	if err := os.MkdirAll(state, 0o750); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	path := filepath.Join(state, devices.SiteKeyFile)
	key, created, err := devices.LoadOrCreateKey(path, nil)
	if err != nil {
		return nil, err
	}
	if created {
		log.Info().Str("file", path).Msg("made the site card key: card numbers travel as card_hash under it; give it to the back ends that must match cards")
	}
	return key, nil
}

// provisioningOptions reads [provisioning]: the profiles' files are read now,
// so a missing one stops the start with its name.
func provisioningOptions(cfg *config.Config) (*daemon.Provisioning, error) {
	c := cfg.Provisioning
	p := &daemon.Provisioning{Ports: c.Ports, Baud: c.Baud, Dir: c.RegistryDir, Profiles: map[string][]byte{},
		Socket: c.Socket, SocketGID: -1, FirmwareDir: c.FirmwareDir, FirmwareMaxSize: c.FirmwareMaxSize}
	if c.SocketGroup != "" {
		grp, err := user.LookupGroup(c.SocketGroup)
		if err != nil {
			return nil, fmt.Errorf("provisioning.socket_group: %w", err)
		}
		if p.SocketGID, err = strconv.Atoi(grp.Gid); err != nil {
			return nil, fmt.Errorf("provisioning.socket_group %q: gid %q: %w", c.SocketGroup, grp.Gid, err)
		}
	}
	if p.Dir == "" {
		p.Dir = filepath.Join(filepath.Dir(cfg.Journal.Dir), "registry")
	}
	if c.FirmwareKey != "" {
		k, err := readPublicKey(c.FirmwareKey)
		if err != nil {
			return nil, fmt.Errorf("provisioning.firmware_key: %w", err)
		}
		p.FirmwareKey = k
	}
	for name, file := range c.Profiles {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("provisioning.profiles.%s: %w", name, err)
		}
		p.Profiles[name] = b
	}
	return p, nil
}

// readPublicKey reads an Ed25519 public key: 32 raw bytes, or 64 hex digits
// (a final line ending allowed).
func readPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) == ed25519.PublicKeySize {
		return ed25519.PublicKey(b), nil
	}
	h, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(h) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%s: want an Ed25519 public key, 32 bytes or 64 hex digits", path)
	}
	return ed25519.PublicKey(h), nil
}
