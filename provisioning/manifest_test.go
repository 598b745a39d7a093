package provisioning

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/officegate/officegate/firmware-bridge/msg"
)

func TestParseManifestProblems(t *testing.T) {
	in := strings.Join([]string{
		ManifestHeader,
		"AT-1,term-3f-1,attendance,3F,std",    // 2 fine
		"AT-2,Term 3F,attendance,3F,std",      // 3 bad name
		"AT-3,term-3f-1,attendance,3F,std",    // 4 duplicate name
		"AT-1,term-3f-9,attendance,3F,std",    // 5 duplicate hardware id
		"AT-4,term-3f-4,toaster,3F,std",       // 6 unknown kind
		"AT-[5,term-3f-5,attendance,3F,std",   // 7 bad pattern
		",term-3f-6,attendance,3F,std",        // 8 empty id
		"AT-7,term-3f-7,attendance",           // 9 too few fields
		"AT-8,term-3f-8,kiosk,\"lobby\x01\",", // 10 control character
		"AT-9,term-3f-9,kind(7),3F,std",       // 11 numeric kinds are not for people
		`AT-10,"term-3f-10,attendance,3F,std`, // 12 unterminated quote, to the end
	}, "\n") + "\n"
	entries, probs, err := ParseManifest(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].HardwareID != "AT-1" || entries[0].Kind != msg.KindAttendance {
		t.Errorf("entries %+v", entries)
	}
	want := []struct {
		line  int
		field string
		text  string
	}{
		{3, "name", "not in [a-z0-9_-]"},
		{4, "name", "already on line 2"},
		{5, "hardware_id", "already on line 2"},
		{6, "kind", `unknown kind "toaster"`},
		{7, "hardware_id", "syntax error in pattern"},
		{8, "hardware_id", "0 bytes"},
		{9, "", "3 fields, want 5"},
		{10, "room", "control character"},
		{11, "kind", `unknown kind "kind(7)"`},
		{12, "", "quote"},
	}
	if len(probs) != len(want) {
		t.Fatalf("%d problems, want %d:\n%v", len(probs), len(want), probs)
	}
	for i, w := range want {
		p := probs[i]
		if p.Line != w.line || p.Field != w.field || !strings.Contains(p.Reason, w.text) {
			t.Errorf("problem %d: %s; want line %d %s %q", i, p, w.line, w.field, w.text)
		}
	}
}

func TestParseManifestHeader(t *testing.T) {
	for _, in := range []string{"", "hardware_id,name,kind,room\nA,a,kiosk,x\n", "\"x\n"} {
		_, probs, err := ParseManifest(strings.NewReader(in))
		if err != nil || len(probs) != 1 || probs[0].Line != 1 {
			t.Errorf("%q: %v %v; want one problem on line 1", in, probs, err)
		}
	}
	// A spreadsheet's byte order mark and CRLF line ends are fine.
	e, probs, err := ParseManifest(strings.NewReader("\ufeff" + ManifestHeader + "\r\nA,a,kiosk,,\r\n"))
	if err != nil || len(probs) != 0 || len(e) != 1 {
		t.Errorf("BOM and CRLF: %v %v %v", e, probs, err)
	}
}

// TestImportRejects: with any bad line, nothing is applied (the files are
// untouched) and every bad line is named, including problems only the
// registry reveals.
func TestImportRejects(t *testing.T) {
	r, _, dir := newTest(t)
	for _, p := range []struct {
		hw   string
		kind msg.Kind
	}{{"AT-1", msg.KindAttendance}, {"KI-1", msg.KindKiosk}, {"AT-P1", msg.KindAttendance}, {"AT-P2", msg.KindAttendance}} {
		if _, err := r.Pending(p.hw, p.kind, "m", "", "1"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Approve("KI-1", "kiosk-1", "", "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Approve("AT-1", "term-1", "", "", ""); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, RegistryFile))
	in := ManifestHeader + "\n" +
		"AT-NEW,term-new,attendance,3F,std\n" + // 2 fine alone
		"AT-1,term-other,attendance,3F,std\n" + // 3 already enrolled as term-1
		"KI-*,kiosk-2,attendance,,\n" + // 4 matches an enrolled kiosk
		"AT-X,kiosk-1,attendance,,\n" + // 5 name taken
		"AT-P*,term-p,attendance,,\n" + // 6 matches two pending devices
		"KI-1,kiosk-9,attendance,,\n" // 7 enrolled
	probs, err := r.Import(strings.NewReader(in))
	if !errors.Is(err, ErrManifest) {
		t.Fatalf("err %v, want ErrManifest", err)
	}
	lines := []int{}
	for _, p := range probs {
		lines = append(lines, p.Line)
	}
	if !reflect.DeepEqual(lines, []int{3, 4, 5, 6, 7}) {
		t.Errorf("problems on lines %v, want 3–7:\n%v", lines, probs)
	}
	for _, p := range probs {
		if p.Line == 4 && !strings.Contains(p.Reason, "an enrolled kiosk") {
			t.Errorf("line 4: %s", p)
		}
	}
	after, _ := os.ReadFile(filepath.Join(dir, RegistryFile))
	if !bytes.Equal(before, after) {
		t.Error("a rejected manifest changed the registry")
	}
	if len(r.Preapprovals()) != 0 {
		t.Error("a rejected manifest left preapprovals")
	}
}

func TestImportApplies(t *testing.T) {
	r, c, _ := newTest(t)
	if _, err := r.Pending("AT-0001", msg.KindAttendance, "AT", "/dev/ttyUSB0", "1"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Pending("KI-ABC", msg.KindKiosk, "K", "/dev/ttyUSB1", "1"); err != nil {
		t.Fatal(err)
	}
	in := ManifestHeader + "\n" +
		"AT-0001,term-3f-1,attendance,3F,std\n" + // pending: approved now
		"KI-*,kiosk-lobby,kiosk,Lobby,kiosk\n" + // pattern, one pending kiosk: approved now
		"AT-0002,term-3f-2,attendance,3F,std\n" + // unknown: preapproval
		"RP-9*,panel-blue,room-panel,Blue,panel\n" // pattern: preapproval
	if probs, err := r.Import(strings.NewReader(in)); err != nil || probs != nil {
		t.Fatalf("import: %v %v", probs, err)
	}
	for hw, id := range map[string]string{"AT-0001": "term-3f-1", "KI-ABC": "kiosk-lobby"} {
		if d, _ := r.ByHardwareID(hw); d.State != StateActive || d.DeviceID != id {
			t.Errorf("%s: %+v, want active %s", hw, d, id)
		}
	}
	if pre := r.Preapprovals(); len(pre) != 2 || pre[0].Name != "term-3f-2" || pre[1].Pattern != "RP-9*" {
		t.Errorf("preapprovals %+v", pre)
	}
	// Importing the same manifest again changes nothing.
	if probs, err := r.Import(strings.NewReader(in)); err != nil || probs != nil {
		t.Fatalf("re-import: %v %v", probs, err)
	}
	if len(r.Preapprovals()) != 2 {
		t.Errorf("re-import added preapprovals: %+v", r.Preapprovals())
	}
	r = reopen(t, r, c)
	// The preapprovals are durable and are used up by their devices, window
	// or not; a device of the wrong kind does not take one.
	if d, _ := r.Pending("RP-900", msg.KindKiosk, "P", "", "1"); d.State != StatePending {
		t.Errorf("a kiosk took the panel's preapproval: %+v", d)
	}
	if d, _ := r.Pending("RP-901", msg.KindRoomPanel, "P", "", "1"); d.State != StateActive || d.DeviceID != "panel-blue" || d.Room != "Blue" {
		t.Errorf("panel: %+v", d)
	}
	if d, _ := r.Pending("RP-902", msg.KindRoomPanel, "P", "", "1"); d.State != StatePending {
		t.Errorf("a used-up preapproval approved a second panel: %+v", d)
	}
	if d, _ := r.Pending("AT-0002", msg.KindAttendance, "AT", "", "1"); d.State != StateActive || d.DeviceID != "term-3f-2" {
		t.Errorf("AT-0002: %+v", d)
	}
	r = reopen(t, r, c)
	if len(r.Preapprovals()) != 0 {
		t.Errorf("preapprovals left: %+v", r.Preapprovals())
	}
}

// FuzzParseManifest: the parser never panics, every problem names a line,
// and every entry it returns is valid.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(ManifestHeader + "\nAT-1,term-1,attendance,3F,std\nKI-*,k,kiosk,,\n"))
	f.Add([]byte(ManifestHeader + "\nAT-[,x y,toaster,\"a\nb\",\n"))
	f.Add([]byte("\ufeff" + ManifestHeader + "\r\n\"unterminated\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, probs, err := ParseManifest(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, p := range probs {
			if p.Line < 1 || p.Reason == "" {
				t.Fatalf("problem %+v", p)
			}
		}
		for _, e := range entries {
			p := Preapproval{Pattern: e.HardwareID, Kind: e.Kind, Name: e.Name, Room: e.Room, Profile: e.Profile}
			if err := p.check(); err != nil || e.Line < 2 {
				t.Fatalf("entry %+v: %v", e, err)
			}
		}
	})
}
