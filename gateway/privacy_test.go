package gateway

import (
	"errors"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/kiosk"
	"github.com/officegate/officegate/devices/terminal"
	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/provisioning/admin"
)

// TestPrivacyDataMap holds docs/PRIVACY.md's data map to the code's list of
// personal fields (devices.PersonalFields), both ways, with the same
// handling; and holds that list to the code: refused keys are refused,
// hashed card keys never survive a punch, and every member of the person
// directory, the invite cache and the held records is either a declared
// personal key or known not to be personal.
func TestPrivacyDataMap(t *testing.T) {
	doc, err := os.ReadFile("../docs/PRIVACY.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n## Data map\n")
	if !ok {
		t.Fatal("docs/PRIVACY.md has no \"## Data map\" section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	row := regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| ([a-z ]+) \\|")
	inDoc := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		if _, dup := inDoc[m[1]]; dup {
			t.Errorf("PRIVACY.md lists %q twice", m[1])
		}
		inDoc[m[1]] = m[2]
	}
	declared := map[string]bool{}
	for _, f := range devices.PersonalFields {
		declared[f.Name] = true
		h, ok := inDoc[f.Name]
		switch {
		case !ok:
			t.Errorf("the code handles %q (devices.PersonalFields) but PRIVACY.md's data map does not list it", f.Name)
		case h != string(f.Handling):
			t.Errorf("PRIVACY.md says %q is %q, the code says %q", f.Name, h, f.Handling)
		}
	}
	for name := range inDoc {
		if !declared[name] {
			t.Errorf("PRIVACY.md lists %q, which devices.PersonalFields does not", name)
		}
	}

	keys := map[string]bool{}
	for _, f := range devices.PersonalFields {
		for _, k := range f.Keys {
			keys[k] = true
			switch f.Handling {
			case devices.Refused:
				if err := devices.CheckData(map[string]any{k: "x"}); !errors.Is(err, devices.ErrBiometric) {
					t.Errorf("%s: key %q is declared refused but CheckData lets it through (%v)", f.Name, k, err)
				}
			case devices.Hashed:
				if f.Name != "card_number" {
					continue
				}
				out, err := terminal.Punch(map[string]any{"user": "7", k: "12:4660"}, []byte("0123456789abcdef"))
				if err != nil {
					t.Fatal(err)
				}
				if s := reflect.ValueOf(out).String(); strings.Contains(s, "4660") || out["card_hash"] == nil {
					t.Errorf("%s: a punch's %q came out as %v", f.Name, k, out)
				}
			}
		}
	}
	// Members known not to be personal: ids of records, times, states.
	notPersonal := []string{"updated", "invite_id", "valid_from", "valid_until", "revoked", "method", "checked_in",
		"checked_out", "sink", "stream", "seq", "id", "device", "type", "platform", "since", "body"}
	for _, v := range []any{admin.Person{}, kiosk.Invite{}, kiosk.Visit{}, sinks.Held{}} {
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			tag, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			if !keys[tag] && !slices.Contains(notPersonal, tag) {
				t.Errorf("%s member %q is neither a declared personal key (devices.PersonalFields) nor known not to be personal", rt, tag)
			}
		}
	}
}
