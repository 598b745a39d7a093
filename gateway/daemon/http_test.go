package daemon_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/firmware-bridge/fwemu"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/gateway/uplink"
)

func TestMetricsAndHealth(t *testing.T) {
	b := mqtttest.Start(t, nil)
	dir := t.TempDir()
	d, err := fwemu.StartDevice(dir, "t-1", msg.KindAttendance, 50, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	sub := newCollector(t, b.URL, "officegate/gw-m/devices/+/events/#")
	addr := fmt.Sprintf("127.0.0.1:%d", mqtttest.FreePort(t))
	runGateway(t, daemon.Options{
		Gateway: "gw-m", StateDir: dir + "/gw", HTTP: addr,
		Uplink:  uplink.Options{Broker: b.URL, ClientID: "officegate-gw-m"},
		Devices: []daemon.Device{{ID: "t-1", Kind: "terminal", Port: d.Path, Baud: 115200}},
		Log:     zerolog.Nop(),
	})
	waitUntil(t, 20*time.Second, "events at the subscriber", func() bool {
		sub.mu.Lock()
		defer sub.mu.Unlock()
		return len(sub.msgs) >= 20
	})
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	waitUntil(t, 10*time.Second, "healthy", func() bool { code, _ := get("/healthz"); return code == 200 })
	code, body := get("/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	for _, want := range []string{"journal", "fsync", "published", `device="t-1"`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics has no %q", want)
		}
	}
	// Never ids as labels: no event id, no person ref.
	for _, line := range strings.Split(body, "\n") {
		if strings.Contains(line, `id="`) || strings.Contains(line, "user=") {
			t.Errorf("identifier in a label: %s", line)
		}
	}
}
