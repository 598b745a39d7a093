package terminal

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/officegate/officegate/devices"
)

// Credentials and states as the contract names them (gateway/MQTT.md §5.1).
var (
	credentials = map[string]string{
		"finger": "fingerprint", "fingerprint": "fingerprint", "fp": "fingerprint",
		"face": "face", "palm": "palm", "card": "card", "rfid": "card",
		"pin": "password", "password": "password", "pwd": "password", "qr": "qr",
	}
	// The ZKTeco in/out codes 0–5; the
	// numbers are what most terminals send, whatever their brand.
	stateCodes = []string{"in", "out", "break_out", "break_in", "overtime_in", "overtime_out"}
	stateNames = map[string]bool{"in": true, "out": true, "break_out": true, "break_in": true,
		"overtime_in": true, "overtime_out": true}
	// boxedNames holds each name above as an interface value made once: a
	// string put into a map[string]any is otherwise copied to the heap, for
	// every punch.
	boxedNames = func() map[string]any {
		m := map[string]any{}
		for _, c := range credentials {
			m[c] = c
		}
		for s := range stateNames {
			m[s] = s
		}
		return m
	}()
)

// boxed is s as an interface value, made once for the contract's names.
func boxed(s string) any {
	if v, ok := boxedNames[s]; ok {
		return v
	}
	return s
}

// Punch maps a terminal's punch body ({"user", "verify", "state", "work_code",
// …}) to the contract's attendance.punch data. Unknown codes become "unknown"
// — terminals disagree on them — and the device's own values are kept under
// "raw". Biometric material is removed (listed under "redacted"), never
// published. A card number the terminal reports ("card", "card_no",
// "cardno", "card_number") becomes "card" — or, with a site card key,
// "card_hash", and the number is then nowhere in the result, not even
// under "raw". It fails only when there is no person at all.
func Punch(body map[string]any, cardKey []byte) (map[string]any, error) {
	var redacted []string
	if !devices.Clean(body) {
		body, redacted = devices.Redact(body)
	}
	person := text(body["user"])
	if person == "" {
		person = text(body["person"])
	}
	if person == "" || len(person) > 64 {
		return nil, fmt.Errorf("terminal: punch without a usable person (user %q)", text(body["user"]))
	}
	out := map[string]any{"person": person, "credential": "unknown", "state": "unknown"}
	raw := map[string]any{}
	for k, v := range body {
		switch k {
		case "user", "person":
		case "verify", "credential":
			raw[k] = v
			if c, ok := credentials[strings.ToLower(text(v))]; ok {
				out["credential"] = boxed(c)
			}
		case "state":
			raw[k] = v
			out["state"] = boxed(state(v))
		case "work_code", "workcode":
			if wc := text(v); wc != "" && len(wc) <= 32 {
				out["work_code"] = wc
			}
		case "card", "card_no", "cardno", "card_number":
			c := text(v)
			switch {
			case c == "" || c == "0":
				// Terminals send 0 for "no card"; anything unreadable
				// that may be a number is dropped rather than leaked.
			case cardKey != nil:
				out["card_hash"] = devices.KeyedHash(cardKey, c)
			case ValidCard(c):
				out["card"] = c
			default:
				raw[k] = c
			}
		default:
			raw[k] = v
		}
	}
	if len(raw) > 0 {
		out["raw"] = raw
	}
	if len(redacted) > 0 {
		out["redacted"] = redacted
	}
	return out, nil
}

// ValidCard accepts the contract's card text: decimal, or facility:number.
// The people directory checks the cards it is given with it too.
func ValidCard(c string) bool {
	if len(c) > 41 {
		return false
	}
	f, n, two := strings.Cut(c, ":")
	if !two {
		return digits(c)
	}
	return digits(f) && digits(n)
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func state(v any) string {
	s := strings.ToLower(text(v))
	if stateNames[s] {
		return s
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && n < len(stateCodes) {
		return stateCodes[n]
	}
	return "unknown"
}

// text renders a CBOR-decoded scalar as text: device ids and codes arrive as
// strings or unsigned integers depending on the firmware.
func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case uint64:
		return strconv.FormatUint(x, 10)
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case float64:
		if x == float64(int64(x)) {
			return strconv.FormatInt(int64(x), 10)
		}
	}
	return ""
}
