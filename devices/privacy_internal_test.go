package devices

import (
	"strings"
	"testing"
)

// slowBiometricKey is the rule as written first: lower the key, drop '_' and
// '-', compare suffixes.
func slowBiometricKey(k string) bool {
	k = separators.Replace(strings.ToLower(k))
	for _, s := range biometricSuffixes {
		if strings.HasSuffix(k, s) {
			return true
		}
	}
	return false
}

var biometricKeySeeds = []string{"", "photo", "Photo", "face_template", "FACE-TEMPLATE", "faceTemplate", "template_version",
	"photo_", "_-_photo-_", "xphoto", "photos", "hoto", "p_h_o_t_o", "fingerprint_raw", "fingerprintsRaw", "fingerprint", "images",
	"BIOMETRICS", "picture-", "card", "t_us", "\u212Aey", "Fingerprint_Ra\u212A", "PHOTO\u00e9", "İmage", "\u0130MAGE", "-", "__"}

// TestBiometricKeyASCII: the allocation-free match agrees with the rule as
// first written on every ASCII key, and leaves other keys to it.
func TestBiometricKeyASCII(t *testing.T) {
	for _, k := range biometricKeySeeds {
		bio, ascii := isBiometricASCII(k)
		if ascii && bio != slowBiometricKey(k) {
			t.Errorf("%q: isBiometricASCII %v, the rule %v", k, bio, slowBiometricKey(k))
		}
		if isBiometricKey(k) != slowBiometricKey(k) {
			t.Errorf("%q: isBiometricKey %v, the rule %v", k, isBiometricKey(k), slowBiometricKey(k))
		}
	}
	if n := testing.AllocsPerRun(100, func() { isBiometricKey("Face_Template_t_us") }); n != 0 {
		t.Errorf("isBiometricKey allocates %v times for an ASCII key", n)
	}
}

func FuzzBiometricKey(f *testing.F) {
	for _, k := range biometricKeySeeds {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, k string) {
		if isBiometricKey(k) != slowBiometricKey(k) {
			t.Errorf("%q: isBiometricKey %v, the rule %v", k, isBiometricKey(k), slowBiometricKey(k))
		}
	})
}

// TestClean: Clean is true exactly when Redact removes nothing.
func TestClean(t *testing.T) {
	for _, d := range []map[string]any{
		nil, {}, {"user": "1", "verify": "card"},
		{"photo": "x"}, {"a": map[string]any{"b": []any{map[string]any{"FaceTemplate": 1}}}},
		{"a": []any{1, "x", map[string]any{"ok": true}}},
		{"uid": make([]byte, MaxBytesLen)}, {"blob": make([]byte, MaxBytesLen+1)},
		{"a": map[string]any{"blob": make([]byte, MaxBytesLen+1)}},
	} {
		_, removed := Redact(d)
		if Clean(d) != (len(removed) == 0) {
			t.Errorf("%v: Clean %v, Redact removed %v", d, Clean(d), removed)
		}
	}
	d := map[string]any{"user": "10042", "verify": "card", "state": uint64(0), "t_us": uint64(1)}
	if n := testing.AllocsPerRun(100, func() { Clean(d) }); n != 0 {
		t.Errorf("Clean allocates %v times", n)
	}
}
