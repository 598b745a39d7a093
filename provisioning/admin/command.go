package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/provisioning"
)

// command is one gateway command (doc.go, "MQTT gateway commands").
type command struct {
	args []string // the keys it accepts
	run  func(ctx context.Context, a args) (any, error)
}

func (s *Service) commands() map[string]command {
	dev := func(f func(string) (Device, error)) command {
		return command{[]string{"device"}, func(_ context.Context, a args) (any, error) {
			id := a.str("device", true)
			if a.err != nil {
				return nil, a.err
			}
			return wrapDevice(f(id))
		}}
	}
	cmds := map[string]command{
		"devices.list": {nil, func(context.Context, args) (any, error) { return s.List(), nil }},
		"device.show":  dev(s.Show),
		"device.approve": {[]string{"hardware_id", "device", "name", "room", "profile"}, func(_ context.Context, a args) (any, error) {
			hw, id, name, room, prof := a.str("hardware_id", true), a.str("device", true), a.str("name", false), a.str("room", false), a.str("profile", false)
			if a.err != nil {
				return nil, a.err
			}
			return wrapDevice(s.Approve(hw, id, name, room, prof))
		}},
		"device.rename": {[]string{"device", "name"}, func(_ context.Context, a args) (any, error) {
			id, name := a.str("device", true), a.str("name", true)
			if a.err != nil {
				return nil, a.err
			}
			return wrapDevice(s.Rename(id, name))
		}},
		"device.disable": dev(s.Disable),
		"device.enable":  dev(s.Enable),
		"device.retire":  dev(s.Retire),
		"device.replace": {[]string{"device", "hardware_id"}, func(_ context.Context, a args) (any, error) {
			id, hw := a.str("device", true), a.str("hardware_id", true)
			if a.err != nil {
				return nil, a.err
			}
			return wrapDevice(s.Replace(id, hw))
		}},
		"devices.import": {[]string{"csv"}, func(_ context.Context, a args) (any, error) {
			csv := a.str("csv", true)
			if a.err != nil {
				return nil, a.err
			}
			return s.Import([]byte(csv))
		}},
		"enroll.open": {[]string{"for", "rule"}, func(_ context.Context, a args) (any, error) {
			d, r := a.duration("for"), a.rule("rule")
			if a.err != nil {
				return nil, a.err
			}
			return s.Enroll(d, []Rule{r})
		}},
		"enroll.close": {nil, func(context.Context, args) (any, error) { return struct{}{}, s.EnrollClose() }},
		"config.push": {[]string{"profile"}, func(ctx context.Context, a args) (any, error) {
			p := a.str("profile", true)
			if a.err != nil {
				return nil, a.err
			}
			return s.ConfigPush(ctx, p)
		}},
	}
	if s.rollouts != nil {
		cmds["firmware.rollout"] = command{[]string{"firmware", "version", "devices", "canary", "parallel"}, func(_ context.Context, a args) (any, error) {
			req := RolloutRequest{Image: a.str("firmware", true), Version: a.str("version", true), Devices: a.strs("devices"),
				Canary: a.count("canary"), Parallel: a.count("parallel")}
			if a.err != nil {
				return nil, a.err
			}
			return s.FirmwareRollout(req)
		}}
		cmds["firmware.status"] = command{[]string{"rollout"}, func(_ context.Context, a args) (any, error) {
			id := a.str("rollout", false)
			if a.err != nil {
				return nil, a.err
			}
			if id == "" {
				recs, err := s.FirmwareRollouts()
				return map[string]any{"rollouts": recs}, err
			}
			return s.FirmwareStatus(id)
		}}
	}
	return cmds
}

// wrapDevice puts a device under "device" in the result data.
func wrapDevice(d Device, err error) (any, error) {
	return map[string]any{"device": d}, err
}

// Commands returns the gateway command names the service answers, sorted.
func (s *Service) Commands() []string {
	var names []string
	for n := range s.commands() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Command executes the gateway command name (from
// {root}/{gw}/commands/{name}) with args and returns the result's status
// (devices.StatusOK, StatusError or StatusUnsupported), its error text and
// its data. Unknown argument keys are refused, naming them, before anything
// is done.
func (s *Service) Command(ctx context.Context, name string, argv map[string]any) (status, errText string, data map[string]any) {
	c, ok := s.commands()[name]
	if !ok {
		return devices.StatusUnsupported, fmt.Sprintf("the gateway has no command %q", name), map[string]any{}
	}
	var unknown []string
	for k := range argv {
		if !slices.Contains(c.args, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return devices.StatusError, fmt.Sprintf("%s: unknown argument %q (accepted: %v)", name, unknown[0], c.args), map[string]any{}
	}
	out, err := c.run(ctx, args{m: argv})
	if err != nil {
		data = map[string]any{}
		if r, ok := out.(ImportResult); ok && len(r.Problems) > 0 {
			data = toMap(map[string]any{"problems": r.Problems}) // a rejected manifest: the problems are the answer
		}
		return devices.StatusError, err.Error(), data
	}
	return devices.StatusOK, "", toMap(out)
}

// toMap turns a result into the JSON object the result's data is.
func toMap(v any) map[string]any {
	m := map[string]any{}
	if v == nil {
		return m
	}
	b, err := json.Marshal(v)
	if err == nil {
		json.Unmarshal(b, &m)
	}
	return m
}

// args reads command arguments, keeping the first error.
type args struct {
	m   map[string]any
	err error
}

func (a *args) fail(format string, v ...any) {
	if a.err == nil {
		a.err = fmt.Errorf("%w: "+format, append([]any{provisioning.ErrInvalid}, v...)...)
	}
}

func (a *args) str(key string, required bool) string {
	v, ok := a.m[key]
	if !ok || v == nil {
		if required {
			a.fail("argument %q is required", key)
		}
		return ""
	}
	s, ok := v.(string)
	if !ok {
		a.fail("argument %q must be a string, not %T", key, v)
		return ""
	}
	if required && s == "" {
		a.fail("argument %q is empty", key)
	}
	return s
}

// duration reads a Go duration string ("10m") or a number of seconds.
func (a *args) duration(key string) time.Duration {
	switch v := a.m[key].(type) {
	case string:
		d, err := time.ParseDuration(v)
		if err != nil {
			a.fail("argument %q: %q is not a duration such as \"10m\"", key, v)
		}
		return d
	case float64:
		return time.Duration(v * float64(time.Second))
	case nil:
		a.fail("argument %q is required", key)
	default:
		a.fail("argument %q must be a duration such as \"10m\" or a number of seconds, not %T", key, v)
	}
	return 0
}

// strs reads a non-empty list of non-empty strings.
func (a *args) strs(key string) []string {
	v, ok := a.m[key].([]any)
	if !ok || len(v) == 0 {
		a.fail("argument %q must be a non-empty list of strings", key)
		return nil
	}
	out := make([]string, len(v))
	for i, x := range v {
		s, ok := x.(string)
		if !ok || s == "" {
			a.fail("argument %q: element %d must be a non-empty string", key, i+1)
			return nil
		}
		out[i] = s
	}
	return out
}

// count reads an optional whole number ≥ 0 (0 when absent).
func (a *args) count(key string) int {
	v, ok := a.m[key]
	if !ok || v == nil {
		return 0
	}
	f, ok := v.(float64)
	if !ok || f < 0 || f != float64(int(f)) || f > 1000 {
		a.fail("argument %q must be a whole number from 0 to 1000, not %v", key, v)
		return 0
	}
	return int(f)
}

var ruleKeys = []string{"kind", "model", "hardware_id", "port", "name", "room", "profile"}

// rule reads an object with ruleKeys, refusing any other key.
func (a *args) rule(key string) Rule {
	v, ok := a.m[key]
	if !ok || v == nil {
		a.fail("argument %q is required", key)
		return Rule{}
	}
	m, ok := v.(map[string]any)
	if !ok {
		a.fail("argument %q must be an object, not %T", key, v)
		return Rule{}
	}
	var unknown []string
	for k := range m {
		if !slices.Contains(ruleKeys, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		a.fail("argument %q: unknown key %q (accepted: %v)", key, unknown[0], ruleKeys)
		return Rule{}
	}
	r := args{m: m}
	rule := Rule{Kind: r.str("kind", false), Model: r.str("model", false), HardwareID: r.str("hardware_id", false),
		Port: r.str("port", false), Name: r.str("name", false), Room: r.str("room", false), Profile: r.str("profile", false)}
	if r.err != nil {
		a.fail("argument %q: %v", key, r.err)
	}
	return rule
}
