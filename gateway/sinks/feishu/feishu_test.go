package feishu_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/gateway/sinks/feishu"
	"github.com/officegate/officegate/gateway/sinks/feishu/feishutest"
	"github.com/officegate/officegate/gateway/sinks/internal/cloud"
	"github.com/officegate/officegate/gateway/sinks/internal/cloudtest"
	"github.com/officegate/officegate/provisioning/people"
)

const (
	appID     = "cli_slkdjalasdkjasd"
	appSecret = "dskLLdkasdjlasdKK-feishu-SECRET-42"
)

var base = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

func staff(t *testing.T) *people.Directory {
	return cloudtest.Directory(t,
		people.Person{ID: "1001", Feishu: "abd754f7"},
		people.Person{ID: "1002", Feishu: "c0ffee01"},
		people.Person{ID: "9999", Feishu: "departed"})
}

func newServer(t *testing.T, clk *cloudtest.Clock) *feishutest.Server {
	srv := feishutest.NewServer(appID, appSecret, "abd754f7", "c0ffee01")
	srv.Set(func(s *feishutest.Server) { s.Now = clk.Now })
	t.Cleanup(srv.Close)
	return srv
}

func newSink(t *testing.T, srv *feishutest.Server, clk *cloudtest.Clock, d *people.Directory, mod func(*feishu.Options)) *feishu.Sink {
	t.Helper()
	o := feishu.Options{AppID: appID, AppSecret: appSecret, People: cloud.People(d, people.Feishu), Now: clk.Now}
	o.Base, o.Timeout = srv.URL, 5*time.Second
	if mod != nil {
		mod(&o)
	}
	s, err := feishu.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func punchEv(t *testing.T, person string, at time.Time) sinks.Event {
	return cloudtest.EventOf(t, "t1", "attendance.punch", at, map[string]any{"person": person, "credential": "card", "state": "out"})
}

// Feishu down while punches arrive on two terminals: afterwards every
// punch is imported, each terminal's in order, none dead-lettered.
func TestDownThenDeliveredInOrder(t *testing.T) {
	clk := cloudtest.NewClock(base)
	srv := newServer(t, clk)
	srv.Set(func(s *feishutest.Server) { s.Down = -1 })
	h := cloudtest.Start(t, "feishu", newSink(t, srv, clk, staff(t), nil), nil)
	byDevice := map[string][]string{}
	for i := range 30 {
		dev := []string{"t1", "t2"}[i%2]
		id := h.Punch(t, dev, []string{"1001", "1002"}[i%2], base.Add(time.Duration(i)*time.Minute))
		byDevice[dev] = append(byDevice[dev], id)
	}
	cloudtest.WaitFor(t, "retries", func() bool { _, f, _ := h.Counts(); return f >= 5 })
	srv.Set(func(s *feishutest.Server) { s.Down = 0 })
	cloudtest.WaitFor(t, "every punch", func() bool { return len(srv.Flows()) == 30 })
	got := map[string][]string{}
	for _, f := range srv.Flows() {
		got[f.LocationName] = append(got[f.LocationName], strings.TrimPrefix(f.Comment, "officegate "))
		if f.CreatorID != f.UserID || f.EmployeeType != "employee_id" {
			t.Errorf("flow %+v", f)
		}
	}
	for dev, ids := range byDevice {
		if strings.Join(got[dev], ",") != strings.Join(ids, ",") {
			t.Errorf("device %s: %v, want %v", dev, got[dev], ids)
		}
	}
	if _, _, dl := h.Counts(); dl != 0 {
		t.Fatalf("%d dead letters", dl)
	}
}

// One refused record in a batch is dead-lettered alone; the others go, in
// order; through the runner, with an alarm.
func TestPoisonRecord(t *testing.T) {
	clk := cloudtest.NewClock(base)
	srv := newServer(t, clk)
	s := newSink(t, srv, clk, staff(t), nil)
	var evs []sinks.Event
	for i, p := range []string{"1001", "1002", "9999", "1001", "1002"} {
		evs = append(evs, punchEv(t, p, base.Add(time.Duration(i)*time.Second)))
	}
	errs := feishu.DeliverAll(s, context.Background(), evs)
	for i, err := range errs {
		if (i == 2) != (err != nil) || (err != nil && !errors.Is(err, sinks.ErrPermanent)) {
			t.Errorf("event %d: %v", i, err)
		}
	}
	var secs []string
	for _, f := range srv.Flows() {
		n, _ := strconv.ParseInt(f.CheckTime, 10, 64)
		secs = append(secs, strconv.FormatInt(n-base.Unix(), 10))
	}
	if strings.Join(secs, ",") != "0,1,3,4" {
		t.Fatalf("flows at %v", secs)
	}
	h := cloudtest.Start(t, "feishu", s, nil)
	bad := h.Punch(t, "t1", "9999", base)
	h.Punch(t, "t1", "1001", base)
	cloudtest.WaitFor(t, "alarm", func() bool { return len(h.Alarms()) == 1 && len(srv.Flows()) == 5 })
	if a := h.Alarms()[0]; a.ID != bad || !strings.Contains(a.Error, "1220004") {
		t.Fatalf("alarm %+v", a)
	}
}

// The tenant token is reused, renewed before it expires (Feishu gives a
// new one only in its last 30 minutes), and fetched again when refused.
func TestTokenRefresh(t *testing.T) {
	clk := cloudtest.NewClock(base)
	srv := newServer(t, clk)
	s := newSink(t, srv, clk, staff(t), nil)
	deliver := func() {
		t.Helper()
		if err := s.Deliver(context.Background(), punchEv(t, "1001", base)); err != nil {
			t.Fatal(err)
		}
	}
	for step := range 20 {
		deliver()
		clk.Add(10 * time.Minute) // 200 minutes: the first token expires at 120
		_ = step
	}
	if n, calls := len(srv.Flows()), srv.Count("/open-apis/attendance/v1/user_flows/batch_create"); n != 20 || calls != 20 {
		t.Fatalf("%d flows in %d calls: a call was refused for its token", n, calls)
	}
	if n := srv.Count("/open-apis/auth/v3/tenant_access_token/internal"); n < 2 || n > 5 {
		t.Fatalf("%d token requests over 200 minutes", n)
	}
	srv.Revoke()
	deliver()
	if n := len(srv.Flows()); n != 21 {
		t.Fatalf("%d flows after a revoked token", n)
	}
}

// A rate-limited call (429, 99991400) is retried no sooner than
// x-ogw-ratelimit-reset, never dead-lettered.
func TestRateLimitBackedOff(t *testing.T) {
	clk := cloudtest.NewClock(base)
	srv := newServer(t, clk)
	s := newSink(t, srv, clk, staff(t), nil)
	srv.Set(func(s *feishutest.Server) { s.RateLimit, s.Reset = 1, 7 })
	err := s.Deliver(context.Background(), punchEv(t, "1001", base))
	if err == nil || errors.Is(err, sinks.ErrPermanent) || sinks.RetryDelay(err) != 7*time.Second {
		t.Fatalf("%v, retry after %v; want 7s", err, sinks.RetryDelay(err))
	}
	srv.Set(func(s *feishutest.Server) { s.RateLimit = 3 })
	h := cloudtest.Start(t, "feishu", s, nil)
	h.Punch(t, "t1", "1001", base)
	cloudtest.WaitFor(t, "delivery", func() bool { return len(srv.Flows()) == 1 })
	if _, f, dl := h.Counts(); f < 3 || dl != 0 {
		t.Fatalf("%d retries %d dead letters", f, dl)
	}
}

// An unmapped person's punch is held, then imported once mapped.
func TestUnmappedHeldThenDelivered(t *testing.T) {
	clk := cloudtest.NewClock(base)
	srv := newServer(t, clk)
	d := staff(t)
	h := cloudtest.Start(t, "feishu", newSink(t, srv, clk, d, nil), d)
	h.Punch(t, "t1", "4242", base)
	h.Punch(t, "t1", "1001", base)
	cloudtest.WaitFor(t, "held", func() bool { return len(h.Held()) == 1 && len(srv.Flows()) == 1 })
	srv.Set(func(s *feishutest.Server) { s.Users["beef0042"] = true })
	if err := d.Put(people.Person{ID: "4242", Feishu: "beef0042"}); err != nil {
		t.Fatal(err)
	}
	cloudtest.WaitFor(t, "delivered", func() bool { return len(srv.Flows()) == 2 && len(h.Held()) == 0 })
}

// Hangs and malformed replies are retried; only documented fields leave.
func TestHangMalformedAndFields(t *testing.T) {
	clk := cloudtest.NewClock(base)
	srv := newServer(t, clk)
	opts := func(o *feishu.Options) {
		o.Location, o.CreatorID, o.EmployeeType = "西溪八方城", "admin01", "employee_no"
	}
	s := newSink(t, srv, clk, staff(t), func(o *feishu.Options) { opts(o); o.Timeout = 100 * time.Millisecond })
	srv.Set(func(s *feishutest.Server) { s.Hang = true })
	if err := s.Deliver(context.Background(), punchEv(t, "1001", base)); !cloudtest.TimedOut(err) {
		t.Fatalf("hang: %v, want a timeout to retry", err)
	}
	// The rest with a sink whose timeout a loaded machine cannot reach.
	s = newSink(t, srv, clk, staff(t), opts)
	srv.Set(func(s *feishutest.Server) { s.Hang, s.Malformed = false, 1 })
	if err := s.Deliver(context.Background(), punchEv(t, "1001", base)); !errors.Is(err, cloud.ErrMalformed) {
		t.Fatalf("malformed: %v", err)
	}
	ev := cloudtest.EventOf(t, "t1", "attendance.punch", base, map[string]any{"person": "1001", "credential": "card",
		"state": "in", "card": "12:4660"})
	if err := s.Deliver(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	f := srv.Flows()
	if len(f) != 1 || f[0].LocationName != "西溪八方城" || f[0].CreatorID != "admin01" || f[0].EmployeeType != "employee_no" ||
		f[0].CheckTime != strconv.FormatInt(base.Unix(), 10) || strings.Contains(f[0].Comment, "4660") {
		t.Fatalf("flows %+v", f)
	}
}

// The app secret and tenant token appear in no error, alarm or log line.
func TestSecretsNeverLeak(t *testing.T) {
	clk := cloudtest.NewClock(base)
	srv := newServer(t, clk)
	sf := filepath.Join(t.TempDir(), "app_secret")
	if err := os.WriteFile(sf, []byte(appSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := feishu.FromSettings(sinks.Settings{"app_id": appID, "app_secret_file": sf, "base_url": srv.URL,
		"timeout": "100ms"}, cloud.People(staff(t), people.Feishu))
	if err != nil {
		t.Fatal(err)
	}
	cloudtest.SecretsNeverLeak(t, cloudtest.Leak{Double: srv.Double, Sink: s, At: base, Secret: appSecret,
		SetSecret: func(v string) { srv.Set(func(s *feishutest.Server) { s.AppSecret = v }) },
		Forbidden: []string{"Bearer"}})
}

func TestFromSettings(t *testing.T) {
	sf := filepath.Join(t.TempDir(), "s")
	os.WriteFile(sf, []byte(appSecret), 0o600)
	for _, c := range []struct {
		s    sinks.Settings
		want string
	}{
		{sinks.Settings{"app_id": appID, "app_secret_file": sf}, ""},
		{sinks.Settings{"app_id": appID, "app_secret_file": sf, "employee_type": "open_id"}, "employee_type"},
		{sinks.Settings{"app_id": appID, "app_secret_file": sf, "batch": "0"}, "batch"},
		{sinks.Settings{"app_id": appID, "app_secret": appSecret}, `unknown setting "app_secret"`},
	} {
		_, err := feishu.FromSettings(c.s, nil)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("FromSettings(%v) = %v, want %q", c.s, err, c.want)
		}
	}
}
