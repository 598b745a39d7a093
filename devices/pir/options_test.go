package pir_test

import (
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/gpio"
	"github.com/officegate/officegate/devices/gpio/gpiosim"
	"github.com/officegate/officegate/devices/pir"
)

// section is a devices.Decoder that sets fields as a gateway section would.
type section func(c *pir.Config)

func (s section) Decode(v any) error { s(v.(*pir.Config)); return nil }

func TestConfig(t *testing.T) {
	good := []struct {
		c    pir.Config
		want pir.Opts
	}{
		{pir.Config{Pin: "GPIO23"}, pir.Opts{Pin: "GPIO23"}},
		{pir.Config{Pin: "GPIO4", Active: "LOW", Pull: "up", Hold: "90s", Warmup: "0s", Debounce: "20ms"},
			pir.Opts{Pin: "GPIO4", ActiveLow: true, Pull: gpio.PullUp, Hold: 90 * time.Second, Warmup: pir.NoWarmup, Debounce: 20 * time.Millisecond}},
	}
	for _, g := range good {
		got, err := g.c.Opts()
		if err != nil || got != g.want {
			t.Errorf("%+v: %+v, %v; want %+v", g.c, got, err, g.want)
		}
	}
	bad := []struct {
		c    pir.Config
		want string
	}{
		{pir.Config{}, "pir_pin: missing"},
		{pir.Config{Pin: "GPIO23", Active: "on"}, `pir_active: "on"`},
		{pir.Config{Pin: "GPIO23", Pull: "sideways"}, `pir_pull: "sideways"`},
		{pir.Config{Pin: "GPIO23", Hold: "5 minutes"}, `hold: "5 minutes"`},
		{pir.Config{Pin: "GPIO23", Hold: "500ms"}, "hold 500ms is outside 1s–1h0m0s"},
		{pir.Config{Pin: "GPIO23", Hold: "2h"}, "hold 2h0m0s is outside"},
		{pir.Config{Pin: "GPIO23", Warmup: "1h"}, "warm-up 1h0m0s is outside"},
		{pir.Config{Pin: "GPIO23", Debounce: "-1ms"}, `debounce: "-1ms" must be positive`},
	}
	for _, b := range bad {
		if _, err := b.c.Opts(); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%+v: error %v, want one containing %q", b.c, err, b.want)
		}
	}
}

func TestFactory(t *testing.T) {
	board := gpiosim.NewBoard(nil)
	f := pir.Factory(board.Open, nil)
	reg := devices.Registry{pir.Kind: f}
	d, err := reg.New(pir.Kind, "room-3-pir", devices.Options{Config: section(func(c *pir.Config) { c.Pin = "GPIO23"; c.Hold = "2m" })})
	if err != nil {
		t.Fatal(err)
	}
	if d.Describe().ID != "room-3-pir" {
		t.Errorf("describe %+v", d.Describe())
	}
	if _, err := reg.New(pir.Kind, "x", devices.Options{}); err == nil || !strings.Contains(err.Error(), "pir_pin") {
		t.Errorf("no pin: %v", err)
	}
	if _, err := pir.New("x", nil, &pir.Opts{Pin: "GPIO1"}); err == nil {
		t.Error("nil opener accepted")
	}
	if _, err := pir.New("x", board.Open, nil); err == nil {
		t.Error("nil opts accepted")
	}
}
