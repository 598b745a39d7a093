package roomdrv_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/room"
	"github.com/officegate/officegate/devices/roomdrv"
	"github.com/officegate/officegate/internal/testkit"
)

func TestConfig(t *testing.T) {
	const base = "state_file = \"/tmp/r.json\"\n"
	good := []string{
		base,
		base + `pir_pin = "GPIO23"` + "\nhold = \"15m\"\n",
		base + `buttons = { 1 = "checkin", 7 = "book" }` + "\n",
		base + `led_red = "GPIO21"` + "\nled_active = \"low\"\ntimezone = \"Asia/Shanghai\"\n",
	}
	for _, c := range good {
		if _, err := roomdrv.NewWith("r", devices.Options{Config: tomlSection(c)}, roomdrv.With{}); err != nil {
			t.Errorf("%q: %v", c, err)
		}
	}
	bad := []struct{ cfg, want string }{
		{"", "state_file: missing"},
		{base + `checkin_before = "0s"`, `checkin_before: "0s" is outside`},
		{base + `checkin_after = "2h"`, `checkin_after: "2h" is outside`},
		{base + `checkin_after = "ten"`, `checkin_after: "ten" is not a duration`},
		{base + `tick = "100ms"`, `tick: "100ms" is outside`},
		{base + "pir_pin = \"GPIO23\"\nhold = \"20m\"", `hold: "20m" is longer than the check-in window`},
		{base + "pir_pin = \"GPIO23\"\npir_active = \"on\"", `pir_active: "on"`},
		{base + "led_green = \"GPIO5\"\nled_red = \"GPIO5\"", `led_red: pin "GPIO5" is also led_green`},
		{base + "pir_pin = \"GPIO5\"\nled_red = \"GPIO5\"", `led_red: pin "GPIO5" is also pir_pin`},
		{base + `led_active = "bright"`, `led_active: "bright"`},
		{base + `buttons = { x = "checkin" }`, `buttons: key "x"`},
		{base + `buttons = { 40 = "checkin" }`, `buttons: key "40"`},
		{base + `buttons = { 1 = "explode" }`, `button 1: "explode"`},
		{base + `extend_minutes = 0`, "extend_minutes: 0"},
		{base + `book_minutes = 241`, "book_minutes: 241"},
		{base + `timezone = "Mars/Olympus"`, `timezone: "Mars/Olympus"`},
		{base + `name = "` + strings.Repeat("x", 33) + `"`, "name:"},
		{base + `led_pins = { green = "GPIO16" }`, "led_pins"},
	}
	for _, b := range bad {
		_, err := roomdrv.NewWith("r", devices.Options{Config: tomlSection(b.cfg)}, roomdrv.With{})
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%q: error %v, want one containing %q", b.cfg, err, b.want)
		}
	}
}

func TestFactory(t *testing.T) {
	w := newWorld(t)
	sent := make(chan string, 100)
	send := func(_ context.Context, panel, name string, _ map[string]any) error {
		sent <- panel + " " + name
		return nil
	}
	reg := devices.Registry{roomdrv.Kind: roomdrv.Factory(w.board.Open, w.clk, send)}
	d, err := reg.New(roomdrv.Kind, "room-aurora", devices.Options{Config: tomlSection(w.baseConfig())})
	if err != nil {
		t.Fatal(err)
	}
	desc := d.Describe()
	if desc.Kind != roomdrv.Kind || len(desc.Commands) != len(room.Commands) {
		t.Errorf("describe %+v", desc)
	}
	pl, ok := d.(devices.PanelListener)
	if !ok || pl.PanelID() != "panel-3f-aurora" {
		t.Fatalf("panel listener %v %v", ok, pl)
	}
	if _, err := reg.New(roomdrv.Kind, "x", devices.Options{}); err == nil || !strings.Contains(err.Error(), "state_file") {
		t.Errorf("no state file: %v", err)
	}
	if _, err := roomdrv.New("x", devices.Options{Config: tomlSection(w.baseConfig())}); err != nil {
		t.Errorf("New: %v", err)
	}
	if w.pin("GPIO16").IsOutput() {
		t.Error("a factory opened a pin")
	}
	ctx, cancel := context.WithCancel(testkit.Ctx(t, 10*time.Second))
	done := make(chan error, 1)
	go func() {
		done <- d.Run(ctx, devices.SinkFunc(func(context.Context, devices.Event) error { return nil }))
	}()
	if got := <-sent; got != "panel-3f-aurora panel.display" {
		t.Errorf("sent %q", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}
