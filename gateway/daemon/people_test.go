package daemon_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/kiosk"
	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/gateway/sinks/dingtalk/dingtalktest"
	"github.com/officegate/officegate/gateway/uplink"
	"github.com/officegate/officegate/provisioning/admin"
	"github.com/officegate/officegate/provisioning/people"
)

// punchTerminal is a driver that emits the punches it is given, in order.
type punchTerminal struct{ persons []string }

func (p punchTerminal) Describe() devices.Description {
	return devices.Description{ID: "term-lobby", Kind: "terminal"}
}

func (p punchTerminal) Run(ctx context.Context, sink devices.Sink) error {
	for _, person := range p.persons {
		err := sink.Emit(ctx, devices.Event{Device: "term-lobby", Type: "attendance.punch", Time: time.Now(), Clock: devices.ClockSynced,
			Data: map[string]any{"person": person, "credential": "fingerprint", "state": "in"}})
		if err != nil {
			return err
		}
	}
	<-ctx.Done()
	return nil
}

// The whole held path in the real gateway: a DingTalk sink gets punches of
// a mapped person and of two people the directory does not know; the
// mapped one is delivered, the others are held (listed in the held file,
// one device.alarm per person on the MQTT uplink); `people forget` drops a
// forgotten person's held punch; and `people import` through the admin
// socket delivers the rest with the right DingTalk userids.
func TestHeldPunchesDeliveredAfterImport(t *testing.T) {
	b := mqtttest.Start(t, nil)
	srv := dingtalktest.NewServer("dingappkey", "dingappsecret", "manager1", "manager2", "manager3")
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	state, reg, sock := filepath.Join(dir, "gw"), filepath.Join(dir, "registry"), filepath.Join(dir, "admin.sock")
	secret := filepath.Join(dir, "appsecret")
	if err := os.WriteFile(secret, []byte("dingappsecret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// 10001 is known before the start; 10002 and 10003 are not.
	pd, err := people.Open(reg, people.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := pd.Put(people.Person{ID: "10001", DingTalk: "manager1"}); err != nil {
		t.Fatal(err)
	}
	alarms := newCollector(t, b.URL, "officegate/gw-ppl/devices/+/events/device.alarm")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, daemon.Options{Gateway: "gw-ppl", StateDir: state,
			Uplink: uplink.Options{Broker: b.URL, ClientID: "officegate-gw-ppl", BackoffMin: 50 * time.Millisecond, BackoffMax: 500 * time.Millisecond},
			Sinks: []daemon.Sink{{Name: "ding", Kind: "dingtalk", Streams: []string{"attendance"},
				Settings: sinks.Settings{"appkey": "dingappkey", "appsecret_file": secret, "base_url": srv.URL}}},
			Drivers:      []devices.Driver{punchTerminal{persons: []string{"10002", "10001", "10003", "10002"}}},
			Provisioning: &daemon.Provisioning{Dir: reg, Socket: sock, SocketGID: -1},
			Log:          zerolog.Nop()})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	users := func() []string {
		var out []string
		for _, r := range srv.Records() {
			out = append(out, r.UserID)
		}
		return out
	}
	heldDir := filepath.Join(state, daemon.HeldDir)
	waitUntil(t, 30*time.Second, "three punches held and the mapped one delivered", func() bool {
		hs, _ := sinks.ReadHeld(heldDir, "ding")
		return len(hs) == 3 && len(users()) == 1
	})
	if got := users(); got[0] != "manager1" {
		t.Fatalf("delivered %v, want manager1", got)
	}
	waitUntil(t, 20*time.Second, "an alarm per unmapped person", func() bool { return len(alarms.events()) >= 2 })
	var who []string
	for _, e := range alarms.events() {
		d, _ := e.Data["detail"].(string)
		for _, p := range []string{"10002", "10003"} {
			if strings.Contains(d, `person "`+p+`"`) {
				who = append(who, p)
			}
		}
	}
	slices.Sort(who)
	if !slices.Equal(who, []string{"10002", "10003"}) {
		t.Fatalf("held alarms name %v, want 10002 and 10003 once each: %+v", who, alarms.events())
	}

	// Forgetting 10003 drops their held punch, and says what the journal
	// still holds.
	rep, err := admin.NewClient(sock).PeopleForget(context.Background(), "10003")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(rep.Erased, admin.Erased{Where: "sink ding held records", Count: 1}) ||
		!slices.ContainsFunc(rep.Remains, func(r string) bool { return strings.Contains(r, `journal stream "attendance"`) }) {
		t.Fatalf("forget report %+v", rep)
	}
	if hs, _ := sinks.ReadHeld(heldDir, "ding"); len(hs) != 2 {
		t.Fatalf("%d held after forgetting 10003, want 2", len(hs))
	}

	csv := people.Header + "\n10001,,,,manager1,,,\n10002,,Li,zh-CN,manager2,,,\n10003,,Ann,en,manager3,,,\n"
	if _, err := admin.NewClient(sock).PeopleImport(context.Background(), []byte(csv), false); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "the held punches delivered", func() bool { return len(users()) == 3 })
	if got := users(); !slices.Equal(got, []string{"manager1", "manager2", "manager2"}) {
		t.Fatalf("delivered %v, want manager1 then 10002's held ones in order (10003's was forgotten)", got)
	}
	waitUntil(t, 10*time.Second, "the held file emptied", func() bool {
		hs, err := sinks.ReadHeld(heldDir, "ding")
		return err == nil && len(hs) == 0
	})
}

// officegate people forget reaches the kiosks of the real gateway: the
// invites naming the person as host leave the invite cache and its state
// file, and the report counts them.
func TestForgetReachesKiosk(t *testing.T) {
	b := mqtttest.Start(t, nil)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "invite.key"), []byte(kioskKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m, s, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); m.Close() })
	stateFile := filepath.Join(dir, "kiosk.json")
	section := fmt.Sprintf("scanner_port = %q\ninvite_key_file = %q\nstate_file = %q\n", s.Name(), filepath.Join(dir, "invite.key"), stateFile)
	k, err := kiosk.NewWith("kiosk-lobby", devices.Options{Config: tomlSection(section)}, kiosk.With{})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "admin.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, daemon.Options{Gateway: "gw-fk", StateDir: filepath.Join(dir, "gw"),
			Uplink:       uplink.Options{Broker: b.URL, ClientID: "officegate-gw-fk"},
			Drivers:      []devices.Driver{k},
			Provisioning: &daemon.Provisioning{Socket: sock, SocketGID: -1},
			Log:          zerolog.Nop()})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	now := time.Now()
	for i, host := range []string{"10042", "Li Na", "10042"} {
		res := k.Handle(ctx, devices.Command{ID: fmt.Sprint("c", i), Name: "invite.upsert", Args: map[string]any{
			"invite_id": fmt.Sprint("inv-", i), "token": fmt.Sprint("QR-TOKEN-", i), "name": "Visitor", "host": host,
			"valid_from": now.Add(-time.Hour).Format(time.RFC3339), "valid_until": now.Add(8 * time.Hour).Format(time.RFC3339)}})
		if res.Status != devices.StatusOK {
			t.Fatalf("invite.upsert: %+v", res)
		}
	}
	c := admin.NewClient(sock)
	var rep admin.ForgetReport
	waitUntil(t, 20*time.Second, "the admin socket", func() bool {
		rep, err = c.PeopleForget(context.Background(), "10042")
		return err == nil
	})
	if !slices.Contains(rep.Erased, admin.Erased{Where: "kiosk kiosk-lobby invites", Count: 2}) {
		t.Fatalf("forget report %+v, want 2 invites of kiosk-lobby", rep)
	}
	data, err := os.ReadFile(stateFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "10042") || !strings.Contains(string(data), "Li Na") {
		t.Fatalf("state file after forgetting 10042:\n%s", data)
	}
}
