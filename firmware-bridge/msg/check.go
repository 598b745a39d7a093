package msg

import (
	"fmt"
	"math"
	"unicode"
	"unicode/utf8"
)

func checkText(what, s string, min, max int) error {
	if len(s) < min || len(s) > max {
		return fmt.Errorf("%s %q is %d bytes, need %d to %d", what, s, len(s), min, max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s %q is not utf-8", what, s)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("%s %q holds a control character", what, s)
		}
	}
	return nil
}

// checkName accepts the names that become MQTT topic levels and metric
// values: 1–32 bytes of [a-z0-9_-], so no '/', '+', '#' or upper case.
func checkName(what, s string) error {
	if len(s) < 1 || len(s) > MaxNameLen {
		return fmt.Errorf("%s %q is %d bytes, need 1 to %d", what, s, len(s), MaxNameLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("%s %q: byte 0x%02x at %d is not in [a-z0-9_-]", what, s, c, i)
		}
	}
	return nil
}

func checkHash(what string, h []byte, optional bool) error {
	if optional && len(h) == 0 {
		return nil
	}
	if len(h) != MaxHashLen {
		return fmt.Errorf("%s is %d bytes, need %d", what, len(h), MaxHashLen)
	}
	return nil
}

// checkData enforces PROTOCOL.md §4.1 on free-form maps: text keys, at most
// MaxDataDepth levels of maps and arrays, and only plain CBOR values (the
// decoder has already refused tags, indefinite lengths and duplicate keys).
func checkData(what string, m map[string]any) error {
	if m == nil || dataOK(m, 1) {
		return nil
	}
	return checkValue(what, m, 1)
}

// dataOK is checkValue's verdict without its words: it builds no path, so
// the data of every event is checked without allocating; checkValue then
// words the error of data it refuses.
func dataOK(v any, depth int) bool {
	switch v := v.(type) {
	case nil, bool, string, []byte, uint64, int64, float32:
		return true
	case int, int8, int16, int32, uint, uint8, uint16, uint32:
		return true
	case float64:
		return !math.IsNaN(v) && !math.IsInf(v, 0)
	case map[string]any:
		if depth > MaxDataDepth || len(v) > MaxMapPairs {
			return false
		}
		for k, e := range v {
			if !textOK(k, 1, MaxNameLen*2) || !dataOK(e, depth+1) {
				return false
			}
		}
		return true
	case []any:
		if depth > MaxDataDepth || len(v) > MaxArrayElements {
			return false
		}
		for _, e := range v {
			if !dataOK(e, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

// textOK is checkText's verdict.
func textOK(s string, min, max int) bool {
	if len(s) < min || len(s) > max || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func checkValue(path string, v any, depth int) error {
	switch v := v.(type) {
	case nil, bool, string, []byte, uint64, int64, float32:
		return nil
	case int, int8, int16, int32, uint, uint8, uint16, uint32:
		return nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s: %v cannot be sent as JSON", path, v)
		}
		return nil
	case map[string]any:
		if depth > MaxDataDepth {
			return fmt.Errorf("%s: nested deeper than %d levels", path, MaxDataDepth)
		}
		if len(v) > MaxMapPairs {
			return fmt.Errorf("%s: %d entries, at most %d", path, len(v), MaxMapPairs)
		}
		for k, e := range v {
			if err := checkText(path+" key", k, 1, MaxNameLen*2); err != nil {
				return err
			}
			if err := checkValue(path+"."+k, e, depth+1); err != nil {
				return err
			}
		}
		return nil
	case []any:
		if depth > MaxDataDepth {
			return fmt.Errorf("%s: nested deeper than %d levels", path, MaxDataDepth)
		}
		if len(v) > MaxArrayElements {
			return fmt.Errorf("%s: %d elements, at most %d", path, len(v), MaxArrayElements)
		}
		for i, e := range v {
			if err := checkValue(fmt.Sprintf("%s[%d]", path, i), e, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("%s: value of type %T not allowed", path, v)
}
