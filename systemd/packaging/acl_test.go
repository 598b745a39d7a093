package packaging

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/officegate/officegate/gateway/mqtttest"
)

// TestMosquittoACL runs a real mosquitto with the shipped ACL and a password
// file made by mosquitto_passwd: HR's publish of a command is dropped (the
// gateway, subscribed to its command topics, never sees it) while admin's
// arrives; HR receives attendance punches but not device status.
func TestMosquittoACL(t *testing.T) {
	passwd := tool(t, "mosquitto_passwd", "mosquitto")
	dir := t.TempDir()
	pwfile := filepath.Join(dir, "passwd")
	users := map[string]string{"hr": "hr-secret", "admin": "admin-secret", "gateway-hq-floor3": "gw-secret"}
	first := true
	for u, p := range users {
		args := []string{"-b", pwfile, u, p}
		if first {
			args = append([]string{"-c"}, args...)
			first = false
		}
		if b, err := exec.Command(passwd, args...).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_passwd: %v\n%s", err, b)
		}
	}
	acl, err := filepath.Abs("mosquitto/officegate.acl")
	if err != nil {
		t.Fatal(err)
	}
	b := mqtttest.Start(t, &mqtttest.Options{Extra: []string{
		"allow_anonymous false", // overrides mqtttest's default
		"password_file " + pwfile,
		"acl_file " + acl,
	}})

	conns := 0
	connect := func(user string) paho.Client {
		t.Helper()
		conns++ // client ids are unique: a second connection would take over the first
		o := paho.NewClientOptions().AddBroker(b.URL).SetClientID(fmt.Sprintf("acl-%s-%d", user, conns)).
			SetUsername(user).SetPassword(users[user]).SetAutoReconnect(false).SetCleanSession(true)
		c := paho.NewClient(o)
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("connect as %s: %v", user, tok.Error())
		}
		t.Cleanup(func() { c.Disconnect(100) })
		return c
	}
	wait := func(tok paho.Token, what string) {
		t.Helper()
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("%s: %v", what, tok.Error())
		}
	}
	recv := func(c paho.Client, filter string) chan string {
		t.Helper()
		ch := make(chan string, 16)
		wait(c.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) {
			ch <- m.Topic() + " " + string(m.Payload())
		}), "subscribe "+filter)
		return ch
	}

	// Anonymous clients are refused.
	anon := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL).SetClientID("acl-anon").SetAutoReconnect(false))
	if tok := anon.Connect(); tok.WaitTimeout(10*time.Second) && tok.Error() == nil {
		anon.Disconnect(0)
		t.Fatal("an anonymous client connected")
	}

	gw, hr, admin := connect("gateway-hq-floor3"), connect("hr"), connect("admin")
	commands := recv(gw, "officegate/hq-floor3/devices/+/commands/+")
	punches := recv(hr, "officegate/+/devices/+/events/attendance.punch")
	hrStatus := recv(hr, "officegate/+/devices/+/status") // the broker accepts, the ACL filters

	const cmdTopic = "officegate/hq-floor3/devices/terminal-lobby/commands/door.pulse"
	// mosquitto drops a denied publish. 2.0.11 (Debian 12) answers a
	// 3.1.1 client with a v5 reason code its parser rejects, so the
	// publisher is disconnected: publish from a connection of its own, and
	// accept either outcome of its token.
	hrPub := connect("hr")
	if tok := hrPub.Publish(cmdTopic, 1, false, `{"id":"from-hr"}`); !tok.WaitTimeout(10 * time.Second) {
		t.Fatal("HR publish: no answer")
	}
	wait(admin.Publish(cmdTopic, 1, false, `{"id":"from-admin"}`), "admin publish")
	// One broker thread, so HR's would have arrived first.
	select {
	case m := <-commands:
		if !strings.HasSuffix(m, `{"id":"from-admin"}`) {
			t.Fatalf("gateway received %q: HR's command got through", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("admin's command never reached the gateway")
	}

	wait(gw.Publish("officegate/hq-floor3/devices/terminal-lobby/status", 1, false, `{"state":"online"}`), "gateway status")
	wait(gw.Publish("officegate/hq-floor3/devices/terminal-lobby/events/attendance.punch", 1, false, `{"id":"p1"}`), "gateway punch")
	select {
	case m := <-punches:
		if !strings.HasSuffix(m, `{"id":"p1"}`) {
			t.Fatalf("HR received %q", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("HR never received the punch")
	}
	select {
	case m := <-hrStatus:
		t.Fatalf("HR read device status: %q", m)
	case m := <-commands:
		t.Fatalf("a second command reached the gateway: %q", m)
	default:
	}
}
