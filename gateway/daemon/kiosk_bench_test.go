package daemon_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/escpos/escpossim"
	"github.com/officegate/officegate/devices/gpio"
	"github.com/officegate/officegate/devices/gpio/gpiosim"
	"github.com/officegate/officegate/devices/kiosk"
	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/gateway/uplink"
)

// BenchmarkScanToRelease measures, inside the running gateway, the time from
// a scanned invite written to the scanner's PTY to the door strike's relay
// pin going high, with the uplink connected to mosquitto and with no broker
// at all: the check-in is local, so the two should not differ. Reported:
// p50 and p99 in microseconds.
//
//	go test ./gateway/daemon -run '^$' -bench ScanToRelease -benchtime 200x
func BenchmarkScanToRelease(b *testing.B) {
	b.Run("uplink-up", func(b *testing.B) { benchScan(b, true) })
	b.Run("uplink-down", func(b *testing.B) { benchScan(b, false) })
}

func benchScan(b *testing.B, up bool) {
	dir := b.TempDir()
	url := fmt.Sprintf("tcp://127.0.0.1:%d", mqtttest.FreePort(b)) // nothing listens: the uplink is down
	if up {
		url = mqtttest.Start(b, nil).URL
	}
	os.WriteFile(filepath.Join(dir, "invite.key"), []byte(kioskKey), 0o600)
	m, s, err := pty.Open()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	defer m.Close()
	printer, err := escpossim.New()
	if err != nil {
		b.Fatal(err)
	}
	defer printer.Close()
	section := fmt.Sprintf("scanner_port = %q\nprinter_port = %q\ninvite_key_file = %q\nstate_file = %q\npulse = \"100ms\"\nscan_interval = \"1ms\"\n[door]\nrelay_pin = \"GPIO17\"\nrelay_active = \"high\"\n",
		s.Name(), printer.Path(), filepath.Join(dir, "invite.key"), filepath.Join(dir, "kiosk.json"))
	board := gpiosim.NewBoard(nil)
	relay, _ := board.Pin("GPIO17")
	k, err := kiosk.NewWith("kiosk-lobby", devices.Options{Config: tomlSection(section)}, kiosk.With{Pins: board.Open})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, daemon.Options{Gateway: "gw-b", StateDir: filepath.Join(dir, "gw"),
			Uplink: uplink.Options{Broker: url, ClientID: "officegate-gw-b"}, Drivers: []devices.Driver{k}, Log: zerolog.Nop()})
	}()
	defer func() { cancel(); <-done }()
	now := time.Now()
	for i := 0; i < b.N; i++ {
		for {
			res := k.Handle(ctx, devices.Command{ID: fmt.Sprint("up-", i), Name: "invite.upsert", Args: map[string]any{
				"invite_id": fmt.Sprint("inv-", i), "token": fmt.Sprint("TOKEN-", i), "name": "Visitor", "host": "Host",
				"valid_from": now.Add(-time.Hour).Format(time.RFC3339), "valid_until": now.Add(8 * time.Hour).Format(time.RFC3339)}})
			if res.Status == devices.StatusOK {
				break
			}
			if res.Status != devices.StatusBusy { // busy: Run has not opened the state yet
				b.Fatalf("invite.upsert: %+v", res)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	released := func() int {
		n := 0
		for _, c := range relay.History() {
			if c.Output && c.Level == gpio.High {
				n++
			}
		}
		return n
	}
	waitLow := func() {
		for relay.Read() == gpio.High {
			time.Sleep(time.Millisecond)
		}
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		waitLow()
		n := released()
		start := time.Now()
		if _, err := m.WriteString(fmt.Sprint("TOKEN-", i, "\r")); err != nil {
			b.Fatal(err)
		}
		deadline := start.Add(10 * time.Second)
		for released() == n {
			if time.Now().After(deadline) {
				b.Fatalf("scan %d: no release within 10 s", i)
			}
			time.Sleep(20 * time.Microsecond)
		}
		h := relay.History()
		lat = append(lat, h[len(h)-1].Time.Sub(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds()), "p99-µs")
}
