// Package demo runs officegate with nothing to set up. It runs an embedded MQTT
// broker on loopback (or an external one), emulated devices speaking the
// firmware-bridge link over real PTYs, the real pipeline and journal in a
// temporary directory, and a live view of what HR and admin services receive.
//
// It plays a scripted morning in real time. At the two attendance terminals,
// the Wiegand reader, the ZKTeco terminal zk-lobby (an emulated terminal
// calling the gateway over PUSH on loopback) and the older ZKTeco terminal
// zk-side (an emulated terminal the gateway calls over the 4370 protocol,
// holding punches from before the gateway started), a rush of punches (one
// terminal's clock drifted);
// the admin service enrolls a user and pulses a door. At reception, the
// kiosk kiosk-lobby (a QR scanner and an ESC/POS badge printer on PTYs, the
// door on a simulated GPIO board): the admin service invites two visitors,
// one scans in (checked in, door released, badge printed: its preview is
// written as a PNG, BadgePreview), a stranger's code is rejected and
// approved, the other visitor scans in, the first scans out. In the meeting
// room room-aurora (a simulated PIR and LEDs, its panel panel-3f-aurora on
// the link): the booking system pushes two bookings starting within
// seconds, the first is checked in on the panel, the PIR and the panel's
// own sensor see people come and go, and nobody shows for the second,
// whose release is suggested within the first quarter minute; the room
// then shows free. The kiosk's own panel (kiosk-lobby-panel, an emulated
// kiosk panel on the link) shows the kiosk's welcome lines. The room's display lines reach the
// emulated panel through the gateway (daemon.Sender) and are printed as
// PANEL lines; what the script does is printed as DEMO lines.
package demo

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/firmware-bridge/fwemu"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/uplink"
)

// Options configure the demo.
type Options struct {
	Duration time.Duration // 0: until ctx ends
	Broker   string        // external broker URL; "" starts the embedded one
	Rate     float64       // events per second per device; default 2
	Out      io.Writer     // the live view; default stdout
	Log      zerolog.Logger
	Version  string
	// BadgeDir is where the first badge's preview (BadgePreview) is
	// written; default the system's temporary directory, since the demo's
	// own is removed when it ends.
	BadgeDir string
	// Console is the loopback address of the web console; "" tries
	// DefaultConsole, then any free port; "off" serves none.
	Console string
}

// Gateway is the demo gateway's id.
const Gateway = "demo"

// Run runs the demo until the duration passes or ctx ends.
func Run(ctx context.Context, o Options) error {
	if o.Out == nil {
		o.Out = os.Stdout
	}
	// The view, the scripts and the panel watcher print from their own
	// goroutines.
	o.Out = &lockedWriter{w: o.Out}
	if o.BadgeDir == "" {
		o.BadgeDir = os.TempDir()
	}
	if o.Rate == 0 {
		o.Rate = 2
	}
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	dir, err := os.MkdirTemp("", "officegate-demo-")
	if err != nil {
		return fmt.Errorf("demo: temp dir: %w", err)
	}
	defer os.RemoveAll(dir)

	brokerURL, host, port := o.Broker, "", 0
	if brokerURL == "" {
		b, err := StartBroker()
		if err != nil {
			return err
		}
		defer b.Close()
		brokerURL, host, port = b.URL, b.Host, b.Port
	}

	type spec struct {
		id   string
		kind msg.Kind
		door bool
		skew time.Duration
	}
	// t-lobby-2's battery clock has drifted 90 s behind: the gateway flags
	// what it recorded meanwhile, raises an alarm and steps it.
	specs := []spec{{"t-lobby-1", msg.KindAttendance, true, 0}, {"t-lobby-2", msg.KindAttendance, false, -90 * time.Second},
		{Panel, msg.KindRoomPanel, false, 0}, {LobbyPanel, msg.KindKiosk, false, 0}}
	var devs []daemon.Device
	var terminals []*fwemu.PTYDevice
	var panel, lobbyPanel *fwemu.PTYDevice
	for i, s := range specs {
		rate := o.Rate
		if s.kind != msg.KindAttendance {
			rate = 0 // quiet: the room script presses the panel's buttons; the kiosk's panel only shows lines
		}
		d, err := fwemu.StartPTY(s.id, fwemu.Options{
			StatePath: filepath.Join(dir, s.id+".state"), HardwareID: "EMU-" + s.id, Kind: s.kind,
			Rate: rate, Seed: uint64(i + 1), RTC: true, ClockSkew: s.skew, Door: s.door, LogCapacity: 2000,
		})
		if err != nil {
			return err
		}
		defer d.Stop()
		kind := "terminal"
		switch s.kind {
		case msg.KindRoomPanel:
			kind, panel = "panel", d
		case msg.KindKiosk:
			kind, lobbyPanel = "kiosk", d
		default:
			terminals = append(terminals, d)
		}
		devs = append(devs, daemon.Device{ID: s.id, Kind: kind, Port: d.Path, Baud: 115200})
	}
	// The morning rush at the terminals: a queue of people, a punch every
	// 100–400 ms, recorded before the gateway is even up for the first few.
	terminalRush := func(ctx context.Context) {
		n := 0
		for n < 120 {
			for _, d := range terminals {
				d.Emu.Emit("punch", map[string]any{"user": fmt.Sprintf("%05d", 10000+n), "verify": []string{"finger", "face", "card"}[n%3],
					"state": uint64(0), "card": fmt.Sprintf("%d", 4000+n)})
				n++
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Duration(100+rand.IntN(300)) * time.Millisecond):
			}
		}
	}

	fmt.Fprintf(o.Out, "officegate demo: %d emulated link devices on PTYs, a Wiegand reader, ZKTeco PUSH terminal %s, ZKTeco 4370 terminal %s, reception kiosk %s, meeting room %s; journal in %s\n",
		len(devs), PushTerminal, Terminal4370, Lobby, Room, filepath.Join(dir, "state", "journal"))
	fmt.Fprintf(o.Out, "broker: %s\n", brokerURL)
	if host != "" {
		fmt.Fprintf(o.Out, "watch from another terminal:  mosquitto_sub -h %s -p %d -t 'officegate/#' -v\n", host, port)
		fmt.Fprintf(o.Out, "send a command:               mosquitto_pub -h %s -p %d -t officegate/demo/devices/t-lobby-1/commands/ping -m '{\"id\":\"my-ping-1\",\"args\":{\"hello\":\"world\"}}'\n", host, port)
	}
	fmt.Fprintln(o.Out, strings.Repeat("-", 100))
	v, err := startView(brokerURL, "officegate/"+Gateway+"/#", o.Out)
	if err != nil {
		return err
	}
	defer v.close()

	// A Wiegand card reader at the lobby door: a simulated reader produces
	// real pulse trains, decoded by the same code as on a Pi's GPIO.
	cardReader, rush, err := startCardReader(ctx, o.Log)
	if err != nil {
		return err
	}
	// A ZKTeco terminal at the lobby that calls the gateway over PUSH.
	pushTerm, pushRun, err := startPushTerminal(o.Log.With().Str("device", PushTerminal).Logger())
	if err != nil {
		return err
	}
	// An older ZKTeco terminal the gateway calls over the 4370 protocol.
	side, sideRun, sideStop, err := startTerminal4370(filepath.Join(dir, "state"), o.Log.With().Str("device", Terminal4370).Logger())
	if err != nil {
		return err
	}
	defer sideStop()

	// The reception kiosk and the meeting room, and the back-office services
	// that drive them over MQTT.
	sender := &daemon.Sender{}
	lob, err := startLobby(dir, o.BadgeDir, sender, o.Log.With().Str("device", Lobby).Logger())
	if err != nil {
		return err
	}
	defer lob.close()
	roomDrv, pir, err := startRoom(dir, sender, o.Log.With().Str("device", Room).Logger())
	if err != nil {
		return err
	}
	admin, err := dialService(brokerURL, "admin")
	if err != nil {
		return err
	}
	defer admin.close()
	bookings, err := dialService(brokerURL, "booking")
	if err != nil {
		return err
	}
	defer bookings.close()
	say := func(format string, a ...any) { story(o.Out, format, a...) }
	script := func(name string, f func() error) {
		if err := f(); err != nil && ctx.Err() == nil {
			say("the %s script stopped: %v", name, err)
		}
	}

	var con *daemon.Console
	if o.Console != "off" {
		con, err = demoConsole(dir, o.Console, func(url string) {
			story(o.Out, "FACILITIES: the web console is at %s — log in as %s / %s", url, ConsoleUser, ConsolePassword)
		})
		if err != nil {
			return err
		}
	}
	ready := make(chan *daemon.Gateway, 1)
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, daemon.Options{
			// The registry (no ports watched) gives the console its admin
			// service: devices, enrollment, manifests.
			Provisioning: &daemon.Provisioning{}, Console: con,
			Gateway: Gateway, StateDir: filepath.Join(dir, "state"),
			Journal: journal.Options{SegmentSize: 1 << 20, MaxBytes: 64 << 20},
			Uplink:  uplink.Options{Broker: brokerURL, ClientID: "officegate-" + Gateway, BackoffMin: 250 * time.Millisecond, BackoffMax: 5 * time.Second},
			Devices: devs, Drivers: []devices.Driver{cardReader, lob.k, roomDrv, pushTerm, side}, Sender: sender, Version: o.Version, Log: o.Log,
			Ready: func(g *daemon.Gateway) { ready <- g },
		})
	}()
	var g *daemon.Gateway
	select {
	case g = <-ready:
	case err := <-done:
		return err
	}
	// The helpers end with ctx, as the gateway does; the demo waits for them.
	var helpers sync.WaitGroup
	defer helpers.Wait()
	helpers.Go(func() { rush(ctx) })
	helpers.Go(func() { terminalRush(ctx) })
	helpers.Go(func() { pushRun(ctx) })
	helpers.Go(func() { sideRun(ctx) })
	helpers.Go(func() { watchPanel(ctx, panel, o.Out) })
	helpers.Go(func() { watchPanel(ctx, lobbyPanel, o.Out) })
	helpers.Go(func() { script("reception", func() error { return receptionMorning(ctx, admin, lob, say) }) })
	helpers.Go(func() { script("meeting room", func() error { return roomMorning(ctx, bookings, panel, pir, say) }) })
	// The admin service enrolls a visitor-desk user on a terminal, releases
	// the lobby door, and pings, once the terminal is up. Every wait is on
	// the terminal's link or the broker's answer, bounded by the demo's end:
	// on a slow or busy machine the commands come later, never not at all.
	helpers.Go(func() {
		term := g.Link("t-lobby-1")
		if term == nil {
			say("the admin script stopped: no link for t-lobby-1")
			return
		}
		if _, err := term.Wait(ctx, func(s link.Status) bool { return s.Online }); err != nil {
			return // the demo ended first
		}
		wait := func(tok paho.Token) error {
			select {
			case <-tok.Done():
				return tok.Error()
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		c := paho.NewClient(paho.NewClientOptions().AddBroker(brokerURL).SetClientID("officegate-demo-admin"))
		if err := wait(c.Connect()); err != nil {
			script("admin", func() error { return fmt.Errorf("connect to %s: %w", brokerURL, err) })
			return
		}
		defer c.Disconnect(100)
		for _, cmd := range []struct{ name, body string }{
			{"user.upsert", `{"id":"demo-user-1","args":{"user":"10042","name":"李伟","card":"12:4660"}}`},
			{"door.pulse", `{"id":"demo-door-1","args":{"duration_ms":3000}}`},
			{"ping", `{"id":"demo-ping-1","args":{"hello":"world"}}`},
		} {
			if err := wait(c.Publish("officegate/"+Gateway+"/devices/t-lobby-1/commands/"+cmd.name, 1, false, cmd.body)); err != nil {
				script("admin", func() error { return fmt.Errorf("send %s: %w", cmd.name, err) })
				return
			}
		}
	})
	err = <-done
	events, unique, results := v.counts()
	fmt.Fprintln(o.Out, strings.Repeat("-", 100))
	st := g.Journal.Stats()
	fmt.Fprintf(o.Out, "received %d events (%d unique ids), %d command results; journal: %d records committed in %d group commits (%d fsyncs)\n",
		events, unique, results, st.Records, st.Commits, st.Fsyncs)
	return err
}

// story prints a line of the morning's story, set apart from the event
// flood: a blank line before it, and a marker a reader's eye finds.
func story(out io.Writer, format string, a ...any) {
	fmt.Fprintf(out, "\n%s  DEMO ▶ %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, a...))
}

// lockedWriter serialises whole writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer // guarded by mu
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
