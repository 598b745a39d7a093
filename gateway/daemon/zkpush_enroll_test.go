package daemon_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/zkpush/pushdrv"
	"github.com/officegate/officegate/devices/zkpush/zkpushsim"
	"github.com/officegate/officegate/gateway/contract"
	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/gateway/uplink"
)

// TestZKPushEnrollment: a PUSH terminal whose serial is not configured calls
// the real gateway (real mosquitto). It keeps its punches while the gateway
// lists it pending in the retained enrollment message; approved with the
// device.approve gateway command over MQTT, it delivers every punch once,
// under the device id it was given.
func TestZKPushEnrollment(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	b := mqtttest.Start(t, nil)
	dir := t.TempDir()
	listen := freePort(t)
	hub := pushdrv.NewHub(nil)
	host, err := pushdrv.New(hub, "zk-host", devices.Options{Config: pushCfg{Serial: "HOST1", Listen: listen, TimeZone: "UTC"}})
	if err != nil {
		t.Fatal(err)
	}
	events := newCollector(t, b.URL, "officegate/gw-zke/devices/+/events/#")
	enroll := newCollector(t, b.URL, "officegate/gw-zke/enrollment")
	results := newCollector(t, b.URL, "officegate/gw-zke/results")
	httpAddr := freePort(t)
	runGateway(t, daemon.Options{
		Gateway: "gw-zke", StateDir: filepath.Join(dir, "gw"), HTTP: httpAddr,
		Uplink:       uplink.Options{Broker: b.URL, ClientID: "officegate-gw-zke"},
		Drivers:      []devices.Driver{host},
		Provisioning: &daemon.Provisioning{},
		Log:          zerolog.Nop(),
	})

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	term := zkpushsim.New("NEW7", "http://"+listen, nil)
	for _, pin := range []string{"1", "2", "3"} {
		if _, err := term.Punch(pin, 0, 1); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, 30*time.Second, "the terminal refused as pending", func() bool {
		err := term.Handshake(ctx)
		return err != nil && strings.Contains(err.Error(), "pending approval")
	})
	if _, err := term.Upload(ctx); err == nil || term.Pending() != 3 {
		t.Fatalf("upload while pending: %v, %d kept; want refused, 3 kept", err, term.Pending())
	}
	waitUntil(t, 30*time.Second, "zkpush:NEW7 pending in the enrollment message", func() bool {
		enroll.mu.Lock()
		defer enroll.mu.Unlock()
		if len(enroll.msgs) == 0 {
			return false
		}
		m := enroll.msgs[len(enroll.msgs)-1]
		if err := contract.Strict(contract.Enrollment, m); err != nil {
			t.Fatalf("enrollment message breaks the contract: %v\n%s", err, m)
		}
		var st daemon.EnrollmentStatus
		json.Unmarshal(m, &st)
		for _, p := range st.Pending {
			if p.HardwareID == "zkpush:NEW7" && p.Kind == "terminal" && strings.HasPrefix(p.Port, "tcp:") {
				return true
			}
		}
		return false
	})

	adm := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL).SetClientID("facilities"))
	if tok := adm.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer adm.Disconnect(0)
	body, _ := json.Marshal(map[string]any{"id": "approve-1", "args": map[string]any{"hardware_id": "zkpush:NEW7", "device": "hall-zk"}})
	if tok := adm.Publish("officegate/gw-zke/commands/device.approve", 1, false, body); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	waitUntil(t, 20*time.Second, "the device.approve result", func() bool {
		results.mu.Lock()
		defer results.mu.Unlock()
		return len(results.msgs) > 0
	})
	if r := results.msgs[0]; !strings.Contains(string(r), `"status":"ok"`) {
		t.Fatalf("device.approve: %s", r)
	}
	if err := term.Handshake(ctx); err != nil {
		t.Fatalf("handshake after approval: %v", err)
	}
	if n, err := term.Upload(ctx); err != nil || n != 3 || term.Pending() != 0 {
		t.Fatalf("upload after approval: acked %d, %v, %d kept", n, err, term.Pending())
	}
	waitUntil(t, 30*time.Second, "three punches published under hall-zk", func() bool {
		return len(eventsOf(t, events, "hall-zk")) >= 3
	})
	ids, pins := map[string]bool{}, map[string]bool{}
	for _, e := range eventsOf(t, events, "") {
		if e.Type != "attendance.punch" {
			continue
		}
		if e.Device != "hall-zk" {
			t.Errorf("punch published under %q", e.Device)
		}
		ids[e.ID] = true
		pins[e.Data["person"].(string)] = true
	}
	if len(ids) != 3 || len(pins) != 3 {
		t.Fatalf("%d ids, %d people among the punches; want every punch once", len(ids), len(pins))
	}

	// Approved, it is a device like a configured terminal: a retained
	// status, and commands through its poll.
	status := newCollector(t, b.URL, "officegate/gw-zke/devices/hall-zk/status")
	waitUntil(t, 30*time.Second, "hall-zk's retained status online", func() bool {
		status.mu.Lock()
		defer status.mu.Unlock()
		for _, m := range status.msgs {
			if err := contract.Strict(contract.DeviceStatus, m); err != nil {
				t.Fatalf("status breaks the contract: %v\n%s", err, m)
			}
			var st map[string]any
			json.Unmarshal(m, &st)
			if st["state"] == "online" && st["kind"] == "zkpush" {
				return true
			}
		}
		return false
	})
	devResults := newCollector(t, b.URL, "officegate/gw-zke/devices/hall-zk/results")
	for _, c := range []struct{ name, body string }{
		{"time.set", `{"id":"ts-1","args":{}}`},
		{"user.upsert", `{"id":"up-1","args":{"user":"42","name":"李四"}}`},
	} {
		if tok := adm.Publish("officegate/gw-zke/devices/hall-zk/commands/"+c.name, 1, false, []byte(c.body)); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	waitUntil(t, 30*time.Second, "both results, the terminal polling", func() bool {
		if _, err := term.Poll(ctx); err != nil {
			t.Fatalf("poll: %v", err)
		}
		devResults.mu.Lock()
		defer devResults.mu.Unlock()
		return len(devResults.msgs) >= 2
	})
	for _, m := range devResults.msgs {
		if !strings.Contains(string(m), `"status":"ok"`) {
			t.Fatalf("result %s", m)
		}
	}
	if u := term.Users()["42"]; u.Name != "李四" {
		t.Fatalf("terminal user 42 = %+v", u)
	}
	// Its counters, and its host's, are on /metrics.
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`officegate_driver_counter_total{device="hall-zk",kind="zkpush",counter="punches"} 3`,
		`officegate_driver_counter_total{device="hall-zk",kind="zkpush",counter="command_results"} 2`,
		`officegate_driver_counter_total{device="zk-host",kind="zkpush",counter="punches"} 0`,
	} {
		if !strings.Contains(string(page), want+"\n") {
			t.Errorf("/metrics has no %s", want)
		}
	}
}
