package zk4370

import (
	"context"
	"strings"
	"testing"

	"github.com/officegate/officegate/devices"
)

// TestCommandArgsUnchecked: the command code after terminal.CheckCommand,
// called with args that never went through it, answers an error naming the
// arg instead of panicking the gateway.
func TestCommandArgsUnchecked(t *testing.T) {
	o := DefaultOptions()
	o.Address = "127.0.0.1:4370" // never dialled: the driver is not run
	d, err := NewDriver("t0", o, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	good := map[string]any{"since_ms": uint64(1), "until_ms": uint64(0), "limit": uint64(10)}
	with := func(base map[string]any, k string, v any) map[string]any {
		m := map[string]any{}
		for bk, bv := range base {
			m[bk] = bv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		cmd, arg string
		args     map[string]any
	}{
		{"attendance.fetch", "since_ms", with(good, "since_ms", "2026-12-01T09:00:00Z")},
		{"attendance.fetch", "since_ms", with(good, "since_ms", nil)},
		{"attendance.fetch", "until_ms", with(good, "until_ms", int64(5))},
		{"attendance.fetch", "until_ms", with(good, "until_ms", nil)},
		{"attendance.fetch", "limit", with(good, "limit", float64(10))},
		{"attendance.fetch", "limit", with(good, "limit", uint64(0))},
		{"attendance.fetch", "since_ms", nil},
		{"user.delete", "user", map[string]any{"user": 10042}},
		{"user.delete", "user", map[string]any{}},
		{"user.upsert", "user", map[string]any{"user": []byte("1")}},
		{"user.upsert", "name", map[string]any{"user": "1", "name": 7}},
		{"user.upsert", "card", map[string]any{"user": "1", "card": uint64(12345)}},
		{"user.upsert", "role", map[string]any{"user": "1", "role": true}},
		{"user.upsert", "enabled", map[string]any{"user": "1", "enabled": "no"}},
	} {
		t.Run(tc.cmd+"/"+tc.arg, func(t *testing.T) {
			var res devices.Result
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("%s with %v panicked: %v", tc.cmd, tc.args, p)
					}
				}()
				if tc.cmd == "attendance.fetch" {
					res = d.fetch(context.Background(), tc.args)
				} else {
					res = d.writeUser(tc.cmd, tc.args)
				}
			}()
			if res.Status != devices.StatusError || !strings.Contains(res.Error, tc.cmd) || !strings.Contains(res.Error, tc.arg) {
				t.Errorf("%s with %v: %+v, want an error naming %s and %q", tc.cmd, tc.args, res, tc.cmd, tc.arg)
			}
		})
	}
}
