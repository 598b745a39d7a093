package provisioning

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var t0 = time.Date(2025, 3, 4, 8, 30, 0, 123456789, time.UTC)

// fixture is the state of the golden vectors: one device in every state, a
// replaced unit, a preapproval and an orphan key (§5).
func fixture() *state {
	s := newState()
	add := func(d Device) { s.devices[d.HardwareID] = &d }
	add(Device{HardwareID: "AT-0001", DeviceID: "term-3f-1", Kind: msg.KindAttendance, Model: "AT-200",
		Name: "term-3f-1", Room: "3F lobby", Profile: "attendance-std", Port: "/dev/officegate/t1",
		Firmware: "1.4.2", ConfigHash: []byte{0xde, 0xad, 0xbe, 0xef}, State: StateActive, KeyRef: "k-0000000000000001",
		LastSeen: t0.Add(time.Hour), Created: t0, Updated: t0.Add(time.Minute)})
	add(Device{HardwareID: "AT-0002", DeviceID: "term-3f-1", Kind: msg.KindAttendance, Model: "AT-200",
		Name: "term-3f-1", Room: "3F lobby", Profile: "attendance-std", State: StateRetired,
		Created: t0, Updated: t0.Add(time.Second)})
	add(Device{HardwareID: "KI-7", Kind: msg.KindKiosk, Model: "K1", Port: "/dev/officegate/k1",
		Firmware: "0.9", State: StatePending, Created: t0, Updated: t0})
	add(Device{HardwareID: "RP-ü", DeviceID: "panel-blue", Kind: msg.Kind(9), Model: "P",
		Name: "Blue room", State: StateDisabled, KeyRef: "k-00000000000000a2", Created: t0, Updated: t0})
	s.pre = []Preapproval{{Pattern: "AT-1*", Kind: msg.KindAttendance, Name: "term-4f-1", Room: "4F", Profile: "attendance-std", Created: t0}}
	s.keys["k-0000000000000001"] = link.Key{Epoch: 1, Secret: bytes.Repeat([]byte{0x11}, 32)}
	s.keys["k-00000000000000a2"] = link.Key{Epoch: 1, Secret: bytes.Repeat([]byte{0xa2}, 32)}
	s.keys["k-00000000000000ff"] = link.Key{Epoch: 3, Secret: bytes.Repeat([]byte{0xff}, 32)}
	return s
}

func golden(t *testing.T, name string, got []byte) []byte {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update && got != nil {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return want
}

// TestGolden checks the vectors both ways: the fixture encodes to the files
// byte for byte, and the files decode to the fixture.
func TestGolden(t *testing.T) {
	s := fixture()
	reg, keys := encodeRegistry(s), encodeKeys(s)
	if want := golden(t, RegistryFile, reg); !bytes.Equal(reg, want) {
		t.Errorf("registry encodes to\n%s\nwant\n%s", reg, want)
	}
	if want := golden(t, KeysFile, keys); !bytes.Equal(keys, want) {
		t.Errorf("key store encodes to\n%s\nwant\n%s", keys, want)
	}
	got := newState()
	if err := decodeRegistry(golden(t, RegistryFile, nil), got); err != nil {
		t.Fatal(err)
	}
	if err := decodeKeys(golden(t, KeysFile, nil), got); err != nil {
		t.Fatal(err)
	}
	if err := got.checkRefs(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("golden decodes to %+v, want %+v", got, s)
	}
}

// TestOpenDamaged damages real files through a table and checks that Open
// refuses with the file's path and the reason, and leaves the file as it was.
func TestOpenDamaged(t *testing.T) {
	s := fixture()
	reg, keys := encodeRegistry(s), encodeKeys(s)
	rehash := func(magic string, body string) []byte { return appendFile(nil, magic, []byte(body)) }
	body := string(reg[bytes.IndexByte(reg, '\n')+1:])
	for _, c := range []struct {
		name      string
		reg, keys []byte
		keyMode   os.FileMode
		file      string // the file the error must name
		want      string
	}{
		{"empty", []byte{}, keys, 0o600, RegistryFile, "empty file"},
		{"zeroed", make([]byte, len(reg)), keys, 0o600, RegistryFile, "torn write"},
		{"truncated", reg[:len(reg)-10], keys, 0o600, RegistryFile, "truncated"},
		{"trailing", append(bytes.Clone(reg), "x"...), keys, 0o600, RegistryFile, "after the"},
		{"flipped byte", bytes.Replace(reg, []byte("3F lobby"), []byte("3G lobby"), 1), keys, 0o600, RegistryFile, "checksum mismatch"},
		{"foreign", []byte("hello\nworld\n"), keys, 0o600, RegistryFile, "header"},
		{"version", bytes.Replace(reg, []byte("registry 1 "), []byte("registry 2 "), 1), keys, 0o600, RegistryFile, "format version"},
		{"bad json", rehash(registryMagic, `{"devices": [}`+"\n"), keys, 0o600, RegistryFile, "offset"},
		{"unknown field", rehash(registryMagic, strings.Replace(body, `"state"`, `"colour": "red", "state"`, 1)), keys, 0o600, RegistryFile, "colour"},
		{"bad state", rehash(registryMagic, strings.Replace(body, `"disabled"`, `"asleep"`, 1)), keys, 0o600, RegistryFile, "asleep"},
		{"dup device id", rehash(registryMagic, strings.Replace(body, `"panel-blue"`, `"term-3f-1"`, 1)), keys, 0o600, RegistryFile, "held by"},
		{"missing key", reg, rehash(keysMagic, `{"keys": []}`+"\n"), 0o600, RegistryFile, "not in the key store"},
		{"short secret", reg, rehash(keysMagic, `{"keys": [{"ref": "k-0000000000000001", "epoch": 1, "secret": "11"}]}`+"\n"), 0o600, KeysFile, "secret"},
		{"key store readable", reg, keys, 0o644, KeysFile, "must be 0600"},
		{"registry lost", nil, keys, 0o600, RegistryFile, "missing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			rp, kp := filepath.Join(dir, RegistryFile), filepath.Join(dir, KeysFile)
			if c.reg != nil {
				if err := os.WriteFile(rp, c.reg, 0o640); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(kp, c.keys, c.keyMode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(kp, c.keyMode); err != nil {
				t.Fatal(err)
			}
			_, err := Open(dir)
			if err == nil {
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), filepath.Join(dir, c.file)) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q: want the path of %s and %q", err, c.file, c.want)
			}
			if c.name != "key store readable" && !errors.Is(err, ErrCorrupt) {
				t.Errorf("error %q does not wrap ErrCorrupt", err)
			}
			if c.reg != nil {
				if got, _ := os.ReadFile(rp); !bytes.Equal(got, c.reg) {
					t.Error("Open changed the damaged registry")
				}
			}
		})
	}
}

// FuzzDecodeRegistry: the decoder never panics, and what it accepts
// re-encodes to a file that decodes to the same state.
func FuzzDecodeRegistry(f *testing.F) {
	s := fixture()
	f.Add(encodeRegistry(s))
	f.Add(encodeRegistry(newState()))
	f.Add([]byte("officegate-registry 1 3 x\n{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a := newState()
		if err := decodeRegistry(data, a); err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		b := newState()
		if err := decodeRegistry(encodeRegistry(a), b); err != nil {
			t.Fatalf("re-encoded registry does not decode: %v", err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("round trip changed the state:\n%+v\n%+v", a, b)
		}
	})
}

// FuzzDecodeKeys is FuzzDecodeRegistry for the key store.
func FuzzDecodeKeys(f *testing.F) {
	f.Add(encodeKeys(fixture()))
	f.Fuzz(func(t *testing.T, data []byte) {
		a := newState()
		if err := decodeKeys(data, a); err != nil {
			return
		}
		b := newState()
		if err := decodeKeys(encodeKeys(a), b); err != nil {
			t.Fatalf("re-encoded key store does not decode: %v", err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatal("round trip changed the keys")
		}
	})
}
