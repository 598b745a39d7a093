package devices_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/devices"
)

// button is the smallest driver the contract allows, with both optional
// abilities: it shows (and the compiler checks) what a driver has to write.
type button struct {
	id, kind string
	events   []devices.Event
}

var (
	_ devices.Driver    = (*button)(nil)
	_ devices.Commander = (*button)(nil)
	_ devices.Statuser  = (*button)(nil)
	_ devices.Sink      = devices.SinkFunc(nil)
)

func (b *button) Run(ctx context.Context, sink devices.Sink) error {
	for _, e := range b.events {
		for {
			err := sink.Emit(ctx, e)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return nil // cancelled: not an error
			}
			if !errors.Is(err, devices.ErrBusy) {
				return err
			}
			// Busy: keep the event and try again.
		}
	}
	<-ctx.Done()
	return nil
}

func (b *button) Describe() devices.Description {
	return devices.Description{ID: b.id, Kind: b.kind, Model: "test", Commands: []string{"led.set"}}
}

func (b *button) Handle(_ context.Context, c devices.Command) devices.Result {
	if c.Name != "led.set" {
		return devices.Unsupported(c)
	}
	return devices.OK(nil)
}

func (b *button) Status() devices.Status {
	return devices.Status{Online: true, Clock: devices.ClockUnknown, Counters: map[string]uint64{"events_lost": 0}}
}

func TestDriverKeepsEventWhileSinkIsBusy(t *testing.T) {
	e := devices.Event{Device: "b1", Type: "button.press", Time: time.Unix(1, 0), Clock: devices.ClockSynced}
	b := &button{id: "b1", kind: "button", events: []devices.Event{e}}
	var got []devices.Event
	busy := 3
	ctx, cancel := context.WithCancel(context.Background())
	sink := devices.SinkFunc(func(_ context.Context, e devices.Event) error {
		if busy > 0 {
			busy--
			return errors.New("journal: disk full: " + devices.ErrBusy.Error())
		}
		got = append(got, e)
		cancel()
		return nil
	})
	// The first error does not wrap ErrBusy: the driver must give up.
	if err := b.Run(ctx, sink); err == nil {
		t.Fatal("Run returned nil after a non-busy error")
	}
	busy = 3
	sink = devices.SinkFunc(func(_ context.Context, e devices.Event) error {
		if busy > 0 {
			busy--
			return errors.Join(errors.New("journal: disk full"), devices.ErrBusy)
		}
		got = append(got, e)
		cancel()
		return nil
	})
	if err := b.Run(ctx, sink); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(got) != 1 || busy != 0 {
		t.Fatalf("got %d events after %d busy answers left", len(got), busy)
	}
}

func TestEventCheck(t *testing.T) {
	good := devices.Event{
		Device: "t1", Type: "attendance.punch", Time: time.Date(2026, 11, 24, 9, 1, 2, 0, time.FixedZone("", 8*3600)),
		TimeRaw: "2026-11-24 09:01:02", Clock: devices.ClockSynced,
		Data:   map[string]any{"person": "1042", "credential": "card"},
		Source: devices.EventSource{HardwareID: "ZK-1", Boot: 3, Seq: 17},
	}
	if err := good.Check(); err != nil {
		t.Fatalf("good event: %v", err)
	}
	gpio := good
	gpio.Source = devices.EventSource{}
	if !gpio.Source.IsZero() || gpio.Check() != nil {
		t.Fatalf("gateway-originated event refused: %v", gpio.Check())
	}
	for _, tc := range []struct {
		name   string
		change func(*devices.Event)
		want   string
	}{
		{"no device", func(e *devices.Event) { e.Device = "" }, "no device id"},
		{"no type", func(e *devices.Event) { e.Type = "" }, `event type ""`},
		{"topic wildcard", func(e *devices.Event) { e.Type = "punch/#" }, `byte 0x2f at 5`},
		{"upper case", func(e *devices.Event) { e.Type = "Punch" }, `"Punch"`},
		{"long type", func(e *devices.Event) { e.Type = strings.Repeat("a", 65) }, "65 bytes"},
		{"no time", func(e *devices.Event) { e.Time = time.Time{} }, "no time"},
		{"clock", func(e *devices.Event) { e.Clock = "ntp" }, `clock state "ntp"`},
		{"source", func(e *devices.Event) { e.Source.HardwareID = "" }, "no hardware id"},
		{"photo", func(e *devices.Event) { e.Data = map[string]any{"photo": "…"} }, `key "photo"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := good
			tc.change(&e)
			err := e.Check()
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "devices: ") {
				t.Fatalf("Check() = %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

func TestCommandExpired(t *testing.T) {
	now := time.Unix(1000, 0)
	if (devices.Command{}).Expired(now) {
		t.Error("a command without a deadline expired")
	}
	if !(devices.Command{Deadline: now}).Expired(now) {
		t.Error("a command is still valid at its deadline")
	}
	if (devices.Command{Deadline: now.Add(time.Second)}).Expired(now) {
		t.Error("a command expired before its deadline")
	}
}

func TestResults(t *testing.T) {
	b := &button{id: "b", kind: "button"}
	if r := b.Handle(context.Background(), devices.Command{ID: "1", Name: "door.pulse"}); r.Status != devices.StatusUnsupported || !strings.Contains(r.Error, `"door.pulse"`) {
		t.Errorf("unsupported: %+v", r)
	}
	if r := devices.Failed(errors.New("relay: stuck")); r.Status != devices.StatusError || r.Error != "relay: stuck" {
		t.Errorf("failed: %+v", r)
	}
	if r := devices.Failed(nil); r.Status != devices.StatusError || r.Error == "" {
		t.Errorf("failed(nil): %+v", r)
	}
	if r := devices.OK(map[string]any{"n": 1}); r.Status != devices.StatusOK || r.Data["n"] != 1 {
		t.Errorf("ok: %+v", r)
	}
}
