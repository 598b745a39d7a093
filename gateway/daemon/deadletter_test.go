package daemon_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/gateway/uplink"
	"github.com/officegate/officegate/internal/cbormode"
)

// TestDeadLetterAlarm: a sink whose destination refuses one record for good
// (a webhook answering 422) does not block: the record goes to the
// dead-letter stream, a device.alarm naming it is published on MQTT (and
// delivered to the sink too), and the records after it reach the sink in
// order — while the broker gets every record.
func TestDeadLetterAlarm(t *testing.T) {
	b := mqtttest.Start(t, nil)
	dir := t.TempDir()

	var (
		mu       sync.Mutex
		accepted []string // the people of the punches the webhook took, in order
		alarms   []string // the details of the alarms it took
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req struct {
			Events []struct {
				Message struct {
					Type string         `json:"type"`
					Data map[string]any `json:"data"`
				} `json:"message"`
			} `json:"events"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		for _, e := range req.Events {
			if e.Message.Data["person"] == "P-REFUSED" {
				http.Error(w, "unknown person", http.StatusUnprocessableEntity)
				return
			}
		}
		mu.Lock()
		defer mu.Unlock()
		for _, e := range req.Events {
			switch e.Message.Type {
			case "attendance.punch":
				accepted = append(accepted, e.Message.Data["person"].(string))
			case "device.alarm":
				alarms = append(alarms, e.Message.Data["detail"].(string))
			}
		}
	}))
	defer hook.Close()

	events := newCollector(t, b.URL, "officegate/gw-dl/devices/+/events/+")
	g := runGateway(t, daemon.Options{
		Gateway: "gw-dl", StateDir: filepath.Join(dir, "gw"),
		Uplink: uplink.Options{Broker: b.URL, ClientID: "officegate-gw-dl"},
		Sinks: []daemon.Sink{{Name: "hr-hook", Kind: "webhook", Streams: []string{"attendance", "control"},
			Settings: sinks.Settings{"url": hook.URL, "batch": "1"}}},
		Log: zerolog.Nop(),
	})
	start := time.Now()
	for i, person := range []string{"P-1", "P-REFUSED", "P-3", "P-4"} {
		ev := devices.Event{Device: "reader-1", Type: "attendance.punch", Time: start.Add(time.Duration(i) * time.Millisecond),
			Clock: devices.ClockSynced, Data: map[string]any{"person": person, "credential": "card", "state": "in"}}
		if err := g.Intake.Emit(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}

	waitUntil(t, 30*time.Second, "the punches after the refused one delivered to the sink, and its alarm", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(accepted) == 3 && len(alarms) == 1
	})
	mu.Lock()
	if got := strings.Join(accepted, " "); got != "P-1 P-3 P-4" {
		t.Errorf("the sink took %s, want P-1 P-3 P-4 in order", got)
	}
	mu.Unlock()

	alarm := waitDeadLetterAlarm(t, events, "reader-1", 4)
	detail := alarm.Data["detail"].(string)
	if alarm.Data["alarm"] != "other" || !strings.Contains(detail, `sink "hr-hook"`) || !strings.Contains(detail, "attendance.punch") {
		t.Errorf("alarm %v", alarm.Data)
	}

	r, err := g.Journal.Reader(sinks.DeadLetterStream.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rec, err := r.Next(ctx)
	if err != nil {
		t.Fatalf("the dead-letter stream: %v", err)
	}
	var dl sinks.DeadLetter
	if err := cbormode.Trusted.Unmarshal(rec.Body, &dl); err != nil {
		t.Fatal(err)
	}
	if dl.Sink != "hr-hook" || dl.Device != "reader-1" || dl.Type != "attendance.punch" || dl.Stream != "attendance" ||
		!strings.Contains(dl.Error, "422") || !strings.Contains(detail, dl.ID) {
		t.Errorf("dead letter %+v (alarm %q)", dl, detail)
	}
	if _, ok, _ := r.TryNext(); ok {
		t.Error("more than the one refused record in the dead-letter stream")
	}
}

// waitDeadLetterAlarm waits until device's punches have all been published
// on MQTT, and an alarm about a dead letter, and returns the alarm.
func waitDeadLetterAlarm(t *testing.T, events *collector, device string, punches int) published {
	t.Helper()
	var alarm published
	waitUntil(t, 30*time.Second, "every punch and the dead-letter alarm published on MQTT", func() bool {
		n := 0
		for _, e := range eventsOf(t, events, device) {
			switch {
			case e.Type == "attendance.punch":
				n++
			case e.Type == "device.alarm" && strings.Contains(e.Data["detail"].(string), "dead-letter"):
				alarm = e
			}
		}
		return n == punches && alarm.Type != ""
	})
	return alarm
}
