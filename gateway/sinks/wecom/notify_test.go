package wecom_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/sinks/internal/cloud"
	"github.com/officegate/officegate/gateway/sinks/internal/cloudtest"
	"github.com/officegate/officegate/gateway/sinks/wecom"
	"github.com/officegate/officegate/gateway/sinks/wecom/wecomtest"
	"github.com/officegate/officegate/provisioning/people"
)

func newNotifier(t *testing.T, srv *wecomtest.Server, clk *cloudtest.Clock, d *people.Directory) *wecom.Notifier {
	t.Helper()
	render, err := cloud.ParseNotify(map[string]string{"lang": "zh-CN"})
	if err != nil {
		t.Fatal(err)
	}
	o := wecom.NotifyOptions{AgentID: 1000002, Render: render}
	o.CorpID, o.Secret, o.People, o.Now = corpID, secret, cloud.People(d, people.WeCom), clk.Now
	o.Base, o.Timeout = srv.URL, 5*time.Second
	n, err := wecom.NewNotifier(o)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A visitor's check-in reaches the host (from the invite's host, through
// the person directory) in the host's language; a release suggestion
// reaches the booker; a host the directory does not map yet is held and
// told once mapped; nothing but what the invite gave is in the message.
func TestNotifyHostAndBooker(t *testing.T) {
	clk := cloudtest.NewClock(base)
	srv := newServer(t, clk)
	d := cloudtest.Directory(t, people.Person{ID: "1001", WeCom: "zhangsan", Lang: "zh-CN"},
		people.Person{ID: "1002", WeCom: "lisi", Lang: "en"})
	h := cloudtest.Start(t, "wecom-notify", newNotifier(t, srv, clk, d), d)
	hash := strings.Repeat("7f", 32)
	h.Event(t, "visitors", "k1", "visitor.checked_in", base, map[string]any{"invite_id": "inv-7", "token_hash": hash,
		"name": "Ada", "host": "1001", "company": "ACME", "method": "qr"})
	h.Event(t, "rooms", "room-301", "room.release_suggested", base.Add(11*time.Minute), map[string]any{"booking": "b1",
		"reason": "no_checkin_no_motion", "start": "2026-12-07T09:00:00.000Z", "end": "2026-12-07T10:00:00.000Z",
		"window_end": "2026-12-07T09:10:00.000Z", "organizer": "1002"})
	h.Event(t, "visitors", "k1", "visitor.checked_in", base, map[string]any{"invite_id": "inv-8", "token_hash": hash,
		"name": "Bo", "host": "1003", "method": "qr"})
	cloudtest.WaitFor(t, "two messages and one held", func() bool { return len(srv.Messages()) == 2 && len(h.Held()) == 1 })
	m := srv.Messages() // streams are delivered independently: order by recipient
	if m[0].ToUser != "zhangsan" {
		m[0], m[1] = m[1], m[0]
	}
	if m[0].ToUser != "zhangsan" || m[0].AgentID != 1000002 || m[0].Content != "您的访客 Ada（ACME） 已于 17:00 在前台签到。" {
		t.Fatalf("host message %+v", m[0])
	}
	if m[1].ToUser != "lisi" || !strings.Contains(m[1].Content, "room-301 (17:00–18:00)") {
		t.Fatalf("booker message %+v", m[1])
	}
	for _, x := range m {
		if strings.Contains(x.Content, hash) || strings.Contains(x.Content, "inv-") {
			t.Fatalf("message says more than the invite gave: %q", x.Content)
		}
	}
	srv.Set(func(s *wecomtest.Server) { s.Users["wangwu"] = true })
	if err := d.Put(people.Person{ID: "1003", WeCom: "wangwu"}); err != nil {
		t.Fatal(err)
	}
	cloudtest.WaitFor(t, "the held host told", func() bool { return len(srv.Messages()) == 3 })
	if m := srv.Messages()[2]; m.ToUser != "wangwu" || !strings.Contains(m.Content, "Bo") {
		t.Fatalf("%+v", m)
	}
}

// One message per event: delivering the same event again (a reply lost
// after WeCom took it) is absorbed by message/send's duplicate check.
func TestNotifyOncePerEvent(t *testing.T) {
	clk := cloudtest.NewClock(base)
	srv := newServer(t, clk)
	d := cloudtest.Directory(t, people.Person{ID: "1001", WeCom: "zhangsan"})
	n := newNotifier(t, srv, clk, d)
	ev := cloudtest.EventOf(t, "k1", "visitor.checked_in", base, map[string]any{"name": "Ada", "host": "1001"})
	for range 3 {
		if err := n.Deliver(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Minute)
	}
	if got := len(srv.Messages()); got != 1 {
		t.Fatalf("%d messages for one event", got)
	}
}
