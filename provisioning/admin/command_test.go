package admin_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/provisioning"
)

// args decodes a JSON object as the MQTT command processor does.
func args(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCommandArgs(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, c := range []struct {
		name, args string
		status     string
		errHas     string
	}{
		{"devices.list", `{"all":true}`, devices.StatusError, `unknown argument "all"`},
		{"device.show", `{}`, devices.StatusError, `"device" is required`},
		{"device.show", `{"device":7}`, devices.StatusError, `"device" must be a string`},
		{"device.show", `{"device":"term-1","verbose":true}`, devices.StatusError, `unknown argument "verbose"`},
		{"device.show", `{"device":"nope"}`, devices.StatusError, "no such device"},
		{"device.approve", `{"hardware_id":"TERM-0002"}`, devices.StatusError, `"device" is required`},
		{"device.approve", `{"hardware_id":"TERM-0002","device":"term-2","rom":"x"}`, devices.StatusError, `unknown argument "rom"`},
		{"device.rename", `{"device":"term-1"}`, devices.StatusError, `"name" is required`},
		{"device.replace", `{"device":"term-1"}`, devices.StatusError, `"hardware_id" is required`},
		{"devices.import", `{"file":"x"}`, devices.StatusError, `unknown argument "file"`},
		{"enroll.open", `{"for":"10m"}`, devices.StatusError, `"rule" is required`},
		{"enroll.open", `{"for":"ten minutes","rule":{}}`, devices.StatusError, `not a duration`},
		{"enroll.open", `{"for":"25h","rule":{}}`, devices.StatusError, "at most 24h"},
		{"enroll.open", `{"for":"10m","rule":{"kind":"kiosk","hw":"X*"}}`, devices.StatusError, `unknown key "hw"`},
		{"enroll.open", `{"for":"10m","rule":{"kind":"kiosk"},"rules":[]}`, devices.StatusError, `unknown argument "rules"`},
		{"enroll.close", `{"now":true}`, devices.StatusError, `unknown argument "now"`},
		{"config.push", `{}`, devices.StatusError, `"profile" is required`},
		{"config.push", `{"profile":"nope"}`, devices.StatusError, "no such profile"},
		{"firmware.flash", `{}`, devices.StatusUnsupported, `no command "firmware.flash"`},
	} {
		status, errText, data := f.svc.Command(ctx, c.name, args(t, c.args))
		if status != c.status || !strings.Contains(errText, c.errHas) || data == nil {
			t.Errorf("%s %s: %s %q %v, want %s containing %q", c.name, c.args, status, errText, data, c.status, c.errHas)
		}
	}
	// Nothing was done by the refused ones.
	if d, _ := f.svc.Show("TERM-0002"); d.State != "pending" {
		t.Fatalf("a refused command approved: %+v", d)
	}
	if w := f.svc.Enrollment(); !w.Until.IsZero() {
		t.Fatalf("a refused command opened the window: %+v", w)
	}
}

func TestCommands(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	run := func(name, a string) map[string]any {
		t.Helper()
		status, errText, data := f.svc.Command(ctx, name, args(t, a))
		if status != devices.StatusOK {
			t.Fatalf("%s %s: %s %s", name, a, status, errText)
		}
		return data
	}
	data := run("devices.list", `{}`)
	if devs, _ := data["devices"].([]any); len(devs) != 3 {
		t.Fatalf("devices.list: %v", data)
	}
	data = run("device.approve", `{"hardware_id":"TERM-0002","device":"term-2","room":"floor 2","profile":"floor2"}`)
	if d, _ := data["device"].(map[string]any); d["device_id"] != "term-2" || d["state"] != "active" {
		t.Fatalf("device.approve: %v", data)
	}
	run("device.rename", `{"device":"term-2","name":"Second"}`)
	run("device.disable", `{"device":"term-2"}`)
	run("device.enable", `{"device":"term-2"}`)
	data = run("device.replace", `{"device":"term-2","hardware_id":"TERM-0003"}`)
	if d, _ := data["device"].(map[string]any); d["hardware_id"] != "TERM-0003" || d["name"] != "Second" {
		t.Fatalf("device.replace: %v", data)
	}
	data = run("device.show", `{"device":"TERM-0002"}`)
	if d, _ := data["device"].(map[string]any); d["state"] != "retired" {
		t.Fatalf("device.show: %v", data)
	}
	run("device.retire", `{"device":"term-2"}`)
	data = run("enroll.open", `{"for":600,"rule":{"kind":"kiosk","name":"kiosk-{n}"}}`)
	if rules, _ := data["rules"].([]any); len(rules) != 1 {
		t.Fatalf("enroll.open: %v", data)
	}
	run("enroll.close", `{}`)
	data = run("config.push", `{"profile":"lobby"}`)
	if devs, _ := data["devices"].([]any); len(devs) != 1 || devs[0].(map[string]any)["outcome"] != "offline" {
		t.Fatalf("config.push: %v", data)
	}
	// A rejected manifest: error, every problem in data.
	b, _ := json.Marshal(map[string]any{"csv": badManifest})
	status, errText, data := f.svc.Command(ctx, "devices.import", args(t, string(b)))
	if probs, _ := data["problems"].([]any); status != devices.StatusError || !strings.Contains(errText, "manifest") || len(probs) < 3 {
		t.Fatalf("devices.import bad: %s %q %v", status, errText, data)
	}
	b, _ = json.Marshal(map[string]any{"csv": provisioning.ManifestHeader + "\nKIOSK-9*,kiosk-9,kiosk,,\n"})
	data = run("devices.import", string(b))
	if w, _ := data["waiting"].([]any); len(w) != 1 {
		t.Fatalf("devices.import: %v", data)
	}
	want := []string{"config.push", "device.approve", "device.disable", "device.enable", "device.rename", "device.replace",
		"device.retire", "device.show", "devices.import", "devices.list", "enroll.close", "enroll.open"}
	if got := f.svc.Commands(); !slices.Equal(got, want) {
		t.Fatalf("Commands: %v", got)
	}
}
