package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/gateway/intake"
	"github.com/officegate/officegate/provisioning/rollout"
)

// Busier is a driver that can say a device it works with must not be
// disturbed now (a room's panel during a meeting, a kiosk's panel while a
// visitor checks in): firmware rollouts wait for it.
type Busier interface {
	Busy(device string) (busy bool, reason string)
}

// startRollouts makes the firmware rollout orchestrator on StateDir/rollouts
// and resumes what the previous process left unfinished. Every device's phase
// change is journaled as a device.firmware event on that device (MQTT.md),
// through a buffer: Progress must not block.
func startRollouts(o Options, links *linkSet, drivers map[string]devices.Driver, in *intake.Intake,
	log zerolog.Logger, spawn func(func(context.Context))) (*rollout.Orchestrator, error) {
	p := o.Provisioning
	if err := os.MkdirAll(firmwareImages(o).Dir, 0o750); err != nil {
		return nil, fmt.Errorf("daemon: firmware directory: %w", err)
	}
	events := make(chan rollout.Event, 1024)
	busy := func(id string) (bool, string) {
		for _, d := range drivers {
			if b, ok := d.(Busier); ok {
				if yes, why := b.Busy(id); yes {
					return true, why
				}
			}
		}
		return false, ""
	}
	orch, err := rollout.New(rollout.Config{
		Dir: filepath.Join(o.StateDir, "rollouts"), PublicKey: p.FirmwareKey,
		Fleet: rollout.FleetFunc(func(id string) (rollout.Device, error) {
			lg := links.byDevice(id)
			if lg == nil {
				return nil, fmt.Errorf("device %q has no link on this gateway", id)
			}
			return rollout.Link(lg), nil
		}),
		Busy: busy, Probation: p.Probation, BootTimeout: p.BootTimeout,
		Progress: func(e rollout.Event) {
			select {
			case events <- e:
			default:
				log.Warn().Str("rollout", e.Rollout).Str("device", e.Device).Msg("rollout progress dropped: too many at once")
			}
		},
		Logf: func(f string, a ...any) { log.Warn().Msgf(f, a...) },
	})
	if err != nil {
		return nil, fmt.Errorf("daemon: firmware rollouts: %w", err)
	}
	spawn(func(ctx context.Context) {
		for {
			select {
			case <-ctx.Done():
				return
			case e := <-events:
				if e.Device == "" {
					ev := log.Info().Str("rollout", e.Rollout).Str("state", string(e.State)).Str("reason", e.Reason)
					if s := e.Summary; s != nil {
						ev = ev.Interface("summary", s)
					}
					ev.Msg("firmware rollout")
					continue
				}
				data := map[string]any{"rollout": e.Rollout, "phase": string(e.Phase)}
				if e.Total > 0 {
					data["bytes"], data["total"] = e.Sent, e.Total
				}
				if e.Reason != "" {
					data["reason"] = truncate(e.Reason, 256)
				}
				if err := in.Note(ctx, e.Device, "device.firmware", data); err != nil && ctx.Err() == nil {
					log.Warn().Err(err).Msg("could not journal rollout progress")
				}
			}
		}
	})
	if _, err := orch.Resume(); err != nil {
		orch.Close()
		return nil, fmt.Errorf("daemon: resuming firmware rollouts: %w", err)
	}
	return orch, nil
}

// firmwareImages is where rollouts take their images from.
func firmwareImages(o Options) rollout.Images {
	im := rollout.Images{Dir: o.Provisioning.FirmwareDir, MaxBytes: o.Provisioning.FirmwareMaxSize}
	if im.Dir == "" {
		im.Dir = filepath.Join(o.StateDir, "firmware")
	}
	return im
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
