package daemon_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/gpio/gpiosim"
	"github.com/officegate/officegate/devices/roomdrv"
	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/gateway/intake"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/gateway/uplink"
	"github.com/officegate/officegate/internal/testkit"
)

// allStages is every stage of a gateway configured with everything, in
// start order.
var allStages = []string{"journal", "intake", "people", "http", "uplink", "registry", "commands", "drivers", "panels",
	"links", "ports", "rollouts", "admin", "watchdog"}

// stageLog records a run's stage starts and stops.
type stageLog struct {
	mu      sync.Mutex
	started []string // guarded by mu
	stopped []string // guarded by mu
}

func (l *stageLog) hook(fail string, err error) func(string, bool) error {
	return func(stage string, stopped bool) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		if stopped {
			l.stopped = append(l.stopped, stage)
			return nil
		}
		if stage == fail {
			return err
		}
		l.started = append(l.started, stage)
		return nil
	}
}

// check fails t unless every started stage stopped, in reverse order.
func (l *stageLog) check(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	want := slices.Clone(l.started)
	slices.Reverse(want)
	if !slices.Equal(l.stopped, want) {
		t.Errorf("started %v, stopped %v: want every started stage stopped, in reverse order", l.started, l.stopped)
	}
	if len(l.stopped) > 0 && l.stopped[len(l.stopped)-1] != "journal" {
		t.Errorf("stopped %v: the journal must close last", l.stopped)
	}
}

// fullOptions configures every stage: a configured link device (its port
// absent: the link retries), a room driver listening to it, the HTTP
// server, provisioning with rollouts and the admin socket, a watchdog.
func fullOptions(t *testing.T, broker string) daemon.Options {
	t.Helper()
	dir := t.TempDir()
	room, err := roomdrv.Factory(gpiosim.NewBoard(nil).Open, nil, nil)("room-a", devices.Options{Config: tomlSection(
		fmt.Sprintf("state_file = %q\npanel = \"panel-a\"\nname = \"A\"\n", filepath.Join(dir, "room.json")))})
	if err != nil {
		t.Fatal(err)
	}
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return daemon.Options{
		Gateway: "gw-s", StateDir: filepath.Join(dir, "gw"), HTTP: "127.0.0.1:0",
		Uplink:  uplink.Options{Broker: broker, ClientID: "officegate-gw-s"},
		Devices: []daemon.Device{{ID: "panel-a", Kind: "panel", Port: filepath.Join(dir, "tty-panel"), Baud: 115200}},
		Drivers: []devices.Driver{room}, Sender: &daemon.Sender{}, Log: zerolog.Nop(),
		Provisioning: &daemon.Provisioning{Ports: []string{filepath.Join(dir, "ports", "*")}, FirmwareKey: pub,
			Socket: filepath.Join(dir, "admin.sock"), SocketGID: -1},
		Watchdog: func(ctx context.Context, g *daemon.Gateway) {
			<-ctx.Done()
			if _, err := g.Journal.Reader("attendance"); errors.Is(err, journal.ErrClosed) {
				t.Errorf("the watchdog stopped after the journal closed: %v", err)
			}
		},
	}
}

// partsRunning fails t if a goroutine of the gateway's parts is still
// running: once Run returns, whatever it started must have returned too (the
// leak check alone waits a while, so it would pass a Run that cancelled its
// parts and returned without waiting for them).
func partsRunning(t *testing.T) {
	t.Helper()
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, f := range []string{"uplink.(*Uplink).Run(", "intake.(*Intake).Run(", "commands.(*Processor).Run(",
			"link.(*Gateway).Run(", "serialport.(*Supervisor).Run(", "metrics.ServeListener(", "admin.(*Service).ServeListener(",
			"roomdrv.(*Driver).Run(", "daemon.(*linkWatch).run(", "daemon.driverStatus(", "daemon.(*panelQueue).run(",
			"daemon.(*portWatcher).run(", "daemon.(*enrollment).run("} {
			if strings.Contains(g, f) {
				t.Errorf("still running after Run returned:\n%s", g)
			}
		}
	}
}

// journalClosed fails t unless the journal of o can be opened again.
func journalClosed(t *testing.T, o daemon.Options) {
	t.Helper()
	j, err := journal.Open(filepath.Join(o.StateDir, "journal"), &journal.Options{Streams: intake.Streams()})
	if err != nil {
		t.Fatalf("journal not closed by Run: %v", err)
	}
	j.Close()
}

// TestStagesStop: a gateway with every stage starts them in order and, when
// its context ends, stops them in reverse with the journal last; then a
// failed start at each position in turn stops (and waits for: the leak
// check) everything started before it, journal last, and Run returns the
// failure.
func TestStagesStop(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	b := mqtttest.Start(t, nil)
	t.Run("signal", func(t *testing.T) {
		testkit.NoLeaks(t)
		o := fullOptions(t, b.URL)
		var l stageLog
		daemon.SetStageHook(&o, l.hook("", nil))
		ctx, cancel := context.WithCancel(testkit.Ctx(t, time.Minute))
		o.Ready = func(*daemon.Gateway) { cancel() }
		err := daemon.Run(ctx, o)
		partsRunning(t)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if !slices.Equal(l.started, allStages) {
			t.Fatalf("stages started %v, want %v", l.started, allStages)
		}
		l.check(t)
		journalClosed(t, o)
	})
	for _, fail := range allStages {
		t.Run("fail-"+fail, func(t *testing.T) {
			testkit.NoLeaks(t)
			o := fullOptions(t, b.URL)
			var l stageLog
			injected := errors.New("injected start failure")
			daemon.SetStageHook(&o, l.hook(fail, injected))
			o.Ready = func(*daemon.Gateway) { t.Error("Ready called after a failed start") }
			err := daemon.Run(testkit.Ctx(t, time.Minute), o)
			partsRunning(t)
			if !errors.Is(err, injected) || !strings.Contains(err.Error(), fail) {
				t.Fatalf("Run: %v, want the injected failure naming stage %s", err, fail)
			}
			if want := allStages[:slices.Index(allStages, fail)]; !slices.Equal(l.started, want) {
				t.Fatalf("started %v before the failure, want %v", l.started, want)
			}
			l.check(t)
			if fail != "journal" {
				journalClosed(t, o)
			}
		})
	}
}

// panicDriver is a driver whose Run panics once the gateway runs.
type panicDriver struct{ id string }

func (d panicDriver) Describe() devices.Description {
	return devices.Description{ID: d.id, Kind: "panicky"}
}

func (d panicDriver) Run(ctx context.Context, _ devices.Sink) error {
	panic("driver bug")
}

// TestStagePanic: a panic in a driver's goroutine does not crash the
// process: Run stops every stage in reverse, waits for them, closes the
// journal last and returns the panic as an error naming its stage.
func TestStagePanic(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	b := mqtttest.Start(t, nil)
	testkit.NoLeaks(t)
	o := fullOptions(t, b.URL)
	o.Drivers = append(o.Drivers, panicDriver{id: "bad"})
	var l stageLog
	daemon.SetStageHook(&o, l.hook("", nil))
	err := daemon.Run(testkit.Ctx(t, time.Minute), o)
	partsRunning(t)
	if err == nil || !strings.Contains(err.Error(), "stage drivers: panic: driver bug") {
		t.Fatalf("Run: %v, want the driver's panic", err)
	}
	l.check(t)
	journalClosed(t, o)
}

// TestFailedStartStopsAll: a real failed start late in the order (the
// rollouts' directory is a file) stops, and waits for, the intake, the
// uplink, the command processor and the devices already running, and closes
// the journal after them.
func TestFailedStartStopsAll(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	b := mqtttest.Start(t, nil)
	testkit.NoLeaks(t)
	o := fullOptions(t, b.URL)
	if err := os.MkdirAll(o.StateDir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(o.StateDir, "rollouts"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := daemon.Run(testkit.Ctx(t, time.Minute), o)
	partsRunning(t)
	if err == nil || !strings.Contains(err.Error(), "rollouts") {
		t.Fatalf("Run: %v, want the rollouts' failure", err)
	}
	journalClosed(t, o)
}
