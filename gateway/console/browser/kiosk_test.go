package browser_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/creack/pty"
	paho "github.com/eclipse/paho.mqtt.golang"
	toml "github.com/pelletier/go-toml/v2"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/escpos/escpossim"
	"github.com/officegate/officegate/devices/gpio"
	"github.com/officegate/officegate/devices/gpio/gpiosim"
	kioskdrv "github.com/officegate/officegate/devices/kiosk"
)

type tomlSection string

func (s tomlSection) Decode(v any) error {
	err := toml.NewDecoder(strings.NewReader(string(s))).DisallowUnknownFields().Decode(v)
	if sm, ok := errors.AsType[*toml.StrictMissingError](err); ok {
		return errors.New(sm.String())
	}
	return err
}

// TestKioskInBrowser: a reception kiosk driver on real PTYs (a QR scanner
// and an emulated ESC/POS printer) run by the gateway. A visitor scans an
// invite: the reception page shows the check-in live, as the kiosk
// reported it through the gateway's intake and journal. Then a stranger
// scans an unknown code: the walk-in waits on the page with its countdown,
// the operator approves it inside its window, and the kiosk lets them in
// (its door released, a check-in by approval on the page).
func TestKioskInBrowser(t *testing.T) {
	needBrowser(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "invite.key")
	os.WriteFile(key, []byte("0123456789abcdef0123456789abcdef\n"), 0o600)
	m, sl, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sl.Close(); m.Close() })
	printer, err := escpossim.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { printer.Close() })
	board := gpiosim.NewBoard(nil)
	relay, _ := board.Pin("GPIO17")
	section := fmt.Sprintf("scanner_port = %q\nprinter_port = %q\ninvite_key_file = %q\nstate_file = %q\nprinter_poll = \"200ms\"\n[door]\nrelay_pin = \"GPIO17\"\nrelay_active = \"high\"\nmax_pulse = \"5s\"\n",
		sl.Name(), printer.Path(), key, filepath.Join(dir, "kiosk.json"))
	k, err := kioskdrv.NewWith("kiosk-desk", devices.Options{Config: tomlSection(section)}, kioskdrv.With{Pins: board.Open})
	if err != nil {
		t.Fatal(err)
	}
	f := startFloor(t, k)

	// The front desk's back end loads an invite over MQTT.
	cl := paho.NewClient(paho.NewClientOptions().AddBroker(f.broker).SetClientID("front-desk"))
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer cl.Disconnect(0)
	upserted := make(chan string, 4)
	if tok := cl.Subscribe("officegate/gw-b/devices/kiosk-desk/results", 1, func(_ paho.Client, msg paho.Message) {
		upserted <- string(msg.Payload())
	}); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	now := time.Now()
	body, _ := json.Marshal(map[string]any{"id": "up-1", "args": map[string]any{"invite_id": "inv-zhao", "token": "QR-ZHAO", "name": "赵敏", "host": "Li Na",
		"valid_from": now.Add(-time.Hour).Format(time.RFC3339), "valid_until": now.Add(8 * time.Hour).Format(time.RFC3339)}})
	if tok := cl.Publish("officegate/gw-b/devices/kiosk-desk/commands/invite.upsert", 1, false, body); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}

	ctx := tab(t)
	do(t, ctx, chromedp.Navigate(f.url+"/login"))
	waitJS(t, ctx, "the login page", `!!document.querySelector("#user")`)
	do(t, ctx, chromedp.SendKeys("#user", "otto"), chromedp.SendKeys("#password", password), chromedp.Click("#login"))
	waitJS(t, ctx, "the overview", `!!document.querySelector("#online")`)
	do(t, ctx, chromedp.Navigate(f.url+"/reception"))
	waitJS(t, ctx, "the reception page", `!!document.querySelector("#visitors")`)
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))

	// The invite's QR code at the scanner, once the kiosk took the invite.
	select {
	case r := <-upserted:
		if !strings.Contains(r, `"id":"up-1"`) || !strings.Contains(r, `"status":"ok"`) {
			t.Fatalf("invite.upsert: %s", r)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no result for invite.upsert")
	}
	if _, err := m.WriteString("QR-ZHAO\r\n"); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "赵敏 checked in, live", `!!document.querySelector('tr[data-invite="inv-zhao"]') && document.querySelector("#visitors").textContent.includes("赵敏")`)
	shot(t, ctx, "kiosk-checked-in")

	// A stranger's code: a walk-in waiting for approval, approved in time.
	if _, err := m.WriteString("NOT-AN-INVITE\r\n"); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the walk-in waiting", `!!document.querySelector("form.walkin")`)
	waitJS(t, ctx, "its countdown", `/^0:[0-3]\d$/.test((document.querySelector("form.walkin .countdown")||{}).textContent||"")`)
	if text(t, ctx, `String(window.notReloaded)`) != "true" {
		t.Fatal("the page was reloaded to show the kiosk's events")
	}
	shot(t, ctx, "kiosk-walkin-waiting")
	releases := func() int {
		n := 0
		for _, c := range relay.History() {
			if c.Output && c.Level == gpio.High {
				n++
			}
		}
		return n
	}
	before := releases()
	do(t, ctx, chromedp.SendKeys(`form.walkin input[name=name]`, "Jonas Berg"), chromedp.SendKeys(`form.walkin input[name=host]`, "Li Na"),
		chromedp.Click(`form.walkin button`))
	waitJS(t, ctx, "the approval's message", `((document.querySelector("#flash")||{}).textContent||"") === "Jonas Berg approved: the door opens."`)
	waitJS(t, ctx, "the walk-in checked in", `document.querySelector("#visitors").textContent.includes("Jonas Berg")`)
	if releases() <= before {
		t.Fatal("the kiosk's door was not released for the approved walk-in")
	}
	shot(t, ctx, "kiosk-walkin-approved")
}
