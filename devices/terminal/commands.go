package terminal

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

// Commands are the command names CheckCommand accepts, sorted. "time.set"
// is not among them: the gateway sets device clocks itself. Read-only.
var Commands = []string{"attendance.fetch", "door.pulse", "user.delete", "user.upsert"}

var (
	// ErrUnknownCommand is wrapped by CheckCommand's error for a name not
	// in Commands.
	ErrUnknownCommand = errors.New("terminal: unknown command")
	// ErrBiometric is wrapped by CheckCommand's error for args that hold
	// biometric material. It wraps devices.ErrBiometric, so callers that
	// test for either see it.
	ErrBiometric = fmt.Errorf("terminal: biometric args refused: %w", devices.ErrBiometric)
)

// Bounds of the args, with their reasons.
const (
	maxUserLen = 64 // ZKTeco user ids are at most 24 characters; 64 leaves room for other brands and matches the contract's person
	maxNameLen = 64 // runes; terminals show a name on a small display
	maxCardLen = 20 // digits of one card part: a uint64 in decimal
	minPulseMS = 100
	maxPulseMS = 10000 // a door held open longer is a propped door, not a pulse
	defPulseMS = 3000
	maxLimit   = 5000 // punches per fetch: replays go out as events, one frame each, and must not starve live punches
	defLimit   = 500
)

// LinkName is the name a terminal command has on the serial link
// (msg.CommandName: "user.upsert" → "user_upsert").
func LinkName(name string) string { return msg.CommandName(name) }

// CheckCommand validates the args of the terminal command name (decoded from
// JSON: integers as int64, other numbers as float64) and returns them
// normalised for the serial link: only strings, booleans and uint64, with
// defaults filled in. See the package doc for each command. The error is
// ErrUnknownCommand for a name not in Commands, ErrBiometric for biometric
// material, and otherwise names the command, the key and the bad value.
func CheckCommand(name string, args map[string]any) (map[string]any, error) {
	if _, ok := slices.BinarySearch(Commands, name); !ok {
		return nil, fmt.Errorf("%w %q (want one of %s)", ErrUnknownCommand, name, strings.Join(Commands, ", "))
	}
	if bio := biometricKeys(args); len(bio) > 0 {
		return nil, fmt.Errorf("%w: %s: %s (templates, photos and fingerprint or face data stay on the terminal)",
			ErrBiometric, name, strings.Join(bio, ", "))
	}
	for _, k := range sortedKeys(args) {
		if isSecretKey(k) {
			return nil, fmt.Errorf("terminal: %s: arg %q refused: PINs and passwords are not pushed through the gateway (enrol them on the terminal)", name, k)
		}
	}
	c := checker{name: name, args: args, out: map[string]any{}}
	switch name {
	case "user.upsert":
		c.user()
		if s, ok := c.optString("name"); ok {
			if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxNameLen || strings.ContainsFunc(s, unicode.IsControl) {
				c.fail("name", s, fmt.Sprintf("want valid UTF-8 text of at most %d characters, no control characters", maxNameLen))
			}
			c.out["name"] = s
		}
		if s, ok := c.optString("card"); ok {
			if !isCard(s) {
				c.fail("card", s, fmt.Sprintf("want decimal digits or \"facility:number\", each part 1–%d digits", maxCardLen))
			}
			c.out["card"] = s
		}
		role := "user"
		if s, ok := c.optString("role"); ok {
			if s != "user" && s != "admin" {
				c.fail("role", s, `want "user" or "admin"`)
			}
			role = s
		}
		c.out["role"] = role
		enabled := true
		if v, ok := c.args["enabled"]; ok {
			if b, isBool := v.(bool); isBool {
				enabled = b
			} else {
				c.fail("enabled", v, "want a boolean")
			}
		}
		c.out["enabled"] = enabled
		c.known("user", "name", "card", "role", "enabled")
	case "user.delete":
		c.user()
		c.known("user")
	case "door.pulse":
		c.out["ms"] = c.optInt("duration_ms", minPulseMS, maxPulseMS, defPulseMS)
		c.known("duration_ms")
	case "attendance.fetch":
		since, ok := c.optTime("since")
		if !ok && c.err == nil {
			c.fail("since", nil, "required: an RFC 3339 time with an offset")
		}
		c.out["since_ms"] = since
		until, ok := c.optTime("until")
		if ok && c.err == nil && until <= since {
			c.fail("until", c.args["until"], "must be after since")
		}
		c.out["until_ms"] = until // 0: no upper bound
		c.out["limit"] = c.optInt("limit", 1, maxLimit, defLimit)
		c.known("since", "until", "limit")
	}
	if c.err != nil {
		return nil, c.err
	}
	return c.out, nil
}

// checker collects the first fault of one command's args.
type checker struct {
	name string
	args map[string]any
	out  map[string]any
	err  error
}

func (c *checker) fail(key string, v any, want string) {
	if c.err == nil {
		c.err = fmt.Errorf("terminal: %s: arg %q = %s: %s", c.name, key, quote(v), want)
	}
}

// known fails on the first key, in sorted order, that is not listed.
func (c *checker) known(keys ...string) {
	for _, k := range sortedKeys(c.args) {
		if !slices.Contains(keys, k) && c.err == nil {
			c.err = fmt.Errorf("terminal: %s: unknown arg %q (want %s)", c.name, k, strings.Join(keys, ", "))
		}
	}
}

func (c *checker) user() {
	s, ok := c.optString("user")
	switch {
	case !ok:
		if _, present := c.args["user"]; !present {
			c.fail("user", nil, "required")
		}
	case !isUserID(s):
		c.fail("user", s, fmt.Sprintf("want 1–%d of A-Z, a-z, 0-9, '_' and '-'", maxUserLen))
	}
	c.out["user"] = s
}

// optString returns args[key] if it is present and a string; present
// with another type is a fault.
func (c *checker) optString(key string) (string, bool) {
	v, ok := c.args[key]
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		c.fail(key, v, "want a string")
	}
	return s, ok
}

// optInt returns args[key] as an integer in [lo, hi], or def if absent.
func (c *checker) optInt(key string, lo, hi, def uint64) uint64 {
	v, ok := c.args[key]
	if !ok {
		return def
	}
	n, ok := integer(v)
	if !ok || n < int64(lo) || n > int64(hi) {
		c.fail(key, v, fmt.Sprintf("want an integer in %d..%d", lo, hi))
		return def
	}
	return uint64(n)
}

// optTime returns args[key], an RFC 3339 time with an offset, in Unix
// milliseconds; a time before 1970 is a fault.
func (c *checker) optTime(key string) (uint64, bool) {
	s, ok := c.optString(key)
	if !ok {
		return 0, false
	}
	// time.RFC3339 requires the offset ("Z" or ±hh:mm): a terminal's local
	// time without a zone is what shifted clocks in the field.
	t, err := time.Parse(time.RFC3339, s)
	if err != nil || t.UnixMilli() < 0 {
		c.fail(key, s, "want an RFC 3339 time with an offset, after 1970, e.g. \"2026-11-24T09:00:00+08:00\"")
		return 0, false
	}
	return uint64(t.UnixMilli()), true
}

// integer accepts what a JSON decoder gives for an integer: int64, or a
// float64 with no fraction; uint64 and int for Go callers.
func integer(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	case float64:
		// 2^53: beyond it a float64 no longer holds every integer.
		if x == math.Trunc(x) && math.Abs(x) <= 1<<53 {
			return int64(x), true
		}
	}
	return 0, false
}

func isUserID(s string) bool {
	if len(s) == 0 || len(s) > maxUserLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '_' || b == '-') {
			return false
		}
	}
	return true
}

func isCard(s string) bool {
	parts := strings.Split(s, ":")
	if len(parts) > 2 {
		return false
	}
	for _, p := range parts {
		if len(p) == 0 || len(p) > maxCardLen || strings.ContainsFunc(p, func(r rune) bool { return r < '0' || r > '9' }) {
			return false
		}
	}
	return true
}

// biometricKeys lists, sorted, what devices.Redact would remove from args
// and the top-level keys that name fingerprint, face, palm, iris or vein
// data: a terminal's verify types, which as arg keys can only carry
// enrolment material.
func biometricKeys(args map[string]any) []string {
	_, bio := devices.Redact(args)
	for k := range args {
		if isBiometricName(k) && !slices.Contains(bio, k) {
			bio = append(bio, k)
		}
	}
	slices.Sort(bio)
	return bio
}

var fold = strings.NewReplacer("_", "", "-", "", " ", "", ".", "")

func isBiometricName(k string) bool {
	k = fold.Replace(strings.ToLower(k))
	for _, s := range []string{"finger", "face", "palm", "iris", "vein", "template", "photo", "image", "picture", "biometric"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return k == "fp"
}

func isSecretKey(k string) bool {
	switch fold.Replace(strings.ToLower(k)) {
	case "pin", "pincode", "pins", "password", "passwd", "pwd", "passcode", "secret":
		return true
	}
	return false
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// quote renders a bad value for an error: strings quoted and cut short,
// other values with their type so that "3000" and 3000 are told apart.
func quote(v any) string {
	switch x := v.(type) {
	case nil:
		return "missing"
	case string:
		if len(x) > 80 {
			x = x[:80] + "…"
		}
		return fmt.Sprintf("%q", x)
	}
	s := fmt.Sprintf("%v", v)
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return fmt.Sprintf("%s (%T)", s, v)
}

// ResultData maps a terminal's result data back to the MQTT contract's
// names: door.pulse's link "ms" is "duration_ms", as in its args.
func ResultData(name string, data map[string]any) map[string]any {
	if name != "door.pulse" || data == nil {
		return data
	}
	if ms, ok := data["ms"]; ok {
		out := make(map[string]any, len(data))
		for k, v := range data {
			out[k] = v
		}
		delete(out, "ms")
		out["duration_ms"] = ms
		return out
	}
	return data
}
