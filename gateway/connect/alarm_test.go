package connect_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/officegate/officegate/gateway/connect"
	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/gateway/sinks/dingtalk/dingtalktest"
)

// TestSinkAlarms: connect's sinks raise the alarms a gateway's sinks raise,
// with the gateway's details, each a device.alarm (other) on the record's
// gateway and device that connect journals in its control stream, where
// its other sinks take it (here a file sink):
//   - the first held punch of each person (sinks.Held.AlarmDetail): the
//     DingTalk sink holds the punches of people its directory does not
//     map; two people, three unmapped punches or more: two alarms, and
//     after a restart another of theirs raises none;
//   - a dead letter (sinks.DeadLetter.AlarmDetail): a message without an
//     id, which no sink can ever deliver.
func TestSinkAlarms(t *testing.T) {
	const appSecret = "held-alarm-SECRET"
	b := mqtttest.Start(t, nil)
	srv := dingtalktest.NewServer("dingkey", appSecret)
	defer srv.Close()
	dir := t.TempDir()
	secret := filepath.Join(dir, "dingtalk.secret")
	if err := os.WriteFile(secret, []byte(appSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	state, alarms := filepath.Join(dir, "state"), filepath.Join(dir, "alarms.jsonl")
	run := func() (stop func()) {
		log := zerolog.New(os.Stderr).Level(zerolog.WarnLevel)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- connect.Run(ctx, connect.Options{StateDir: state, Log: log,
				Source: &connect.MQTT{URLs: []string{b.URL}, ClientID: "connect-held", Batch: 16, Log: log, BackoffMax: time.Second},
				Sinks: []connect.Sink{
					{Name: "ding", Kind: "dingtalk", Streams: []string{"attendance"}, Settings: sinks.Settings{
						"appkey": "dingkey", "appsecret_file": secret, "base_url": srv.URL, "device_name": "central"}},
					{Name: "alarms", Kind: "file", Streams: []string{"control"}, Settings: sinks.Settings{"path": alarms}},
				}})
		}()
		return func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("connect: %v", err)
			}
		}
	}
	stop := run()

	o := mqtt.NewClientOptions().AddBroker(b.URL).SetClientID("gw-1").SetCleanSession(true).SetAutoReconnect(false)
	pub := mqtt.NewClient(o)
	if tok := pub.Connect(); !tok.WaitTimeout(20*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtt connect: %v", tok.Error())
	}
	defer pub.Disconnect(0)
	seq := uint64(0)
	punch := func(dev, person string) {
		t.Helper()
		seq++
		data, _ := envelope.EncodeData(map[string]any{"person": person, "state": "in"})
		at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC).Add(time.Duration(seq) * time.Second)
		e := envelope.Event{V: envelope.Version, ID: envelope.EventID("gw-1/"+dev, 1, seq), Type: "attendance.punch",
			Gateway: "gw-1", Device: dev, Boot: 1, Seq: seq, Time: envelope.StampOf(at), Clock: envelope.ClockSynced,
			Received: envelope.StampOf(at), Data: data}
		p, err := e.Payload(envelope.JSON)
		if err != nil {
			t.Fatal(err)
		}
		tok := pub.Publish(envelope.Topics{Root: "officegate", Gateway: "gw-1"}.Event(dev, e.Type), 1, false, p)
		if !tok.WaitTimeout(20*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	held := func() []sinks.Held {
		h, err := sinks.ReadHeld(filepath.Join(state, connect.HeldDir), "ding")
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		return h
	}
	// connect subscribes once it runs: punch until one is held.
	waitUntil(t, 30*time.Second, "a punch held", func() bool {
		if len(held()) == 0 {
			punch("t1", "P-A")
		}
		return len(held()) > 0
	})
	punch("t1", "P-A")
	punch("t2", "P-B")
	// The subscription's first punches may still be on their way: wait
	// for P-B's, the last published.
	waitUntil(t, 30*time.Second, "P-B's punch held", func() bool {
		for _, h := range held() {
			if h.Person == "P-B" {
				return true
			}
		}
		return false
	})
	// Each held punch passed the control stream's sink too (the alarms
	// are journaled before the hold is done): two alarms, the file sink
	// has them once it has caught up.
	want := map[string]string{}
	for _, h := range held() {
		if _, ok := want[h.Person]; !ok {
			d, _ := h.AlarmDetail()
			want[h.Person] = h.Device + " " + d
		}
	}
	if len(want) != 2 {
		t.Fatalf("held %+v, want the punches of two people", held())
	}
	waitUntil(t, 30*time.Second, "two alarms delivered", func() bool { return len(alarmLines(t, alarms)) >= 2 })
	if tok := pub.Publish("officegate/gw-1/devices/t9/events/attendance.punch", 1, false, []byte(`{"type":"attendance.punch"}`)); !tok.WaitTimeout(20*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	waitUntil(t, 30*time.Second, "the dead letter's alarm delivered", func() bool { return len(alarmLines(t, alarms)) >= 3 })
	stop()
	stop = run()
	before := len(held())
	punch("t2", "P-B") // held again: P-B already is
	waitUntil(t, 30*time.Second, "the punch held after the restart", func() bool { return len(held()) > before })
	stop()
	got := alarmLines(t, alarms)
	if len(got) != 3 {
		t.Fatalf("%d alarms, want one per person held (2) and one for the dead letter: %+v", len(got), got)
	}
	dl := got[2]
	if dl.Device != "t9" || !strings.HasPrefix(dl.Data.Detail, `sink "ding" can never deliver event  (attendance.punch); kept in the dead-letter stream: `) {
		t.Errorf("alarm %+v, want the dead letter's on t9", dl)
	}
	for _, a := range got[:2] {
		if a.Type != "device.alarm" || a.Gateway != "gw-1" || a.Data.Alarm != "other" || a.ID == "" {
			t.Errorf("alarm %+v, want a device.alarm (other) of gateway gw-1", a)
		}
		found := false
		for _, w := range want {
			found = found || w == a.Device+" "+a.Data.Detail
		}
		if !found {
			t.Errorf("alarm on %q %q: none of the held people's %v", a.Device, a.Data.Detail, want)
		}
	}
}

type alarmLine struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Gateway string `json:"gateway"`
	Device  string `json:"device"`
	Data    struct {
		Alarm  string `json:"alarm"`
		Detail string `json:"detail"`
	} `json:"data"`
}

// alarmLines reads the file sink's lines' payloads.
func alarmLines(t *testing.T, path string) []alarmLine {
	t.Helper()
	var out []alarmLine
	for _, b := range sinkLines(t, path) {
		var line struct {
			Payload alarmLine `json:"payload"`
		}
		if err := json.Unmarshal(b, &line); err != nil {
			t.Fatalf("file sink line %q: %v", b, err)
		}
		out = append(out, line.Payload)
	}
	return out
}
