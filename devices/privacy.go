package devices

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"
)

// ErrBiometric is wrapped by CheckData's error for data that holds, or may
// hold, biometric material.
var ErrBiometric = errors.New("devices: biometric data refused")

// MaxBytesLen is the largest byte string CheckData lets through. 64 bytes
// hold any card UID, hash or HMAC we send (SHA-256 is 32) and no fingerprint
// template (ISO 19794-2 minutiae take hundreds of bytes) or image.
const MaxBytesLen = 64

// MaxDataDepth bounds how deeply data may nest. Real bodies are two or three
// levels deep; the bound also stops a map that contains itself.
const MaxDataDepth = 16

// biometricSuffixes are the key endings refused, compared after folding case
// and dropping '_' and '-' so "faceTemplate", "face_template" and
// "FACE-TEMPLATE" are one key. The list matches the MQTT contract's privacy
// rule (which refuses them on the wire) plus raw fingerprint data.
var biometricSuffixes = []string{
	"template", "templates",
	"photo", "photos",
	"image", "images",
	"picture", "pictures",
	"biometric", "biometrics",
	"fingerprintraw", "fingerprintsraw",
}

// CheckData refuses data that must never enter an event or a result:
// biometric material (a key, at any depth, that is or ends in template,
// photo, image, picture, biometric or fingerprint_raw, plurals and any case
// included; a byte string longer than MaxBytesLen), and anything the
// gateway could not publish as JSON (map keys that are not strings, NaN and
// infinities, channels, functions, structs other than time.Time, nesting
// deeper than MaxDataDepth). The error names the offending key by its path
// ("users[2].face_template"). Privacy is by default: there is no switch.
func CheckData(data map[string]any) error {
	if data == nil {
		return nil
	}
	return checkValue("", reflect.ValueOf(data), 0)
}

var timeType = reflect.TypeFor[time.Time]()

func checkValue(path string, v reflect.Value, depth int) error {
	if depth > MaxDataDepth {
		return fmt.Errorf("devices: data key %q: nested deeper than %d levels", path, MaxDataDepth)
	}
	switch v.Kind() {
	case reflect.Invalid:
		return nil // a nil interface: JSON null
	case reflect.Bool, reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return nil
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("devices: data key %q: %v cannot be published as JSON", path, f)
		}
		return nil
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return checkValue(path, v.Elem(), depth+1)
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			if v.Len() > MaxBytesLen {
				return fmt.Errorf("%w: key %q holds %d bytes, at most %d (a longer byte string may be a template or an image)",
					ErrBiometric, path, v.Len(), MaxBytesLen)
			}
			return nil
		}
		for i := 0; i < v.Len(); i++ {
			if err := checkValue(fmt.Sprintf("%s[%d]", path, i), v.Index(i), depth+1); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		// Sorted, so that data with several faults always reports the same one.
		keys := v.MapKeys()
		names := make([]string, len(keys))
		for i, k := range keys {
			if k.Kind() == reflect.Interface && !k.IsNil() {
				k = k.Elem()
			}
			if k.Kind() != reflect.String {
				return fmt.Errorf("devices: data key %q: map key %v of type %s, want a string", path, k, k.Type())
			}
			names[i] = k.String()
		}
		order := make([]int, len(keys))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int { return strings.Compare(names[a], names[b]) })
		for _, i := range order {
			k := names[i]
			p := k
			if path != "" {
				p = path + "." + p
			}
			if isBiometricKey(k) {
				return fmt.Errorf("%w: key %q (no templates, photos, images or raw fingerprints leave the device)", ErrBiometric, p)
			}
			if err := checkValue(p, v.MapIndex(keys[i]), depth+1); err != nil {
				return err
			}
		}
		return nil
	case reflect.Struct:
		if v.Type() == timeType {
			return nil
		}
	}
	// Structs, channels, functions and complex numbers: a struct's fields
	// would be published under names this check never saw.
	return fmt.Errorf("devices: data key %q: a %s is not a plain value (want maps, slices, strings, numbers, booleans or time.Time)", path, v.Type())
}

var separators = strings.NewReplacer("_", "", "-", "")

func isBiometricKey(k string) bool {
	if bio, ascii := isBiometricASCII(k); ascii {
		return bio
	}
	// Unicode case folding can make ASCII of other letters (the Kelvin
	// sign lowers to k): the key as strings.ToLower sees it.
	k = separators.Replace(strings.ToLower(k))
	for _, s := range biometricSuffixes {
		if strings.HasSuffix(k, s) {
			return true
		}
	}
	return false
}

// Redact returns a copy of data without biometric material — the keys
// CheckData refuses as biometric, at any depth, and byte strings longer than
// MaxBytesLen — and the paths it removed, sorted. Where refusing would lose
// the event (a terminal that sends a photo along with a punch), the gateway
// keeps the punch and drops only what must never leave the device.
func Redact(data map[string]any) (map[string]any, []string) {
	var removed []string
	out, _ := redact("", data, &removed).(map[string]any)
	slices.Sort(removed)
	return out, removed
}

func redact(path string, v any, removed *[]string) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if isBiometricKey(k) {
				*removed = append(*removed, p)
				continue
			}
			if b, ok := e.([]byte); ok && len(b) > MaxBytesLen {
				*removed = append(*removed, p)
				continue
			}
			out[k] = redact(p, e, removed)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redact(fmt.Sprintf("%s[%d]", path, i), e, removed)
		}
		return out
	}
	return v
}

// isBiometricASCII is isBiometricKey for an ASCII key (ascii false
// otherwise), without allocating: each suffix is matched from the key's end,
// skipping '_' and '-' and folding case as it goes.
func isBiometricASCII(k string) (bio, ascii bool) {
	for i := 0; i < len(k); i++ {
		if k[i] >= 0x80 {
			return false, false
		}
	}
	for _, s := range biometricSuffixes {
		if foldedSuffix(k, s) {
			return true, true
		}
	}
	return false, true
}

// foldedSuffix reports whether ASCII k, lowered and without '_' and '-',
// ends in s (lower-case letters).
func foldedSuffix(k, s string) bool {
	i := len(k) - 1
	for j := len(s) - 1; j >= 0; j-- {
		for i >= 0 && (k[i] == '_' || k[i] == '-') {
			i--
		}
		if i < 0 {
			return false
		}
		c := k[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[j] {
			return false
		}
		i--
	}
	return true
}

// Clean reports whether Redact would remove nothing from data: no biometric
// key at any depth, no byte string longer than MaxBytesLen. It allocates
// nothing, so the common case — data with nothing to remove — costs no copy.
func Clean(data map[string]any) bool { return clean(data) }

func clean(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if isBiometricKey(k) {
				return false
			}
			if b, ok := e.([]byte); ok && len(b) > MaxBytesLen {
				return false
			}
			if !clean(e) {
				return false
			}
		}
	case []any:
		for _, e := range x {
			if !clean(e) {
				return false
			}
		}
	}
	return true
}
