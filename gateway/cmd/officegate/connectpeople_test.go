package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/gateway/sinks/dingtalk/dingtalktest"
	"github.com/officegate/officegate/provisioning/people"
)

// TestConnectPeople: officegate people import|list|show|forget --socket
// work on officegate connect's socket as on a gateway's; a punch connect's
// DingTalk sink holds because its person has no mapping is uploaded, under
// the right userid, once the person is imported through that socket;
// people held --config reads connect's file; forget drops the held punches.
func TestConnectPeople(t *testing.T) {
	const appSecret = "connect-people-SECRET"
	b := mqtttest.Start(t, nil)
	srv := dingtalktest.NewServer("dingkey", appSecret, "manager4220", "newbie01")
	defer srv.Close()
	dir := t.TempDir()
	secret := filepath.Join(dir, "dingtalk.secret")
	os.WriteFile(secret, []byte(appSecret+"\n"), 0o600)
	sock := filepath.Join(dir, "admin.sock")
	conf := filepath.Join(dir, "connect.toml")
	os.WriteFile(conf, []byte(fmt.Sprintf(`
[connect]
state_dir = %q
socket = %q

[connect.mqtt]
urls = [%q]
client_id = "connect-people"

[[sinks]]
name = "hr-dingtalk"
kind = "dingtalk"
streams = ["attendance"]
[sinks.settings]
appkey = "dingkey"
appsecret_file = %q
base_url = %q
device_name = "central"
`, filepath.Join(dir, "state"), sock, b.URL, secret, srv.URL)), 0o600)

	rctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(rctx, []string{"connect", "--config", conf}, &syncBuffer{}, io.Discard) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("connect: %v", err)
		}
	}()
	csv := func(name, rows string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(people.Header+"\n"+rows), 0o600)
		return p
	}
	waitFor(t, "connect's socket", func() bool { _, err := os.Stat(sock); return err == nil })
	out, errs, code := cli(t, "people", "import", csv("first.csv", "P-1,,Wang,zh-CN,manager4220,,,\n"), "--socket", sock)
	if code != 0 || !strings.Contains(out, "1 added") {
		t.Fatalf("people import through connect's socket: exit %d\n%s%s", code, out, errs)
	}

	o := mqtt.NewClientOptions().AddBroker(b.URL).SetClientID("gw-1").SetCleanSession(true).SetAutoReconnect(false)
	pub := mqtt.NewClient(o)
	if tok := pub.Connect(); !tok.WaitTimeout(20*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtt connect: %v", tok.Error())
	}
	defer pub.Disconnect(0)
	seq := uint64(0)
	punch := func(person string) {
		t.Helper()
		seq++
		data, _ := envelope.EncodeData(map[string]any{"person": person, "state": "in"})
		at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC).Add(time.Duration(seq) * time.Second)
		e := envelope.Event{V: envelope.Version, ID: envelope.EventID("gw-1/t1", 1, seq), Type: "attendance.punch",
			Gateway: "gw-1", Device: "t1", Boot: 1, Seq: seq, Time: envelope.StampOf(at), Clock: envelope.ClockSynced,
			Received: envelope.StampOf(at), Data: data}
		p, err := e.Payload(envelope.JSON)
		if err != nil {
			t.Fatal(err)
		}
		tok := pub.Publish(envelope.Topics{Root: "officegate", Gateway: "gw-1"}.Event("t1", e.Type), 1, false, p)
		if !tok.WaitTimeout(20*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	// connect subscribes once it runs: a mapped person's punch, published
	// until one reaches DingTalk, says it does.
	waitFor(t, "a mapped punch uploaded", func() bool {
		punch("P-1")
		return len(srv.Records()) > 0
	})
	punch("P-NEW")
	waitFor(t, "the unmapped punch held", func() bool {
		out, _, _ := cli(t, "sinks", "status", "--json", "--socket", sock)
		return strings.Contains(out, `"held": 1`)
	})
	if out, errs, code := cli(t, "people", "held", "--config", conf); code != 0 || !strings.Contains(out, "P-NEW") || !strings.Contains(out, "1 held record") {
		t.Fatalf("people held --config <connect's file>: exit %d\n%s%s", code, out, errs)
	}
	n := len(srv.Records())
	for _, r := range srv.Records() {
		if r.UserID != "manager4220" {
			t.Fatalf("record %+v before P-NEW was imported", r)
		}
	}

	out, errs, code = cli(t, "people", "import", csv("second.csv", "P-NEW,,Li,en,newbie01,,,\n"), "--socket", sock)
	if code != 0 || !strings.Contains(out, "1 added") {
		t.Fatalf("people import: exit %d\n%s%s", code, out, errs)
	}
	waitFor(t, "the held punch uploaded under P-NEW's userid", func() bool {
		r := srv.Records()
		return len(r) > n && r[len(r)-1].UserID == "newbie01"
	})
	if r := srv.Records(); len(r) != n+1 {
		t.Fatalf("%d records after the import, want %d: %+v", len(r), n+1, r)
	}
	waitFor(t, "nothing held", func() bool {
		out, _, _ := cli(t, "sinks", "status", "--json", "--socket", sock)
		return !strings.Contains(out, `"held"`)
	})

	if out, _, code := cli(t, "people", "list", "--socket", sock); code != 0 || !strings.Contains(out, "newbie01") || !strings.Contains(out, "2 people") {
		t.Fatalf("people list: exit %d\n%s", code, out)
	}
	if out, _, code := cli(t, "people", "show", "P-1", "--socket", sock); code != 0 || !strings.Contains(out, "manager4220") {
		t.Fatalf("people show: exit %d\n%s", code, out)
	}
	out, errs, code = cli(t, "people", "forget", "P-NEW", "--socket", sock)
	if code != 0 || !strings.Contains(out, "erased from directory: 1") || !strings.Contains(out, "erased from sink hr-dingtalk held records: 0") ||
		!strings.Contains(out, `journal stream "attendance"`) {
		t.Fatalf("people forget: exit %d\n%s%s", code, out, errs)
	}
	if _, errs, code := cli(t, "people", "show", "P-NEW", "--socket", sock); code != 1 || !strings.Contains(errs, "no such person") {
		t.Fatalf("people show after forget: exit %d\n%s", code, errs)
	}
	// Forgetting a person connect holds punches of drops them.
	punch("P-GONE")
	waitFor(t, "P-GONE's punch held", func() bool {
		out, _, _ := cli(t, "sinks", "status", "--json", "--socket", sock)
		return strings.Contains(out, `"held": 1`)
	})
	out, errs, code = cli(t, "people", "forget", "P-GONE", "--socket", sock)
	if code != 0 || !strings.Contains(out, "erased from directory: 0") || !strings.Contains(out, "erased from sink hr-dingtalk held records: 1") {
		t.Fatalf("people forget P-GONE: exit %d\n%s%s", code, out, errs)
	}
	if out, _, code := cli(t, "people", "held", "--config", conf); code != 0 || !strings.Contains(out, "0 held record") {
		t.Fatalf("people held after forget: exit %d\n%s", code, out)
	}
}
