package demo

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/gpio"
	"github.com/officegate/officegate/devices/gpio/gpiosim"
	"github.com/officegate/officegate/devices/roomdrv"
	"github.com/officegate/officegate/firmware-bridge/fwemu"
	"github.com/officegate/officegate/gateway/daemon"
)

// Room and Panel are the meeting room's device id and its panel's.
const (
	Room  = "room-aurora"
	Panel = "panel-3f-aurora"
)

// The room's timings, shrunk from minutes to seconds so that a booking
// nobody shows up for is suggested for release within the demo's first
// quarter minute. The hold must stay within the check-in window
// (checkin_before + checkin_after; package roomdrv).
const (
	roomCheckinBefore = 2 * time.Second
	roomCheckinAfter  = 3 * time.Second
	roomHold          = 2 * time.Second
)

// startRoom builds the meeting room's driver: a PIR on GPIO23 and LEDs on
// GPIO16/20/21 of a simulated board (real time), its state file in dir, its
// panel reached through send once the gateway runs. It returns the PIR's pin
// for the demo to wave at.
func startRoom(dir string, send *daemon.Sender, log zerolog.Logger) (*roomdrv.Driver, *gpiosim.Pin, error) {
	section := fmt.Sprintf(`state_file = %q
name = "Aurora"
panel = %q
checkin_before = %q
checkin_after = %q
pir_pin = "GPIO23"
hold = %q
warmup = "0s"
led_green = "GPIO16"
led_yellow = "GPIO20"
led_red = "GPIO21"
tick = "1s"
`, filepath.Join(dir, Room+".json"), Panel, roomCheckinBefore, roomCheckinAfter, roomHold)
	board := gpiosim.NewBoard(nil)
	pir, _ := board.Pin("GPIO23")
	hook := func(ctx context.Context, name string, args map[string]any) error {
		res, err := send.Send(ctx, Panel, devices.Command{Name: name, Args: args})
		if err == nil && res.Status != devices.StatusOK {
			err = fmt.Errorf("panel %q answered %s to %s: %s", Panel, res.Status, name, res.Error)
		}
		return err
	}
	d, err := roomdrv.NewWith(Room, devices.Options{Config: tomlSection(section), Log: log},
		roomdrv.With{Opener: board.Open, Panel: hook})
	if err != nil {
		return nil, nil, err
	}
	return d, pir, nil
}

// roomMorning is the script in the meeting room: the booking system pushes
// two bookings starting within seconds; for the first, someone presses
// check-in on the panel and walks in (the PIR sees them, then the room goes
// quiet); nobody comes for the second, so the room suggests releasing it.
func roomMorning(ctx context.Context, booking *service, panel *fwemu.PTYDevice, pir *gpiosim.Pin, say func(string, ...any)) error {
	base := time.Now().Truncate(time.Second).Add(time.Second)
	at := func(s int) time.Time { return base.Add(time.Duration(s) * time.Second) }
	bookings := []map[string]any{
		{"id": "bk-standup", "start": at(4).Format(time.RFC3339), "end": at(9).Format(time.RFC3339),
			"organizer": "Li Na", "title": "Stand-up"},
		// Its check-in window opens about two seconds after the PIR has
		// gone vacant, so the stand-up's motion is no presence in it.
		{"id": "bk-review", "start": at(10).Format(time.RFC3339), "end": at(40).Format(time.RFC3339),
			"organizer": "Daniel Weber", "title": "Design review"},
	}
	m := booking.mark()
	if _, err := booking.command(ctx, Room, "room.schedule_set", map[string]any{"version": 1, "bookings": bookings}); err != nil {
		return err
	}
	say("booking system: %s stand-up %s–%s, design review %s–%s", Room,
		at(4).Format("15:04:05"), at(9).Format("15:04:05"), at(10).Format("15:04:05"), at(40).Format("15:04:05"))

	if err := pauseUntil(ctx, at(3)); err != nil {
		return err
	}
	say("someone presses check-in on %s", Panel)
	if _, err := panel.Emu.Emit(fwemu.PanelEventButton, fwemu.PanelButton(1)); err != nil {
		return err
	}
	if _, err := booking.event(ctx, m, Room, "room.checkin", nil); err != nil {
		return err
	}
	// The team walks in: the PIR's output is active for half a second, and
	// the room stays occupied for the hold after it. The panel's own
	// sensor sees them too (PROTOCOL.md §9.4), and reports the room empty
	// after the same hold.
	pir.Drive(gpio.High)
	if _, err := panel.Emu.Emit(fwemu.PanelEventOccupancy, fwemu.PanelOccupancy(true)); err != nil {
		return err
	}
	if err := pause(ctx, 500*time.Millisecond); err != nil {
		return err
	}
	pir.Drive(gpio.Low)
	if err := pause(ctx, roomHold); err != nil { // the panel's sensor has the PIR's hold
		return err
	}
	if _, err := panel.Emu.Emit(fwemu.PanelEventOccupancy, fwemu.PanelOccupancy(false)); err != nil {
		return err
	}
	say("nobody comes for the design review: its check-in window closes at %s",
		at(10).Add(roomCheckinAfter).Format("15:04:05"))
	_, err := booking.event(ctx, m, Room, "room.release_suggested", nil)
	return err
}

func pauseUntil(ctx context.Context, t time.Time) error { return pause(ctx, time.Until(t)) }

// watchPanel prints what the emulated panel shows whenever it changes,
// until ctx ends: the room driver's lines, sent through the gateway.
func watchPanel(ctx context.Context, panel *fwemu.PTYDevice, out io.Writer) {
	var last string
	t := time.NewTicker(100 * time.Millisecond) // a person glancing at the panel
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p := panel.Emu.Panel()
		if p.Line == "" && p.LED == "" {
			continue
		}
		now := fmt.Sprintf("%-9s %s", p.LED, p.Line)
		if now != last {
			fmt.Fprintf(out, "%s  PANEL  %-16s shows %s\n", time.Now().Format("15:04:05.000"), panel.ID, now)
			last = now
		}
	}
}
