package feishu_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/sinks/feishu"
	"github.com/officegate/officegate/gateway/sinks/feishu/feishutest"
	"github.com/officegate/officegate/gateway/sinks/internal/cloud"
	"github.com/officegate/officegate/gateway/sinks/internal/cloudtest"
	"github.com/officegate/officegate/provisioning/people"
)

func newNotifier(t *testing.T, srv *feishutest.Server, clk *cloudtest.Clock, d *people.Directory) *feishu.Notifier {
	t.Helper()
	render, err := cloud.ParseNotify(map[string]string{"visitor_template_en": "{{.Name}}{{with .Company}} from {{.}}{{end}} is at reception ({{.Date}} {{.Time}})."})
	if err != nil {
		t.Fatal(err)
	}
	o := feishu.NotifyOptions{Render: render}
	o.AppID, o.AppSecret, o.People, o.Now = appID, appSecret, cloud.People(d, people.Feishu), clk.Now
	o.Base, o.Timeout = srv.URL, 5*time.Second
	n, err := feishu.NewNotifier(o)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Host and booker get a message each, by the configured template in their
// language; the uuid of a message is its event id.
func TestNotifyHostAndBooker(t *testing.T) {
	clk := cloudtest.NewClock(base)
	srv := newServer(t, clk)
	d := cloudtest.Directory(t, people.Person{ID: "1001", Feishu: "abd754f7", Lang: "en"},
		people.Person{ID: "1002", Feishu: "c0ffee01"})
	h := cloudtest.Start(t, "feishu-notify", newNotifier(t, srv, clk, d), d)
	id := h.Event(t, "visitors", "k1", "visitor.checked_in", base, map[string]any{"name": "Ada", "company": "ACME", "host": "1001", "method": "qr"})
	h.Event(t, "rooms", "room-301", "room.release_suggested", base, map[string]any{"booking": "b1", "reason": "no_checkin_no_motion",
		"start": "2026-12-07T09:00:00.000Z", "end": "2026-12-07T10:00:00.000Z", "window_end": "2026-12-07T09:10:00.000Z", "organizer": "1002"})
	h.Event(t, "rooms", "room-301", "room.release_suggested", base, map[string]any{"booking": "b2", "reason": "no_checkin_no_motion",
		"start": "2026-12-07T11:00:00.000Z", "end": "2026-12-07T12:00:00.000Z", "window_end": "2026-12-07T11:10:00.000Z"})
	h.Event(t, "visitors", "k1", "visitor.checked_in", base, map[string]any{"name": "Bo", "host": "1009", "method": "qr"})
	cloudtest.WaitFor(t, "two messages, one held", func() bool { return len(srv.Messages()) == 2 && len(h.Held()) == 1 })
	m := srv.Messages() // streams are delivered independently: order by recipient
	if m[0].ReceiveID != "abd754f7" {
		m[0], m[1] = m[1], m[0]
	}
	if m[0].ReceiveID != "abd754f7" || m[0].UUID != id || m[0].Text != "Ada from ACME is at reception (2026-12-07 17:00)." {
		t.Fatalf("%+v", m[0])
	}
	if m[1].ReceiveID != "c0ffee01" || !strings.HasPrefix(m[1].Text, "您预订的会议室 room-301（17:00–18:00）") {
		t.Fatalf("%+v", m[1])
	}
	srv.Set(func(s *feishutest.Server) { s.Users["beef0042"] = true })
	if err := d.Put(people.Person{ID: "1009", Feishu: "beef0042"}); err != nil {
		t.Fatal(err)
	}
	cloudtest.WaitFor(t, "the held host told", func() bool { return len(srv.Messages()) == 3 })
}

// The same event delivered again is one message (uuid de-duplication).
func TestNotifyOncePerEvent(t *testing.T) {
	clk := cloudtest.NewClock(base)
	srv := newServer(t, clk)
	n := newNotifier(t, srv, clk, cloudtest.Directory(t, people.Person{ID: "1001", Feishu: "abd754f7"}))
	ev := cloudtest.EventOf(t, "k1", "visitor.checked_in", base, map[string]any{"name": "Ada", "host": "1001"})
	for range 3 {
		if err := n.Deliver(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
		clk.Add(10 * time.Minute)
	}
	if got := srv.Messages(); len(got) != 1 {
		t.Fatalf("%d messages", len(got))
	}
}
