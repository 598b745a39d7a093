package provisioning

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

func TestExpand(t *testing.T) {
	d := &Device{HardwareID: "AB:CD:00:7F", Kind: msg.KindRoomPanel, Model: "RP 1"}
	for _, c := range []struct{ tmpl, room, want, err string }{
		{"term-{room}-{n}", "3F", "term-3f-2", ""},
		{"{kind}-{hw[-4:]}", "", "room-panel-0-7f", ""},
		{"{kind}-{hw[-40:]}", "", "room-panel-ab-cd-00-7f", ""},
		{"{model}", "", "rp-1", ""},
		{"{hw}", "", "ab-cd-00-7f", ""},
		{"plain", "", "plain", ""},
		{"{nope}", "", "", "unknown field"},
		{"{hw[-0:]}", "", "", "unknown field"},
		{"{hw[-04:]}", "", "", "unknown field"},
		{"a{kind", "", "", "without '}'"},
		{"a}b", "", "", "without '{'"},
	} {
		got, err := expand(c.tmpl, d, c.room, 2)
		if c.err != "" {
			if err == nil || !errors.Is(err, ErrInvalid) || !contains(err.Error(), c.err) {
				t.Errorf("%q: err %v, want %q", c.tmpl, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: %q, %v; want %q", c.tmpl, got, err, c.want)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestRuleMatches(t *testing.T) {
	d := &Device{HardwareID: "AT-00123", Kind: msg.KindAttendance, Model: "AT-200", Port: "/dev/ttyUSB1"}
	for _, c := range []struct {
		name string
		r    Rule
		want bool
	}{
		{"empty matches all", Rule{}, true},
		{"kind", Rule{Kind: "attendance"}, true},
		{"other kind", Rule{Kind: "kiosk"}, false},
		{"model glob", Rule{Model: "AT-*"}, true},
		{"model miss", Rule{Model: "KI-*"}, false},
		{"hw glob", Rule{HardwareID: "AT-001??"}, true},
		{"hw class", Rule{HardwareID: "AT-00[0-1]*"}, true},
		{"hw miss", Rule{HardwareID: "AT-002*"}, false},
		{"port", Rule{Port: "/dev/ttyUSB*"}, true},
		{"star does not cross slash", Rule{Port: "*ttyUSB1"}, false},
		{"all of them", Rule{Kind: "attendance", Model: "AT-200", HardwareID: "AT-*", Port: "/dev/ttyUSB1"}, true},
		{"all but one", Rule{Kind: "attendance", Model: "AT-200", HardwareID: "AT-*", Port: "/dev/ttyACM*"}, false},
	} {
		c.r.Name = "x"
		if err := c.r.Check(); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if got := c.r.Matches(d); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	for _, bad := range []Rule{{Name: ""}, {Name: "x", Kind: "toaster"}, {Name: "x", HardwareID: "["}, {Name: "{n"}} {
		if err := bad.Check(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", bad, err)
		}
	}
}

// TestWindow: inside the window matching devices are approved as they say
// HELLO (and pending ones when it opens); outside it, and for devices no
// rule matches, nothing.
func TestWindow(t *testing.T) {
	r, c, _ := newTest(t)
	ctx := context.Background()
	if _, err := r.Pending("EARLY-1", msg.KindAttendance, "AT", "/dev/ttyUSB0", "1"); err != nil {
		t.Fatal(err)
	}
	w := Window{Until: c.Now().Add(10 * time.Minute), Rules: []Rule{
		{Kind: "attendance", Port: "/dev/ttyUSB*", Name: "term-{room}-{n}", Room: "3F", Profile: "std"},
		{Kind: "kiosk", Name: "{kind}-{hw[-2:]}", Room: "lobby"},
	}}
	if err := r.SetWindow(w); err != nil {
		t.Fatal(err)
	}
	if d, _ := r.ByHardwareID("EARLY-1"); d.State != StateActive || d.DeviceID != "term-3f-1" || d.Profile != "std" {
		t.Errorf("pending device when the window opened: %+v", d)
	}
	type step struct {
		hw      string
		kind    msg.Kind
		port    string
		advance time.Duration
		want    link.Enrollment
		id      string
	}
	for _, s := range []step{
		{"AT-2", msg.KindAttendance, "/dev/ttyUSB1", 0, link.Keying, "term-3f-2"},
		{"AT-3", msg.KindAttendance, "/dev/ttyACM0", 0, link.Pending, ""}, // port rule misses
		{"RP-1", msg.KindRoomPanel, "/dev/ttyUSB2", 0, link.Pending, ""},  // no rule for panels
		{"KI-01", msg.KindKiosk, "", 0, link.Keying, "kiosk-01"},
		{"KJ-01", msg.KindKiosk, "", 0, link.Pending, ""},                                // kiosk-01 taken, no {n}: stays pending
		{"AT-4", msg.KindAttendance, "/dev/ttyUSB3", 10 * time.Minute, link.Pending, ""}, // closed
	} {
		c.Add(s.advance)
		id, err := r.OnPort(s.port).Lookup(ctx, &msg.Hello{HardwareID: s.hw, Kind: s.kind, Model: "M", Firmware: "1"})
		if err != nil {
			t.Fatal(err)
		}
		if id.Enrollment != s.want || id.DeviceID != s.id {
			t.Errorf("%s: %v %q, want %v %q", s.hw, id.Enrollment, id.DeviceID, s.want, s.id)
		}
		if s.want == link.Keying && id.Key != nil {
			t.Errorf("%s: a key before the key agreement", s.hw)
		}
	}
	if r.Window().Open(c.Now()) {
		t.Error("window still open")
	}
	// Reopening keeps the approvals but not the window.
	r = reopen(t, r, c)
	if r.Window().Open(t0) {
		t.Error("the window survived a restart")
	}
}
