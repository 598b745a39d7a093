package dingtalk_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/gateway/sinks/dingtalk"
	"github.com/officegate/officegate/gateway/sinks/dingtalk/dingtalktest"
	"github.com/officegate/officegate/gateway/sinks/internal/cloud"
	"github.com/officegate/officegate/gateway/sinks/internal/cloudtest"
	"github.com/officegate/officegate/provisioning/people"
)

const (
	appKey    = "dingeqqpkv3xxxxyz"
	appSecret = "GT-lsu-taDAsTs-APPSECRET-9f8e7d6c"
)

var base = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

func staff(t *testing.T) *people.Directory {
	return cloudtest.Directory(t,
		people.Person{ID: "1001", DingTalk: "manager4220"},
		people.Person{ID: "1002", DingTalk: "user123"},
		people.Person{ID: "9999", DingTalk: "departed"})
}

func newServer(t *testing.T, clk *cloudtest.Clock) *dingtalktest.Server {
	srv := dingtalktest.NewServer(appKey, appSecret, "manager4220", "user123")
	srv.Set(func(s *dingtalktest.Server) { s.Now = clk.Now })
	t.Cleanup(srv.Close)
	return srv
}

func newSink(t *testing.T, srv *dingtalktest.Server, clk *cloudtest.Clock, d *people.Directory, mod func(*dingtalk.Options)) *dingtalk.Sink {
	t.Helper()
	o := dingtalk.Options{AppKey: appKey, AppSecret: appSecret, People: cloud.People(d, people.DingTalk), Now: clk.Now}
	o.Base, o.Timeout = srv.URL, 5*time.Second
	if mod != nil {
		mod(&o)
	}
	s, err := dingtalk.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func punchEv(t *testing.T, person string, at time.Time) sinks.Event {
	return cloudtest.EventOf(t, "t1", "attendance.punch", at, map[string]any{"person": person, "credential": "face", "state": "in"})
}

// DingTalk down for a while as punches arrive on two terminals: afterwards
// every punch is there, each terminal's in order, none dead-lettered.
func TestDownThenDeliveredInOrder(t *testing.T) {
	clk := cloudtest.NewClock(base)
	srv := newServer(t, clk)
	srv.Set(func(s *dingtalktest.Server) { s.Down = -1 })
	h := cloudtest.Start(t, "ding", newSink(t, srv, clk, staff(t), nil), nil)
	byDevice := map[string][]int64{}
	for i := range 20 {
		dev := []string{"t1", "t2"}[i%2]
		at := base.Add(-time.Duration(20-i) * time.Minute)
		h.Punch(t, dev, []string{"1001", "1002"}[i%2], at)
		byDevice[dev] = append(byDevice[dev], at.UnixMilli())
	}
	cloudtest.WaitFor(t, "retries while down", func() bool { _, f, _ := h.Counts(); return f >= 5 })
	if len(srv.Records()) != 0 {
		t.Fatal("records while down")
	}
	srv.Set(func(s *dingtalktest.Server) { s.Down = 0 })
	cloudtest.WaitFor(t, "every punch", func() bool { return len(srv.Records()) == 20 })
	got := map[string][]int64{}
	for _, r := range srv.Records() {
		got[r.DeviceID] = append(got[r.DeviceID], r.UserCheckTime)
		if r.DeviceName != r.DeviceID || r.PhotoURL != "" {
			t.Errorf("record %+v", r)
		}
	}
	for dev, want := range byDevice {
		if len(got[dev]) != len(want) {
			t.Fatalf("device %s: %v, want %v", dev, got[dev], want)
		}
		for i := range want {
			if got[dev][i] != want[i] {
				t.Fatalf("device %s: %v, want %v in order", dev, got[dev], want)
			}
		}
	}
	if _, _, dl := h.Counts(); dl != 0 {
		t.Fatalf("%d dead letters", dl)
	}
}

// A punch DingTalk refuses (an unknown userid, a time beyond 180 days) is
// dead-lettered with an alarm; the others flow.
func TestPoisonRecordDeadLettered(t *testing.T) {
	clk := cloudtest.NewClock(base)
	srv := newServer(t, clk)
	h := cloudtest.Start(t, "ding", newSink(t, srv, clk, staff(t), nil), nil)
	h.Punch(t, "t1", "1001", base)
	gone := h.Punch(t, "t1", "9999", base)
	old := h.Punch(t, "t1", "1002", base.AddDate(0, 0, -200))
	h.Punch(t, "t1", "1002", base)
	cloudtest.WaitFor(t, "good punches", func() bool { return len(srv.Records()) == 2 })
	cloudtest.WaitFor(t, "two alarms", func() bool { return len(h.Alarms()) == 2 })
	a := h.Alarms()
	if a[0].ID != gone || !strings.Contains(a[0].Error, "33012") || a[1].ID != old || !strings.Contains(a[1].Error, "40035") {
		t.Fatalf("alarms %+v", a)
	}
}

// The token is cached, renewed before it expires, and fetched again when
// DingTalk answers 88/40014 for it; the punch still goes in that delivery.
func TestTokenRefresh(t *testing.T) {
	clk := cloudtest.NewClock(base)
	srv := newServer(t, clk)
	s := newSink(t, srv, clk, staff(t), nil)
	for i := range 3 {
		if err := s.Deliver(context.Background(), punchEv(t, "1001", base.Add(time.Duration(i)*time.Second))); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.Count("/gettoken"); n != 1 {
		t.Fatalf("%d token fetches, want 1", n)
	}
	clk.Add(7200*time.Second - time.Minute)
	if err := s.Deliver(context.Background(), punchEv(t, "1001", base)); err != nil {
		t.Fatal(err)
	}
	if n := srv.Count("/gettoken"); n != 2 {
		t.Fatalf("%d token fetches, want a renewal before expiry", n)
	}
	srv.Revoke()
	if err := s.Deliver(context.Background(), punchEv(t, "1001", base)); err != nil {
		t.Fatalf("after the token was revoked: %v", err)
	}
	if n, recs := srv.Count("/gettoken"), len(srv.Records()); n != 3 || recs != 5 {
		t.Fatalf("%d fetches, %d records", n, recs)
	}
	// Expired by the server's clock without the sink knowing (its clock lags).
	srv.Set(func(s *dingtalktest.Server) { s.Now = func() time.Time { return clk.Now().Add(3 * time.Hour) } })
	if err := s.Deliver(context.Background(), punchEv(t, "1001", base.Add(2*time.Hour))); err != nil {
		t.Fatalf("after 88/42001: %v", err)
	}
}

// The per-second rate limit (88/90018) and system busy (-1) are backed
// off, not dead-lettered; the limit asks for at least a second.
func TestRateLimitBackedOff(t *testing.T) {
	clk := cloudtest.NewClock(base)
	srv := newServer(t, clk)
	s := newSink(t, srv, clk, staff(t), nil)
	srv.Set(func(s *dingtalktest.Server) { s.RateLimit = 1 })
	err := s.Deliver(context.Background(), punchEv(t, "1001", base))
	if err == nil || errors.Is(err, sinks.ErrPermanent) || sinks.RetryDelay(err) != time.Second {
		t.Fatalf("rate limited: %v (retry after %v)", err, sinks.RetryDelay(err))
	}
	srv.Set(func(s *dingtalktest.Server) { s.RateLimit, s.Busy = 3, 2 })
	h := cloudtest.Start(t, "ding", s, nil)
	h.Punch(t, "t1", "1001", base)
	cloudtest.WaitFor(t, "delivery", func() bool { return len(srv.Records()) == 1 })
	if _, f, dl := h.Counts(); f < 5 || dl != 0 {
		t.Fatalf("%d retries %d dead letters", f, dl)
	}
}

// A punch of a person without a DingTalk userid is held, then delivered
// once the directory maps them.
func TestUnmappedHeldThenDelivered(t *testing.T) {
	clk := cloudtest.NewClock(base)
	srv := newServer(t, clk)
	d := staff(t)
	h := cloudtest.Start(t, "ding", newSink(t, srv, clk, d, nil), d)
	held := h.Punch(t, "t1", "4242", base)
	h.Punch(t, "t1", "1001", base)
	cloudtest.WaitFor(t, "held", func() bool { return len(h.Held()) == 1 && len(srv.Records()) == 1 })
	if hd := h.Held()[0]; hd.ID != held || hd.Platform != "dingtalk" {
		t.Fatalf("held %+v", hd)
	}
	if srv.Count("/topapi/attendance/record/upload") != 1 {
		t.Fatal("an unmapped punch was sent")
	}
	srv.Set(func(s *dingtalktest.Server) { s.Users["newbie01"] = true })
	if err := d.Put(people.Person{ID: "4242", DingTalk: "newbie01"}); err != nil {
		t.Fatal(err)
	}
	cloudtest.WaitFor(t, "delivered once mapped", func() bool { return len(srv.Records()) == 2 && len(h.Held()) == 0 })
	if r := srv.Records()[1]; r.UserID != "newbie01" {
		t.Fatalf("record %+v", r)
	}
}

// Hanging and malformed replies are retried, not dead-lettered.
func TestHangAndMalformed(t *testing.T) {
	clk := cloudtest.NewClock(base)
	srv := newServer(t, clk)
	s := newSink(t, srv, clk, staff(t), func(o *dingtalk.Options) { o.Timeout = 100 * time.Millisecond })
	srv.Set(func(s *dingtalktest.Server) { s.Hang = true })
	if err := s.Deliver(context.Background(), punchEv(t, "1001", base)); !cloudtest.TimedOut(err) {
		t.Fatalf("hang: %v, want a timeout to retry", err)
	}
	// The rest with a sink whose timeout a loaded machine cannot reach.
	s = newSink(t, srv, clk, staff(t), nil)
	srv.Set(func(s *dingtalktest.Server) { s.Hang, s.Malformed = false, 1 })
	if err := s.Deliver(context.Background(), punchEv(t, "1001", base)); !errors.Is(err, cloud.ErrMalformed) || errors.Is(err, sinks.ErrPermanent) {
		t.Fatalf("malformed: %v", err)
	}
}

// Of a punch only the userid, the device and the time leave: no card
// number, no other field (the double refuses unknown fields).
func TestOnlyPunchFields(t *testing.T) {
	clk := cloudtest.NewClock(base)
	srv := newServer(t, clk)
	s := newSink(t, srv, clk, staff(t), func(o *dingtalk.Options) { o.DeviceName = "东门考勤机" })
	ev := cloudtest.EventOf(t, "t1", "attendance.punch", base, map[string]any{"person": "1001", "credential": "card",
		"state": "in", "card": "12:4660", "raw": map[string]any{"verify": 1}})
	if err := s.Deliver(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if err := s.Deliver(context.Background(), cloudtest.EventOf(t, "k1", "visitor.checked_in", base, map[string]any{"host": "1001"})); err != nil {
		t.Fatal(err)
	}
	r := srv.Records()
	if len(r) != 1 || r[0].DeviceName != "东门考勤机" || r[0].UserCheckTime != base.UnixMilli() || r[0].UserID != "manager4220" {
		t.Fatalf("records %+v", r)
	}
}

// The appsecret and the token appear in no error, dead letter or log line.
func TestSecretsNeverLeak(t *testing.T) {
	clk := cloudtest.NewClock(base)
	srv := newServer(t, clk)
	sf := filepath.Join(t.TempDir(), "appsecret")
	if err := os.WriteFile(sf, []byte(appSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := dingtalk.FromSettings(sinks.Settings{"appkey": appKey, "appsecret_file": sf, "base_url": srv.URL,
		"timeout": "100ms"}, cloud.People(staff(t), people.DingTalk))
	if err != nil {
		t.Fatal(err)
	}
	cloudtest.SecretsNeverLeak(t, cloudtest.Leak{Double: srv.Double, Sink: s, At: base, Secret: appSecret,
		SetSecret: func(v string) { srv.Set(func(s *dingtalktest.Server) { s.AppSecret = v }) },
		Forbidden: []string{"access_token=", "appsecret="}})
}

func TestFromSettings(t *testing.T) {
	sf := filepath.Join(t.TempDir(), "s")
	os.WriteFile(sf, []byte(appSecret), 0o600)
	for _, c := range []struct {
		s    sinks.Settings
		want string
	}{
		{sinks.Settings{"appkey": appKey, "appsecret_file": sf}, ""},
		{sinks.Settings{"appkey": appKey, "appsecret": appSecret}, `unknown setting "appsecret"`},
		{sinks.Settings{"appsecret_file": sf}, "appkey is required"},
		{sinks.Settings{"appkey": appKey}, "appsecret_file is required"},
		{sinks.Settings{"appkey": appKey, "appsecret_file": sf, "timeout": "0s"}, "timeout"},
	} {
		_, err := dingtalk.FromSettings(c.s, nil)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("FromSettings(%v) = %v, want %q", c.s, err, c.want)
		}
	}
}
