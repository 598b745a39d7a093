package daemon_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/kiosk"
	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/gateway/uplink"
)

// logBuffer keeps the gateway's log lines for a test.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the logged objects whose message starts with msg.
func (b *logBuffer) lines(t *testing.T, msg string) []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(b.buf.String(), "\n") {
		var m map[string]any
		if l == "" {
			continue
		}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if s, _ := m["message"].(string); strings.HasPrefix(s, msg) {
			out = append(out, m)
		}
	}
	return out
}

// metricSum adds the samples of a family whose labels contain every one of
// want (`port="…"`) in a /metrics body.
func metricSum(body, family string, want ...string) float64 {
	var sum float64
	for _, l := range strings.Split(body, "\n") {
		if !strings.HasPrefix(l, family+"{") {
			continue
		}
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(l, w)
		}
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64)
		if err == nil {
			sum += v
		}
	}
	return sum
}

// Garbage on a link's port and on a kiosk scanner's port moves their
// counters on /metrics, by reason, and makes one warning per port that
// names it — not one per dropped frame.
func TestSerialErrorsCounted(t *testing.T) {
	dir := t.TempDir()
	linkM, linkS, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { linkS.Close(); linkM.Close() })
	scanM, scanS, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { scanS.Close(); scanM.Close() })
	os.WriteFile(filepath.Join(dir, "invite.key"), []byte(kioskKey), 0o600)
	section := fmt.Sprintf("scanner_port = %q\ninvite_key_file = %q\nstate_file = %q\n",
		scanS.Name(), filepath.Join(dir, "invite.key"), filepath.Join(dir, "kiosk.json"))
	k, err := kiosk.NewWith("kiosk-lobby", devices.Options{Config: tomlSection(section)}, kiosk.With{})
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	addr := fmt.Sprintf("127.0.0.1:%d", mqtttest.FreePort(t))
	o := daemon.Options{
		Gateway: "gw-s", StateDir: filepath.Join(dir, "gw"), HTTP: addr,
		Uplink:  uplink.Options{Broker: fmt.Sprintf("tcp://127.0.0.1:%d", mqtttest.FreePort(t)), ClientID: "officegate-gw-s"},
		Devices: []daemon.Device{{ID: "terminal-lobby", Kind: "terminal", Port: linkS.Name(), Baud: 115200}},
		Drivers: []devices.Driver{k},
		Log:     zerolog.New(logs),
	}
	// The log window runs on the test's clock: on the real one a slow
	// machine could let the minute pass between the two floods.
	clock := &readClock{now: time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)}
	daemon.SetSerialClock(&o, clock.Now)
	runGateway(t, o)
	metricsBody := func() string {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	linkPort, scanPort := `port="`+linkS.Name()+`"`, `port="`+scanS.Name()+`"`
	waitUntil(t, 10*time.Second, "the serial families on /metrics", func() bool {
		b := metricsBody()
		return strings.Contains(b, "officegate_serial_frames_dropped_total{"+linkPort+`,device="terminal-lobby",reason="bad_crc"} 0`) &&
			strings.Contains(b, "officegate_serial_lines_refused_total{"+scanPort+`,device="kiosk-lobby",reason="non_printable"} 0`)
	})
	waitUntil(t, 10*time.Second, "the scanner port open", func() bool { return k.Status().Online })
	waitUntil(t, 10*time.Second, "the link port open", func() bool { // raw mode: bytes before would be cooked
		for _, l := range logs.lines(t, "serial port") {
			if l["port"] == linkS.Name() && l["state"] == "opened" {
				return true
			}
		}
		return false
	})

	rng := rand.New(rand.NewPCG(5, 13))
	garbage := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return append(b, 0, '\n') // both end their last frame or line
	}
	write := func(f *os.File, b []byte) {
		t.Helper()
		if _, err := f.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	write(linkM, garbage(16<<10))
	write(scanM, garbage(16<<10))
	var dropped, refused float64
	waitUntil(t, 10*time.Second, "the drops and refusals counted", func() bool {
		b := metricsBody()
		dropped = metricSum(b, "officegate_serial_frames_dropped_total", linkPort, `device="terminal-lobby"`)
		refused = metricSum(b, "officegate_serial_lines_refused_total", scanPort, `device="kiosk-lobby"`)
		return dropped > 0 && refused > 0
	})
	const msg = "serial errors"
	waitUntil(t, 10*time.Second, "a warning naming each port", func() bool {
		ports := map[string]bool{}
		for _, l := range logs.lines(t, msg) {
			ports[l["port"].(string)] = true
		}
		return ports[linkS.Name()] && ports[scanS.Name()]
	})

	// More garbage: the counters go on, the log does not (one line a
	// minute per port at most).
	write(linkM, garbage(16<<10))
	write(scanM, garbage(16<<10))
	waitUntil(t, 10*time.Second, "the second garbage counted", func() bool {
		b := metricsBody()
		return metricSum(b, "officegate_serial_frames_dropped_total", linkPort) > dropped &&
			metricSum(b, "officegate_serial_lines_refused_total", scanPort) > refused
	})
	// Let the log look at the moved counters: a check reads the counters,
	// then the clock, so the second check from now read them after this.
	reads := clock.Reads()
	waitUntil(t, 10*time.Second, "the serial log checked the ports again", func() bool { return clock.Reads() >= reads+2 })
	lines := logs.lines(t, msg)
	if len(lines) != 2 {
		t.Fatalf("%d serial warnings, want one per port: %v", len(lines), lines)
	}
	// At the window's end, one more line per port with what came since.
	clock.Advance(time.Minute)
	waitUntil(t, 10*time.Second, "a second warning per port after the window", func() bool {
		ports := map[string]int{}
		for _, l := range logs.lines(t, msg) {
			ports[l["port"].(string)]++
		}
		return ports[linkS.Name()] == 2 && ports[scanS.Name()] == 2
	})
	lines = logs.lines(t, msg)
	if len(lines) != 4 {
		t.Fatalf("%d serial warnings, want two per port: %v", len(lines), lines)
	}
	for _, l := range lines {
		if l["level"] != "warn" || l["count"].(float64) < 1 || l["reasons"] == nil {
			t.Errorf("warning %v", l)
		}
		if l["port"] == linkS.Name() && l["device"] != "terminal-lobby" || l["port"] == scanS.Name() && l["device"] != "kiosk-lobby" {
			t.Errorf("warning %v names the wrong device", l)
		}
	}
	if n := len(k.Status().Counters); n == 0 || k.Status().Counters["scans_rejected"] != 0 {
		t.Errorf("kiosk counters %v: noise made visitor.scan_rejected", k.Status().Counters)
	}
}

// readClock is a clock that moves only when told, and counts its reads.
type readClock struct {
	mu sync.Mutex
	// Guarded by mu.
	now   time.Time
	reads int
}

func (c *readClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads++
	return c.now
}

func (c *readClock) Reads() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}

func (c *readClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
