package browser_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/firmware-bridge/fwemu"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/gateway/uplink"
)

// browser is the one chromium of this test binary; nil without one.
var (
	browser    context.Context
	noBrowser  string // why there is none
	chromePath = "/usr/bin/chromium"
)

func TestMain(m *testing.M) {
	p, err := exec.LookPath(chromePath)
	if err != nil {
		p, err = exec.LookPath("chromium")
	}
	var stop func()
	if err != nil {
		noBrowser = "chromium is not installed (Debian package chromium; .ci/test installs it)"
	} else {
		opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(p), chromedp.NoSandbox,
			chromedp.Flag("ignore-certificate-errors", true), // the gateway's self-signed certificate
			chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 900))
		actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, cancelB := chromedp.NewContext(actx)
		if err := chromedp.Do(bctx); err != nil { // starts it
			noBrowser = fmt.Sprintf("chromium %s does not start: %v", p, err)
		} else {
			browser = bctx
		}
		stop = func() { cancelB(); cancelA() }
	}
	code := m.Run()
	if stop != nil {
		stop()
	}
	os.Exit(code)
}

func needBrowser(t *testing.T) {
	t.Helper()
	if browser != nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(noBrowser)
	}
	t.Skip(noBrowser)
}

// tab opens a tab in a browser context of its own (its own cookies),
// closed when the test ends.
func tab(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	ctx, cancel2 := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancel2)
	// A new browser context's tab has no window of its own: a laptop's.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}
	return ctx
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// waitJS waits until expr is true in the page: a condition polled from
// the test (the page's CSP forbids the eval a page-side poll would use).
func waitJS(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			html, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
			t.Fatalf("timed out waiting: %s (%v)\npage:\n%s", what, err, html)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func text(t *testing.T, ctx context.Context, expr string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// shot saves a screenshot of the whole page as name.png in the artefact
// directory.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	// A page just navigated to (a form's POST and its redirect) can match
	// the test's condition before it has loaded and been laid out; Chromium
	// then refuses the capture ("Cannot take screenshot with 0 width").
	waitJS(t, ctx, "the page loaded and laid out", `document.readyState === "complete" && document.documentElement.clientWidth > 0`)
	b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatal(err)
	}
	dir := artefacts(t)
	if err := os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// artefactOnce is keyed by the test itself, not its name: under -count=N
// each run's t.TempDir is removed when that run ends, so a later run with
// the same name must not write into it.
var artefactOnce sync.Map // *testing.T → dir

func artefacts(t *testing.T) string {
	if d, ok := artefactOnce.Load(t); ok {
		return d.(string)
	}
	dir := os.Getenv("OFFICEGATE_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	} else {
		dir = filepath.Join(dir, "console", strings.ReplaceAll(t.Name(), "/", "_"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	artefactOnce.Store(t, dir)
	t.Cleanup(func() { artefactOnce.Delete(t) })
	return dir
}

// kiosk is a reception kiosk as far as the console sees one: a driver
// whose visitor events go through the gateway's intake and journal.
type kiosk struct {
	mu   sync.Mutex
	sink devices.Sink // guarded by mu; set while Run runs
}

func (k *kiosk) Describe() devices.Description {
	return devices.Description{ID: "kiosk-lobby", Kind: "kiosk", Model: "test kiosk"}
}

func (k *kiosk) Run(ctx context.Context, sink devices.Sink) error {
	k.mu.Lock()
	k.sink = sink
	k.mu.Unlock()
	<-ctx.Done()
	return nil
}

func (k *kiosk) emit(t *testing.T, typ string, data map[string]any) {
	t.Helper()
	k.mu.Lock()
	s := k.sink
	k.mu.Unlock()
	if s == nil {
		t.Fatal("the kiosk driver does not run")
	}
	if err := s.Emit(context.Background(), devices.Event{Device: "kiosk-lobby", Type: typ, Time: time.Now(), Clock: devices.ClockSynced, Data: data}); err != nil {
		t.Fatal(err)
	}
}

// floor is a running gateway with its console.
type floor struct {
	url    string
	broker string
	kiosk  *kiosk
	door   *fwemu.PTYDevice
	image  string // a signed firmware image, 2.0.0, and its signature file
	sig    string
	plug   func(name, hw string) *fwemu.PTYDevice
	// plugPending plugs a new unit into a watched port: it is pending.
	plugPending func(name, hw string)
	g           *daemon.Gateway
}

const password = "console password"

// startFloor runs a gateway with provisioning on a watched port directory,
// a configured terminal t-door with a door relay (and a firmware key), the
// kiosk driver, and the console on HTTPS with a self-signed certificate;
// users ada (admin), otto (operator), vic (viewer).
func startFloor(t *testing.T, kiosks ...devices.Driver) *floor {
	t.Helper()
	b := mqtttest.Start(t, nil)
	dir := t.TempDir()
	ports := filepath.Join(dir, "ports")
	os.Mkdir(ports, 0o755)
	pub, priv, _ := ed25519.GenerateKey(nil)
	f := &floor{kiosk: &kiosk{}}
	f.plug = func(name, hw string) *fwemu.PTYDevice {
		d, err := fwemu.StartPTY(name, fwemu.Options{StatePath: filepath.Join(dir, name+".flash"), HardwareID: hw,
			Kind: msg.KindAttendance, RTC: true, Seed: 7, Door: true, SigningKey: pub})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Stop() })
		return d
	}
	f.door = f.plug("t-door", "EMU-DOOR")
	image := make([]byte, 24<<10)
	for i := range image {
		image[i] = byte(i * 13)
	}
	sum := sha256.Sum256(image)
	f.image, f.sig = filepath.Join(dir, "term-2.0.0.bin"), filepath.Join(dir, "term-2.0.0.bin.sig")
	os.WriteFile(f.image, image, 0o644)
	os.WriteFile(f.sig, ed25519.Sign(priv, msg.FirmwareSigningInput(sum[:])), 0o644)

	h, _ := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	users := filepath.Join(dir, "users")
	os.WriteFile(users, []byte(fmt.Sprintf("ada admin %s\notto operator %s\nvic viewer %s\n", h, h, h)), 0o600)

	urls := make(chan string, 1)
	ready := make(chan *daemon.Gateway, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, daemon.Options{
			Gateway: "gw-b", StateDir: filepath.Join(dir, "gw"), Location: time.FixedZone("CST", 8*3600),
			Uplink:  uplink.Options{Broker: b.URL, ClientID: "officegate-gw-b"},
			Devices: []daemon.Device{{ID: "t-door", Kind: "terminal", Port: f.door.Path, Baud: 115200}},
			Drivers: append([]devices.Driver{f.kiosk}, kiosks...),
			Provisioning: &daemon.Provisioning{Ports: []string{filepath.Join(ports, "tty-*")}, Scan: 100 * time.Millisecond,
				FirmwareKey: pub, Probation: 300 * time.Millisecond, BootTimeout: 20 * time.Second},
			Console: &daemon.Console{Listen: "127.0.0.1:0", TLS: true, UsersFile: users, OnURL: func(u string) { urls <- u }},
			Log:     zerolog.Nop(),
			Ready:   func(g *daemon.Gateway) { ready <- g },
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gateway: %v", err)
		}
	})
	select {
	case f.g = <-ready:
	case err := <-done:
		done <- err
		t.Fatalf("gateway did not start: %v", err)
	}
	f.url = strings.TrimSuffix(<-urls, "/")
	f.broker = b.URL
	f.plugPending = func(name, hw string) {
		d := f.plug(name, hw)
		if err := os.Symlink(d.Path, filepath.Join(ports, "tty-"+name)); err != nil {
			t.Fatal(err)
		}
	}
	return f
}
