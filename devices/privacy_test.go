package devices_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/devices"
)

func TestCheckDataAccepts(t *testing.T) {
	data := map[string]any{
		"person":           "1042",
		"card_hash":        make([]byte, 32),
		"uid":              []byte{1, 2, 3, 4, 5, 6, 7},
		"verify":           uint8(1),
		"count":            int64(-3),
		"ratio":            0.5,
		"ok":               true,
		"none":             nil,
		"at":               time.Unix(0, 0),
		"hold":             3 * time.Second,
		"tags":             []string{"a", "b"},
		"nested":           map[string]any{"list": []any{map[string]any{"name": "x"}}},
		"cbor_style":       map[any]any{"k": "v"},
		"max_bytes":        make([]byte, devices.MaxBytesLen),
		"template_version": "2", // not a template: the key does not end in one
		"face_id":          "f-17",
	}
	if err := devices.CheckData(data); err != nil {
		t.Fatal(err)
	}
	if err := devices.CheckData(nil); err != nil {
		t.Fatal(err)
	}
}

func TestCheckDataRefusesBiometrics(t *testing.T) {
	for _, tc := range []struct {
		data map[string]any
		key  string
	}{
		{map[string]any{"template": "AAAA"}, "template"},
		{map[string]any{"face_template": "AAAA"}, "face_template"},
		{map[string]any{"fingerTemplates": []any{}}, "fingerTemplates"},
		{map[string]any{"PHOTO": nil}, "PHOTO"},
		{map[string]any{"visitor": map[string]any{"id_photos": "x"}}, "visitor.id_photos"},
		{map[string]any{"users": []any{map[string]any{"ok": 1}, map[string]any{"palm-image": "x"}}}, "users[1].palm-image"},
		{map[string]any{"picture": ""}, "picture"},
		{map[string]any{"biometrics": map[string]any{}}, "biometrics"},
		{map[string]any{"fingerprint_raw": []byte{1}}, "fingerprint_raw"},
		{map[string]any{"x": map[any]any{"left_fingerprint_raw": 1}}, "x.left_fingerprint_raw"},
		{map[string]any{"blob": make([]byte, devices.MaxBytesLen+1)}, "blob"},
		{map[string]any{"list": [][]byte{{1}, make([]byte, 2048)}}, "list[1]"},
		{map[string]any{"arr": [100]byte{}}, "arr"},
	} {
		err := devices.CheckData(tc.data)
		if !errors.Is(err, devices.ErrBiometric) || !strings.Contains(err.Error(), `"`+tc.key+`"`) {
			t.Errorf("CheckData(%v) = %v, want ErrBiometric naming %q", tc.data, err, tc.key)
		}
	}
}

func TestCheckDataRefusesUnpublishable(t *testing.T) {
	self := map[string]any{}
	self["self"] = self
	type person struct{ Template []byte }
	for _, tc := range []struct {
		data map[string]any
		want string
	}{
		{map[string]any{"t": math.NaN()}, `"t"`},
		{map[string]any{"t": math.Inf(1)}, `"t"`},
		{map[string]any{"m": map[any]any{1: "x"}}, "want a string"},
		{map[string]any{"p": person{Template: make([]byte, 500)}}, "not a plain value"},
		{map[string]any{"c": make(chan int)}, "not a plain value"},
		{self, "nested deeper"},
	} {
		err := devices.CheckData(tc.data)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "devices: ") {
			t.Errorf("CheckData = %v, want %s", err, tc.want)
		}
	}
}

func FuzzCheckDataKeys(f *testing.F) {
	for _, s := range []string{"template", "face_photo", "id", "Fingerprint-Raw", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		err := devices.CheckData(map[string]any{key: map[string]any{key: []byte(key)}})
		if err != nil && !strings.HasPrefix(err.Error(), "devices: ") {
			t.Fatalf("unprefixed error %v", err)
		}
	})
}

func TestRedact(t *testing.T) {
	in := map[string]any{
		"user": "10042", "faceTemplate": []byte{1, 2, 3},
		"extra": map[string]any{"photo": "base64…", "note": "ok", "blob": make([]byte, 200)},
		"list":  []any{map[string]any{"fingerprint_raw": "x", "n": 1}},
	}
	out, removed := devices.Redact(in)
	want := []string{"extra.blob", "extra.photo", "faceTemplate", "list[0].fingerprint_raw"}
	if fmt.Sprint(removed) != fmt.Sprint(want) {
		t.Fatalf("removed %v, want %v", removed, want)
	}
	if err := devices.CheckData(out); err != nil {
		t.Fatalf("redacted data still refused: %v", err)
	}
	if out["user"] != "10042" || out["extra"].(map[string]any)["note"] != "ok" || in["faceTemplate"] == nil {
		t.Fatalf("redact changed what it should keep (or its input): %v", out)
	}
}
