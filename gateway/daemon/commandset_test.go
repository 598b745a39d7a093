package daemon

import (
	"context"
	"errors"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/kiosk"
	"github.com/officegate/officegate/devices/room"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/gateway/commands"
	"github.com/officegate/officegate/provisioning"
	"github.com/officegate/officegate/provisioning/admin"
)

// commander is a driver that takes the given commands (the real kiosk and
// room lists) and counts what reaches it.
type commander struct {
	id, kind string
	names    []string
	got      atomic.Int64
}

func (c *commander) Run(ctx context.Context, _ devices.Sink) error { <-ctx.Done(); return nil }
func (c *commander) Describe() devices.Description {
	return devices.Description{ID: c.id, Kind: c.kind, Commands: c.names}
}
func (c *commander) Handle(context.Context, devices.Command) devices.Result {
	c.got.Add(1)
	return devices.OK(nil)
}

// docCommands reads the command names of MQTT.md §6.1–6.5, by subsection.
func docCommands(t *testing.T) map[string][]string {
	t.Helper()
	b, err := os.ReadFile("../MQTT.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	sec := ""
	name := regexp.MustCompile("`([a-z_]+\\.[a-z_.]+)`")
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "### 6."):
			sec = line[4:7]
		case strings.HasPrefix(line, "## "):
			sec = ""
		case sec != "" && strings.HasPrefix(line, "| `"):
			first := strings.SplitN(line, "|", 3)[1]
			for _, m := range name.FindAllStringSubmatch(first, -1) {
				out[sec] = append(out[sec], m[1])
			}
		}
	}
	for _, s := range []string{"6.1", "6.2", "6.3", "6.4", "6.5"} {
		if len(out[s]) == 0 {
			t.Fatalf("MQTT.md §%s lists no commands: the parser no longer matches the document", s)
		}
	}
	return out
}

// TestEveryContractNameAndNoAlias: the command table accepts every command
// MQTT.md §6 names for the devices of that kind, and refuses, as
// unsupported, every link-level alias of them (user_upsert, time_set, …)
// and set_time, on every kind; Execute refuses the same without reaching
// the driver or the link, whatever called it.
func TestEveryContractNameAndNoAlias(t *testing.T) {
	reg, err := provisioning.OpenWith(t.TempDir(), provisioning.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ki := &commander{id: "kiosk-1", kind: "kiosk", names: kiosk.Commands}
	ro := &commander{id: "room-1", kind: "room", names: room.Commands}
	ls := &linkSet{fixed: map[string]*link.Gateway{}, ports: map[string]*link.Gateway{}}
	rt := router{links: ls, kinds: map[string]string{"term-1": "terminal", "panel-1": "panel"},
		drivers: map[string]devices.Driver{"kiosk-1": ki, "room-1": ro}, log: zerolog.Nop(), reg: reg,
		admin: &atomic.Pointer[admin.Service]{}}
	svc, err := admin.New(admin.Deps{Registry: reg, Links: &Gateway{links: ls}})
	if err != nil {
		t.Fatal(err)
	}
	rt.admin.Store(svc)

	doc := docCommands(t)
	byDevice := map[string][]string{
		"term-1":  append(append([]string(nil), doc["6.1"]...), doc["6.2"]...),
		"panel-1": doc["6.1"],
		"room-1":  doc["6.3"],
		"kiosk-1": doc["6.4"],
		"":        doc["6.5"],
	}
	for dev, names := range byDevice {
		for _, name := range names {
			err := rt.Check(dev, name)
			if dev == "" && strings.HasPrefix(name, "firmware.") {
				// MQTT.md §6.5: unsupported without provisioning.firmware_key.
				if !errors.Is(err, commands.ErrUnsupported) {
					t.Errorf("gateway %s without a firmware key: %v, want unsupported", name, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("device %q: MQTT.md's %s refused: %v", dev, name, err)
			}
			for _, alias := range []string{msg.CommandName(name), strings.ToUpper(name[:1]) + name[1:], name + "_"} {
				if err := rt.Check(dev, alias); !errors.Is(err, commands.ErrUnsupported) {
					t.Errorf("device %q: alias %q of %s: %v, want unsupported", dev, alias, name, err)
				}
				out := rt.Execute(context.Background(), commands.Request{ID: "c", Device: dev, Name: alias, Args: []byte(`{}`)})
				if out.Status != "unsupported" {
					t.Errorf("device %q: Execute(%q) = %+v, want unsupported", dev, alias, out)
				}
			}
		}
		for _, odd := range []string{"set_time", "ping", "panel.display"} {
			if err := rt.Check(dev, odd); !errors.Is(err, commands.ErrUnsupported) {
				t.Errorf("device %q: %q: %v, want unsupported", dev, odd, err)
			}
		}
	}
	if err := rt.Check("ghost", "door.pulse"); !errors.Is(err, commands.ErrUnknownDevice) {
		t.Errorf("unknown device: %v", err)
	}
	if ki.got.Load() != 0 || ro.got.Load() != 0 {
		t.Errorf("refused commands reached the drivers: kiosk %d, room %d", ki.got.Load(), ro.got.Load())
	}
	// What only drivers send (a room's panel display) is not taken from MQTT,
	// but is from another driver.
	if err := rt.check("panel-1", "panel.display", true); err != nil {
		t.Errorf("a room driver's panel.display refused: %v", err)
	}
}
