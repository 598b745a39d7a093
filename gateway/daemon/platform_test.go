package daemon_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/gateway/sinks/dingtalk/dingtalktest"
	"github.com/officegate/officegate/gateway/uplink"
	"github.com/officegate/officegate/provisioning/people"
)

// TestDingTalkSinkEndToEnd: a gateway configured with a dingtalk sink (its
// secret in a file) and the person directory uploads punches to DingTalk
// under the people's userids while the broker gets every punch; a punch
// of someone not in the directory waits, held, until they are imported;
// one DingTalk refuses is dead-lettered with a device.alarm on MQTT that
// does not carry the app secret.
func TestDingTalkSinkEndToEnd(t *testing.T) {
	const appSecret = "GT-lsu-taDAsTs-end-to-end-SECRET"
	b := mqtttest.Start(t, nil)
	dir := t.TempDir()
	srv := dingtalktest.NewServer("dingkey", appSecret, "manager4220", "user123")
	defer srv.Close()
	secretFile := filepath.Join(dir, "dingtalk.secret")
	if err := os.WriteFile(secretFile, []byte(appSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The directory as facilities imported it before the gateway started
	// (the daemon keeps it in the registry's directory).
	ppl, err := people.Open(filepath.Join(dir, "gw", "registry"), people.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []people.Person{{ID: "P-1", DingTalk: "manager4220"}, {ID: "P-GONE", DingTalk: "departed"}} {
		if err := ppl.Put(p); err != nil {
			t.Fatal(err)
		}
	}
	events := newCollector(t, b.URL, "officegate/gw-ding/devices/+/events/+")
	g := runGateway(t, daemon.Options{
		Gateway: "gw-ding", StateDir: filepath.Join(dir, "gw"),
		Uplink: uplink.Options{Broker: b.URL, ClientID: "officegate-gw-ding"},
		Sinks: []daemon.Sink{{Name: "hr-dingtalk", Kind: "dingtalk", Streams: []string{"attendance"},
			Settings: sinks.Settings{"appkey": "dingkey", "appsecret_file": secretFile, "base_url": srv.URL, "device_name": "东门考勤机"}}},
		Log: zerolog.Nop(),
	})
	start := time.Now()
	for i, person := range []string{"P-1", "P-NEW", "P-GONE", "P-1"} {
		ev := devices.Event{Device: "reader-1", Type: "attendance.punch", Time: start.Add(time.Duration(i) * time.Millisecond),
			Clock: devices.ClockSynced, Data: map[string]any{"person": person, "credential": "card", "state": "in"}}
		if err := g.Intake.Emit(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, 30*time.Second, "the mapped punches uploaded", func() bool { return len(srv.Records()) == 2 })
	for _, r := range srv.Records() {
		if r.UserID != "manager4220" || r.DeviceName != "东门考勤机" || r.DeviceID != "reader-1" {
			t.Fatalf("record %+v", r)
		}
	}
	alarm := waitDeadLetterAlarm(t, events, "reader-1", 4)
	if d := alarm.Data["detail"].(string); !strings.Contains(d, "33012") || strings.Contains(d, appSecret) {
		t.Errorf("alarm detail %q", d)
	}
	srv.Set(func(s *dingtalktest.Server) { s.Users["newbie01"] = true })
	if err := g.People.Put(people.Person{ID: "P-NEW", DingTalk: "newbie01"}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "the held punch uploaded once its person is imported", func() bool {
		r := srv.Records()
		return len(r) == 3 && r[2].UserID == "newbie01"
	})
}
