package admin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/officegate/officegate/provisioning"
)

// DeviceCommander runs one command on one device ("": the gateway itself)
// through the gateway's command table and routes (the daemon's;
// gateway/MQTT.md §6): the same checks and the same path as a command from
// MQTT, its result published on the results topic like one, and answered
// with the contract's result status (ok, error, expired, unsupported,
// busy).
type DeviceCommander interface {
	DeviceCommand(ctx context.Context, device, name string, args map[string]any) CommandResult
}

// CommandResult is a device's answer to a command.
type CommandResult struct {
	// ID is the command's id, under which its result is published on the
	// results topic (gateway/MQTT.md §7); "" if it never got one.
	ID     string         `json:"id,omitempty"`
	Status string         `json:"status"`
	Error  string         `json:"error,omitempty"`
	Data   map[string]any `json:"data,omitempty"`
}

// ErrNoCommands is DeviceCommand's answer when the service has no
// DeviceCommander (a service built without the daemon's routes).
var ErrNoCommands = errors.New("admin: device commands are not available here")

// CommandWait bounds a device command started by DeviceCommand: a person
// is waiting for the answer (a door pulse takes a few seconds at most).
const CommandWait = 20 * time.Second

// DeviceCommand runs command name on device ref (a device id, or the
// hardware id of an enrolled unit) and returns its result. The device must
// be known to the gateway; what it accepts is the gateway's command table.
// A failed command is a result (status error, expired, …), not an error:
// the error is for a request that never reached a device.
func (s *Service) DeviceCommand(ctx context.Context, ref, name string, args map[string]any) (CommandResult, error) {
	if s.devices == nil {
		return CommandResult{}, ErrNoCommands
	}
	if name == "" {
		return CommandResult{}, fmt.Errorf("%w: no command name", provisioning.ErrInvalid)
	}
	id := ref
	if d, err := s.reg.ByHardwareID(ref); err == nil && d.DeviceID != "" {
		id = d.DeviceID
	}
	ctx, cancel := context.WithTimeout(ctx, CommandWait)
	defer cancel()
	res := s.devices.DeviceCommand(ctx, id, name, args)
	s.log.Info().Str("device", id).Str("command", name).Str("id", res.ID).Str("status", res.Status).Msg("admin: device command")
	return res, nil
}

// GatewayCommand runs the gateway command name (gateway/MQTT.md §6.5) on
// the gateway's command path, as one received over MQTT runs: its result
// is published on the gateway's results topic, and returned. The web
// console pushes configuration so.
func (s *Service) GatewayCommand(ctx context.Context, name string, args map[string]any) (CommandResult, error) {
	if s.devices == nil {
		return CommandResult{}, ErrNoCommands
	}
	if name == "" {
		return CommandResult{}, fmt.Errorf("%w: no command name", provisioning.ErrInvalid)
	}
	ctx, cancel := context.WithTimeout(ctx, CommandWait)
	defer cancel()
	res := s.devices.DeviceCommand(ctx, "", name, args)
	s.log.Info().Str("command", name).Str("id", res.ID).Str("status", res.Status).Msg("admin: gateway command")
	return res, nil
}
