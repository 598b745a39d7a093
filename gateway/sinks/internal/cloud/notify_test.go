package cloud

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/officegate/officegate/gateway/sinks"
)

func event(t *testing.T, typ, device, tm string, data map[string]any) sinks.Event {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"id": "e1", "type": typ, "device": device, "time": tm, "clock": "synced", "data": data})
	return sinks.Event{ID: "e1", Type: typ, Device: device, Payload: b}
}

var dir = MapDirectory{
	"1001":  {UserID: "zhangsan", Lang: "zh-CN"},
	"alice": {UserID: "alice01", Lang: "en"},
	"bob":   {UserID: "bob01"},
}

// A visitor's arrival becomes a message to the host in the host's
// language, with what the invite gave and the time in the site's zone —
// never the token hash; a release suggestion goes to the organizer; an
// event of another type, or a booking naming nobody, makes none.
func TestRender(t *testing.T) {
	n, err := ParseNotify(map[string]string{"lang": "en"})
	if err != nil {
		t.Fatal(err)
	}
	v := map[string]any{"invite_id": "inv-7", "token_hash": strings.Repeat("ab", 32), "name": "Ada Lovelace",
		"host": "1001", "company": "Analytical Engines", "method": "qr"}
	m, skip, err := n.Render(event(t, VisitorCheckedIn, "k1", "2026-12-07T09:05:00.000+08:00", v), dir, "wecom")
	if err != nil || skip {
		t.Fatal(skip, err)
	}
	if m.To.UserID != "zhangsan" || m.Text != "您的访客 Ada Lovelace（Analytical Engines） 已于 09:05 在前台签到。" {
		t.Fatalf("%+v", m)
	}
	v["host"], v["company"] = "alice", nil
	m, _, _ = n.Render(event(t, VisitorCheckedIn, "k1", "2026-12-07T09:05:00.000+08:00", v), dir, "wecom")
	if m.Text != "Your visitor Ada Lovelace checked in at reception at 09:05." || strings.Contains(m.Text, "ab") && strings.Contains(m.Text, "abab") {
		t.Fatalf("%q", m.Text)
	}
	r := map[string]any{"booking": "b1", "reason": "no_checkin_no_motion", "start": "2026-12-07T02:00:00.000Z",
		"end": "2026-12-07T03:00:00.000Z", "window_end": "2026-12-07T02:10:00.000Z", "organizer": "bob", "title": "Design review"}
	m, _, err = n.Render(event(t, RoomReleaseSuggested, "room-301", "2026-12-07T10:10:01.000+08:00", r), dir, "wecom")
	if err != nil || m.To.UserID != "bob01" || m.Text != "Nobody checked in to your booking of room-301 (10:00–11:00, Design review); releasing the room is suggested." {
		t.Fatalf("%+v %v", m, err)
	}
	delete(r, "organizer")
	if _, skip, err := n.Render(event(t, RoomReleaseSuggested, "room-301", "2026-12-07T10:10:01.000+08:00", r), dir, "wecom"); !skip || err != nil {
		t.Fatalf("no organizer: skip %v %v", skip, err)
	}
	if _, skip, _ := n.Render(event(t, "attendance.punch", "t1", "2026-12-07T10:10:01.000+08:00", nil), dir, "wecom"); !skip {
		t.Fatal("a punch made a message")
	}
	v["host"] = "nobody"
	if _, _, err := n.Render(event(t, VisitorCheckedIn, "k1", "2026-12-07T09:05:00.000+08:00", v), dir, "wecom"); !errors.Is(err, sinks.ErrUnmapped) {
		t.Fatalf("unmapped host: %v", err)
	}
}

// A template is checked when the sink starts: a field that does not exist
// or a bad language is refused then, not on a visitor's arrival.
func TestParseNotifyRefuses(t *testing.T) {
	for _, s := range []map[string]string{
		{"visitor_template_en": "Hello {{.TokenHash}}"},
		{"release_template_zh": "{{.Room"},
		{"lang": "fr"},
		{"visitor_template_zh": "   "},
	} {
		if _, err := ParseNotify(s); err == nil {
			t.Errorf("ParseNotify(%v) accepted", s)
		}
	}
	n, err := ParseNotify(map[string]string{"visitor_template_zh": "{{.Name}} 到了，找 {{.Host}}"})
	if err != nil {
		t.Fatal(err)
	}
	m, _, _ := n.Render(event(t, VisitorCheckedIn, "k1", "2026-12-07T09:05:00.000+08:00",
		map[string]any{"name": "王五", "host": "bob"}), dir, "wecom")
	if m.Text != "王五 到了，找 bob" {
		t.Fatalf("%q", m.Text)
	}
}

// CONFIG.md shows the default templates as they are.
func TestDefaultTemplatesDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../../CONFIG.md")
	if err != nil {
		t.Fatal(err)
	}
	for typ, byLang := range DefaultTemplates {
		for lang, tmpl := range byLang {
			if !strings.Contains(string(doc), "`"+tmpl+"`") {
				t.Errorf("CONFIG.md does not show the %s template of %s: `%s`", lang, typ, tmpl)
			}
			if !strings.Contains(string(doc), "`"+TemplateKeys[typ][lang]+"`") {
				t.Errorf("CONFIG.md does not name the setting %s", TemplateKeys[typ][lang])
			}
		}
	}
}
