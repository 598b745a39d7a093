package dingtalk_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/sinks/dingtalk"
	"github.com/officegate/officegate/gateway/sinks/dingtalk/dingtalktest"
	"github.com/officegate/officegate/gateway/sinks/internal/cloud"
	"github.com/officegate/officegate/gateway/sinks/internal/cloudtest"
	"github.com/officegate/officegate/provisioning/people"
)

func newNotifier(t *testing.T, srv *dingtalktest.Server, clk *cloudtest.Clock, d *people.Directory) *dingtalk.Notifier {
	t.Helper()
	render, err := cloud.ParseNotify(nil)
	if err != nil {
		t.Fatal(err)
	}
	o := dingtalk.NotifyOptions{AgentID: 123456789, Render: render}
	o.AppKey, o.AppSecret, o.People, o.Now = appKey, appSecret, cloud.People(d, people.DingTalk), clk.Now
	o.Base, o.Timeout = srv.URL, 5*time.Second
	n, err := dingtalk.NewNotifier(o)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Host and booker are told through work notifications; a host not mapped
// yet is held and told once mapped; DingTalk down meanwhile loses nothing.
func TestNotifyHostAndBooker(t *testing.T) {
	clk := cloudtest.NewClock(base)
	srv := newServer(t, clk)
	d := cloudtest.Directory(t, people.Person{ID: "1001", DingTalk: "manager4220", Lang: "en"},
		people.Person{ID: "1002", DingTalk: "user123"})
	srv.Set(func(s *dingtalktest.Server) { s.Down = 3 })
	h := cloudtest.Start(t, "ding-notify", newNotifier(t, srv, clk, d), d)
	h.Event(t, "visitors", "k1", "visitor.checked_in", base, map[string]any{"invite_id": "inv-1", "token_hash": strings.Repeat("c3", 32),
		"name": "Ada", "host": "1001", "method": "qr"})
	h.Event(t, "rooms", "room-301", "room.release_suggested", base, map[string]any{"booking": "b1", "reason": "no_checkin_no_motion",
		"start": "2026-12-07T09:00:00.000Z", "end": "2026-12-07T10:00:00.000Z", "window_end": "2026-12-07T09:10:00.000Z",
		"organizer": "1002", "title": "周会"})
	h.Event(t, "visitors", "k1", "visitor.checked_in", base, map[string]any{"name": "Bo", "host": "1009", "method": "qr"})
	cloudtest.WaitFor(t, "two notices, one held", func() bool { return len(srv.Messages()) == 2 && len(h.Held()) == 1 })
	m := srv.Messages() // streams are delivered independently: order by recipient
	if m[0].UserID != "manager4220" {
		m[0], m[1] = m[1], m[0]
	}
	if m[0].UserID != "manager4220" || m[0].AgentID != 123456789 || m[0].Content != "Your visitor Ada checked in at reception at 17:00." {
		t.Fatalf("%+v", m[0])
	}
	if m[1].UserID != "user123" || m[1].Content != "您预订的会议室 room-301（17:00–18:00，周会）签到时间已过且无人使用，建议释放。" {
		t.Fatalf("%+v", m[1])
	}
	srv.Set(func(s *dingtalktest.Server) { s.Users["newbie01"] = true })
	if err := d.Put(people.Person{ID: "1009", DingTalk: "newbie01"}); err != nil {
		t.Fatal(err)
	}
	cloudtest.WaitFor(t, "the held host told", func() bool { return len(srv.Messages()) == 3 })
}

// Delivering one event again sends the same content, which DingTalk gives
// an employee once a day: one message per event.
func TestNotifyOncePerEvent(t *testing.T) {
	clk := cloudtest.NewClock(base)
	srv := newServer(t, clk)
	n := newNotifier(t, srv, clk, cloudtest.Directory(t, people.Person{ID: "1001", DingTalk: "manager4220"}))
	ev := cloudtest.EventOf(t, "k1", "visitor.checked_in", base, map[string]any{"name": "Ada", "host": "1001"})
	for range 3 {
		if err := n.Deliver(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(srv.Messages()); got != 1 {
		t.Fatalf("%d messages", got)
	}
}
