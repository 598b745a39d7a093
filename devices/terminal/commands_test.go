package terminal

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/officegate/officegate/devices"
)

func TestCommandsSorted(t *testing.T) {
	if !slices.IsSorted(Commands) || len(Commands) != 4 || slices.Contains(Commands, "time.set") {
		t.Fatalf("Commands = %v", Commands)
	}
	for _, c := range Commands {
		if n := LinkName(c); strings.Trim(n, "abcdefghijklmnopqrstuvwxyz0123456789_-") != "" || len(n) > 32 {
			t.Errorf("LinkName(%q) = %q, not a link command name", c, n)
		}
	}
	if LinkName("user.upsert") != "user_upsert" {
		t.Errorf("LinkName(user.upsert) = %q", LinkName("user.upsert"))
	}
}

// checkCases are valid args and their normalised form (printed with %v,
// which sorts map keys). They also seed FuzzCheckCommand.
var checkCases = []struct {
	name string
	args map[string]any
	want string
}{
	{"user.upsert", map[string]any{"user": "10042"},
		"map[enabled:true role:user user:10042]"},
	{"user.upsert", map[string]any{"user": "a_B-9", "name": "Zoë 王", "card": "12:34567", "role": "admin", "enabled": false},
		"map[card:12:34567 enabled:false name:Zoë 王 role:admin user:a_B-9]"},
	{"user.upsert", map[string]any{"user": strings.Repeat("x", 64), "name": strings.Repeat("é", 64), "card": "00123"},
		"map[card:00123 enabled:true name:" + strings.Repeat("é", 64) + " role:user user:" + strings.Repeat("x", 64) + "]"},
	{"user.delete", map[string]any{"user": "10042"}, "map[user:10042]"},
	{"door.pulse", nil, "map[ms:3000]"},
	{"door.pulse", map[string]any{"duration_ms": int64(100)}, "map[ms:100]"},
	{"door.pulse", map[string]any{"duration_ms": float64(10000)}, "map[ms:10000]"},
	{"attendance.fetch", map[string]any{"since": "2026-11-24T09:00:00+08:00"},
		"map[limit:500 since_ms:1795482000000 until_ms:0]"},
	{"attendance.fetch", map[string]any{"since": "2026-11-24T01:00:00Z", "until": "2026-11-24T01:00:00.001Z", "limit": int64(5000)},
		"map[limit:5000 since_ms:1795482000000 until_ms:1795482000001]"},
	{"attendance.fetch", map[string]any{"since": "1970-01-01T00:00:00Z", "limit": int64(1)},
		"map[limit:1 since_ms:0 until_ms:0]"},
}

func TestCheckCommandValid(t *testing.T) {
	for _, tc := range checkCases {
		got, err := CheckCommand(tc.name, tc.args)
		if err != nil || fmt.Sprint(got) != tc.want {
			t.Errorf("CheckCommand(%s, %v) = %v, %v\n want %s", tc.name, tc.args, got, err, tc.want)
			continue
		}
		checkWire(t, got)
	}
}

// checkWire asserts that out holds only what CBOR carries plainly.
func checkWire(t *testing.T, out map[string]any) {
	t.Helper()
	for k, v := range out {
		switch v.(type) {
		case string, bool, uint64, int64:
		default:
			t.Fatalf("out[%q] = %v (%T): not a CBOR-friendly scalar", k, v, v)
		}
	}
	if err := devices.CheckData(out); err != nil {
		t.Fatalf("output %v: %v", out, err)
	}
}

func TestCheckCommandInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		args map[string]any
		want string // in the error text
	}{
		{"user.upsert", nil, `"user" = missing: required`},
		{"user.upsert", map[string]any{"user": ""}, `"user" = ""`},
		{"user.upsert", map[string]any{"user": strings.Repeat("x", 65)}, `"user"`},
		{"user.upsert", map[string]any{"user": "a b"}, `"user" = "a b"`},
		{"user.upsert", map[string]any{"user": "ü"}, `"user"`},
		{"user.upsert", map[string]any{"user": int64(10042)}, `"user" = 10042 (int64): want a string`},
		{"user.upsert", map[string]any{"user": "1", "name": strings.Repeat("é", 65)}, `"name"`},
		{"user.upsert", map[string]any{"user": "1", "name": "\xff"}, `"name" = "\xff"`},
		{"user.upsert", map[string]any{"user": "1", "name": "a\nb"}, `"name"`},
		{"user.upsert", map[string]any{"user": "1", "name": true}, `"name" = true (bool)`},
		{"user.upsert", map[string]any{"user": "1", "card": ""}, `"card"`},
		{"user.upsert", map[string]any{"user": "1", "card": "12a"}, `"card" = "12a"`},
		{"user.upsert", map[string]any{"user": "1", "card": "1:2:3"}, `"card"`},
		{"user.upsert", map[string]any{"user": "1", "card": ":5"}, `"card"`},
		{"user.upsert", map[string]any{"user": "1", "card": "-5"}, `"card"`},
		{"user.upsert", map[string]any{"user": "1", "card": strings.Repeat("1", 21)}, `"card"`},
		{"user.upsert", map[string]any{"user": "1", "card": int64(5)}, `"card" = 5 (int64)`},
		{"user.upsert", map[string]any{"user": "1", "role": "root"}, `"role" = "root"`},
		{"user.upsert", map[string]any{"user": "1", "enabled": "yes"}, `"enabled" = "yes"`},
		{"user.upsert", map[string]any{"user": "1", "dept": "HR"}, `unknown arg "dept"`},
		{"user.upsert", map[string]any{"user": "1", "pin": "1234"}, `"pin" refused: PINs`},
		{"user.upsert", map[string]any{"user": "1", "Password": "x"}, `"Password" refused`},
		{"user.delete", nil, `"user" = missing`},
		{"user.delete", map[string]any{"user": "1", "role": "user"}, `unknown arg "role"`},
		{"door.pulse", map[string]any{"duration_ms": int64(99)}, `"duration_ms" = 99 (int64): want an integer in 100..10000`},
		{"door.pulse", map[string]any{"duration_ms": int64(10001)}, `"duration_ms"`},
		{"door.pulse", map[string]any{"duration_ms": float64(3000.5)}, `"duration_ms" = 3000.5 (float64)`},
		{"door.pulse", map[string]any{"duration_ms": "3000"}, `"duration_ms" = "3000"`},
		{"door.pulse", map[string]any{"duration_ms": int64(-1)}, `"duration_ms"`},
		{"door.pulse", map[string]any{"ms": int64(3000)}, `unknown arg "ms"`},
		{"attendance.fetch", nil, `"since" = missing: required`},
		{"attendance.fetch", map[string]any{"since": "2026-11-24T09:00:00"}, `"since" = "2026-11-24T09:00:00"`},
		{"attendance.fetch", map[string]any{"since": "2026-11-24"}, `"since"`},
		{"attendance.fetch", map[string]any{"since": "1969-12-31T23:59:59Z"}, `"since"`},
		{"attendance.fetch", map[string]any{"since": int64(1795482000000)}, `"since" = 1795482000000 (int64)`},
		{"attendance.fetch", map[string]any{"since": "2026-11-24T01:00:00Z", "until": "2026-11-24T01:00:00Z"}, `"until" = "2026-11-24T01:00:00Z": must be after since`},
		{"attendance.fetch", map[string]any{"since": "2026-11-24T01:00:00Z", "until": "2026-11-24T09:00:00+08:00"}, `must be after since`},
		{"attendance.fetch", map[string]any{"since": "2026-11-24T01:00:00Z", "until": "soon"}, `"until" = "soon"`},
		{"attendance.fetch", map[string]any{"since": "2026-11-24T01:00:00Z", "limit": int64(0)}, `"limit" = 0`},
		{"attendance.fetch", map[string]any{"since": "2026-11-24T01:00:00Z", "limit": int64(5001)}, `"limit"`},
		{"attendance.fetch", map[string]any{"since": "2026-11-24T01:00:00Z", "clear": true}, `unknown arg "clear"`},
	} {
		got, err := CheckCommand(tc.name, tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CheckCommand(%s, %v) = %v, %v\n want an error with %s", tc.name, tc.args, got, err, tc.want)
		}
		if errors.Is(err, ErrBiometric) || errors.Is(err, ErrUnknownCommand) {
			t.Errorf("CheckCommand(%s, %v): %v is not a plain args error", tc.name, tc.args, err)
		}
	}
}

func TestCheckCommandUnknown(t *testing.T) {
	for _, name := range []string{"", "time.set", "USER.UPSERT", "user.upsert ", "door.open"} {
		_, err := CheckCommand(name, map[string]any{"user": "1"})
		if !errors.Is(err, ErrUnknownCommand) || !strings.Contains(err.Error(), fmt.Sprintf("%q", name)) {
			t.Errorf("CheckCommand(%q) = %v, want ErrUnknownCommand naming it", name, err)
		}
	}
}

func TestCheckCommandBiometric(t *testing.T) {
	for _, tc := range []struct {
		name string
		args map[string]any
		keys string // named in the error, in this order
	}{
		{"user.upsert", map[string]any{"user": "1", "face_template": "AAAA"}, "face_template"},
		{"user.upsert", map[string]any{"user": "1", "fingerprint": "AAAA"}, "fingerprint"},
		{"user.upsert", map[string]any{"user": "1", "fp": []any{"a"}}, "fp"},
		{"user.upsert", map[string]any{"user": "1", "photo": "data:image/jpeg;base64,AAAA"}, "photo"},
		{"user.upsert", map[string]any{"user": "1", "faceData": "x"}, "faceData"},
		{"user.upsert", map[string]any{"user": "1", "palm": "x", "Templates": []any{"a"}}, "Templates, palm"},
		{"user.upsert", map[string]any{"user": "1", "extra": map[string]any{"finger_image": "x"}}, "extra.finger_image"},
		// Refused even with a fault elsewhere, and on every command.
		{"user.upsert", map[string]any{"face": "x"}, "face"},
		{"user.delete", map[string]any{"user": "1", "iris": "x"}, "iris"},
		{"door.pulse", map[string]any{"picture": "x"}, "picture"},
		{"attendance.fetch", map[string]any{"since": "2026-11-24T01:00:00Z", "biometrics": true}, "biometrics"},
	} {
		_, err := CheckCommand(tc.name, tc.args)
		if !errors.Is(err, ErrBiometric) || !errors.Is(err, devices.ErrBiometric) || !strings.Contains(err.Error(), tc.name+": "+tc.keys+" (") {
			t.Errorf("CheckCommand(%s, %v) = %v, want ErrBiometric naming %s", tc.name, tc.args, err, tc.keys)
		}
	}
}

func FuzzCheckCommand(f *testing.F) {
	for _, tc := range checkCases {
		var k1, v1, k2 string
		var n int64
		for k, v := range tc.args {
			switch v := v.(type) {
			case string:
				if k1 == "" {
					k1, v1 = k, v
				}
			case int64:
				k2, n = k, v
			}
		}
		f.Add(tc.name, k1, v1, k2, n, "role", "admin", true)
	}
	f.Add("user.upsert", "user", "1", "face_template", int64(1), "pin", "1234", false)
	f.Fuzz(func(t *testing.T, name, k1, v1, k2 string, n int64, k3, v3 string, b bool) {
		args := map[string]any{k1: v1, k2: n, k3: v3}
		if b {
			args["enabled"] = b
			args["nested"] = map[string]any{k1: v1}
		}
		out, err := CheckCommand(name, args)
		if err != nil {
			return
		}
		checkWire(t, out)
		for k := range out {
			if isBiometricName(k) || isSecretKey(k) {
				t.Fatalf("CheckCommand(%q, %v) let %q through: %v", name, args, k, out)
			}
		}
		for k := range args {
			if isBiometricName(k) || isSecretKey(k) {
				t.Fatalf("CheckCommand(%q, %v) accepted args with %q", name, args, k)
			}
		}
	})
}

func TestResultData(t *testing.T) {
	got := ResultData("door.pulse", map[string]any{"ms": uint64(3000)})
	if fmt.Sprint(got) != "map[duration_ms:3000]" {
		t.Errorf("door.pulse result %v", got)
	}
	if got := ResultData("user.delete", map[string]any{"ms": 1}); fmt.Sprint(got) != "map[ms:1]" {
		t.Errorf("user.delete result rewritten: %v", got)
	}
}
