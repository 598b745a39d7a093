package daemon_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/gateway/sinks/webhook/webhooktest"
	"github.com/officegate/officegate/gateway/uplink"
	"github.com/officegate/officegate/internal/testkit"
	"github.com/officegate/officegate/provisioning/admin"
)

// Through the admin socket (officegate sinks …): a webhook that refuses
// punches shows its dead letters; once it takes them, replay delivers
// them and they are no longer listed; the status shows the backlog and
// the error class while the webhook is down, and the uplink delivers
// every punch all along.
func TestSinksStatusAndReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	b := mqtttest.Start(t, nil)
	srv := webhooktest.New(nil, false)
	defer srv.Close()
	dir := t.TempDir()
	devs, _ := startTerminals(t, dir, []string{"t-1"})
	sock := filepath.Join(dir, "admin.sock")
	sub := newCollector(t, b.URL, "officegate/gw-s/devices/+/events/+")
	runGateway(t, daemon.Options{
		Gateway: "gw-s", StateDir: filepath.Join(dir, "gw"),
		Uplink:  uplink.Options{Broker: b.URL, ClientID: "officegate-gw-s"},
		Devices: []daemon.Device{{ID: "t-1", Kind: "terminal", Port: devs[0].Path, Baud: 115200}},
		Sinks: []daemon.Sink{{Name: "hr", Kind: "webhook", Streams: []string{"attendance"},
			Settings: map[string]string{"url": srv.URL}}},
		Provisioning: &daemon.Provisioning{Socket: sock, SocketGID: -1},
		Log:          zerolog.Nop(),
	})
	cli := admin.NewClient(sock)
	ctx := testkit.Ctx(t, time.Minute)
	punches := func() int {
		n := 0
		for _, e := range sub.events() {
			if e.Type == "attendance.punch" {
				n++
			}
		}
		return n
	}
	emit := func(n int) {
		for i := range n {
			if _, err := devs[0].Emu.Emit("punch", map[string]any{"user": fmt.Sprintf("%05d", i), "state": uint64(0)}); err != nil {
				t.Fatal(err)
			}
		}
	}

	srv.Down(http.StatusUnprocessableEntity, "")
	emit(3)
	waitUntil(t, 30*time.Second, "three dead letters", func() bool {
		dls, err := cli.SinkDeadLetters(ctx, "hr")
		return err == nil && len(dls) == 3
	})
	srv.Down(http.StatusServiceUnavailable, "")
	emit(2)
	waitUntil(t, 30*time.Second, "the sink failing with a backlog", func() bool {
		st, err := cli.Sinks(ctx)
		return err == nil && len(st) == 1 && st[0].Backlog == 2 && st[0].Class == "status" && st[0].DeadLetters == 3 && st[0].Retries > 0
	})
	if n := punches(); n < 5 {
		waitUntil(t, 30*time.Second, "the uplink delivers meanwhile", func() bool { return punches() == 5 })
	}
	srv.Down(0, "")
	waitUntil(t, 30*time.Second, "the backlog delivered", func() bool {
		st, err := cli.Sinks(ctx)
		return err == nil && st[0].Backlog == 0 && st[0].Down == ""
	})
	if st, _ := cli.Sinks(ctx); st[0].Delivered != 2 {
		t.Fatalf("delivered %d, want the 2 punches taken (dead letters are not delivered)", st[0].Delivered)
	}
	res, err := cli.SinkReplay(ctx, "hr")
	if err != nil || res.Delivered != 3 || len(res.Failed) != 0 {
		t.Fatalf("replay: %+v, %v", res, err)
	}
	if st, _ := cli.Sinks(ctx); st[0].Delivered != 5 {
		t.Fatalf("delivered %d after the replay, want 5", st[0].Delivered)
	}
	if dls, err := cli.SinkDeadLetters(ctx, "hr"); err != nil || len(dls) != 0 {
		t.Fatalf("dead letters after the replay: %+v, %v", dls, err)
	}
	got := map[string]bool{}
	for _, m := range srv.Messages() {
		got[m.ID] = true
	}
	if len(got) != 5 || srv.Redelivered() != 0 {
		t.Fatalf("the webhook has %d punches (%d twice), want all 5 once", len(got), srv.Redelivered())
	}
	if _, err := cli.SinkReplay(ctx, "nosuch"); err == nil {
		t.Fatal("replay of an unknown sink")
	}
}
