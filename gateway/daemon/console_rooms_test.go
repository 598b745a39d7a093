package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/gpio/gpiosim"
	"github.com/officegate/officegate/devices/roomdrv"
	"github.com/officegate/officegate/gateway/console"
	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/gateway/uplink"
)

// The console's rooms board shows each room's booking in progress and its
// next booking from the schedule the booking system pushed to the room
// (the one its panel shows), not only the booking its events last named:
// a booking pushed but not begun is "next" before any event mentions it.
func TestConsoleRoomsBoard(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	b := mqtttest.Start(t, nil)
	dir := t.TempDir()
	board := gpiosim.NewBoard(nil)
	factory := roomdrv.Factory(board.Open, nil, func(context.Context, string, string, map[string]any) error { return nil })
	rm, err := factory("room-aurora", devices.Options{Config: tomlSection(fmt.Sprintf("state_file = %q\nname = \"Aurora\"\ntick = \"1s\"\n",
		filepath.Join(dir, "room.json")))})
	if err != nil {
		t.Fatal(err)
	}
	users := filepath.Join(dir, "users")
	if err := console.AddUser(users, "vic", console.Viewer, "viewer password"); err != nil {
		t.Fatal(err)
	}
	results := newCollector(t, b.URL, "officegate/gw-rb/devices/room-aurora/results")
	urls := make(chan string, 1)
	runGateway(t, daemon.Options{
		Gateway: "gw-rb", StateDir: filepath.Join(dir, "gw"), Location: time.UTC,
		Uplink:       uplink.Options{Broker: b.URL, ClientID: "officegate-gw-rb"},
		Drivers:      []devices.Driver{rm},
		Provisioning: &daemon.Provisioning{},
		Console:      &daemon.Console{Listen: "127.0.0.1:0", UsersFile: users, OnURL: func(u string) { urls <- u }},
		Log:          zerolog.Nop(),
	})
	get, _, _ := consoleSession(t, <-urls, "vic", "viewer password")
	tile := regexp.MustCompile(`(?s)<div class="tile room[^"]*" data-room="room-aurora">(.*?)</div>`)
	room := func() string {
		m := tile.FindStringSubmatch(get("/rooms"))
		if m == nil {
			return ""
		}
		return m[1]
	}
	// Before any schedule: the room is on the board, with nothing booked.
	waitUntil(t, 20*time.Second, "the room on the board", func() bool {
		return strings.Contains(room(), "No booking after this one")
	})

	now := time.Now().UTC()
	at := func(d time.Duration) time.Time { return now.Add(d).Truncate(time.Second) }
	cl := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL).SetClientID("booking-svc"))
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer cl.Disconnect(0)
	body, _ := json.Marshal(map[string]any{"id": "sched-1", "args": map[string]any{"version": 1, "bookings": []any{
		map[string]any{"id": "standup", "start": at(-10 * time.Minute), "end": at(20 * time.Minute), "title": "Standup"},
		map[string]any{"id": "review", "start": at(2 * time.Hour), "end": at(3 * time.Hour), "title": "Design review"},
		map[string]any{"id": "retro", "start": at(5 * time.Hour), "end": at(6 * time.Hour)},
	}}})
	if tok := cl.Publish("officegate/gw-rb/devices/room-aurora/commands/room.schedule_set", 1, false, body); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	waitUntil(t, 20*time.Second, "the schedule's result", func() bool { return resultsOf(t, results)["sched-1"] != nil })
	hm := func(t time.Time) string { return t.Format("15:04:05") }
	if d := at(2 * time.Hour); d.Format(time.DateOnly) != now.Format(time.DateOnly) {
		hm = func(t time.Time) string { return t.Format("2006-01-02 15:04") }
	}
	var got string
	waitUntil(t, 20*time.Second, "the current and the next booking on the board", func() bool {
		got = room()
		return strings.Contains(got, "Booking standup “Standup”") &&
			strings.Contains(got, "Next booking review “Design review” "+hm(at(2*time.Hour))+"–")
	})
	if strings.Contains(got, "retro") {
		t.Fatalf("the board shows a booking after the next one:\n%s", got)
	}
}
