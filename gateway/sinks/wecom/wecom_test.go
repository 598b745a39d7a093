package wecom_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/gateway/sinks/internal/cloud"
	"github.com/officegate/officegate/gateway/sinks/internal/cloudtest"
	"github.com/officegate/officegate/gateway/sinks/wecom"
	"github.com/officegate/officegate/gateway/sinks/wecom/wecomtest"
	"github.com/officegate/officegate/provisioning/people"
)

const (
	corpID = "ww0123456789abcdef"
	secret = "S3cr3t-corp-SECRET-value-7f1bcd13"
)

// staff is the person directory of the tests: 9999 is mapped, but WeCom
// no longer has them.
func staff(t *testing.T) *people.Directory {
	return cloudtest.Directory(t,
		people.Person{ID: "1001", WeCom: "zhangsan"},
		people.Person{ID: "1002", WeCom: "lisi"},
		people.Person{ID: "1003", WeCom: "wangwu"},
		people.Person{ID: "9999", WeCom: "departed"})
}

var base = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

func newSink(t *testing.T, srv *wecomtest.Server, clk *cloudtest.Clock, mod func(*wecom.Options)) *wecom.Sink {
	t.Helper()
	return newSinkDir(t, srv, clk, staff(t), mod)
}

func newSinkDir(t *testing.T, srv *wecomtest.Server, clk *cloudtest.Clock, d *people.Directory, mod func(*wecom.Options)) *wecom.Sink {
	t.Helper()
	o := wecom.Options{CorpID: corpID, Secret: secret, People: cloud.People(d, people.WeCom), Now: clk.Now}
	o.Base = srv.URL
	o.Timeout = 5 * time.Second
	if mod != nil {
		mod(&o)
	}
	s, err := wecom.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newServer(t *testing.T, clk *cloudtest.Clock) *wecomtest.Server {
	srv := wecomtest.NewServer(corpID, secret, "zhangsan", "lisi", "wangwu")
	srv.Set(func(s *wecomtest.Server) { s.Now = clk.Now })
	t.Cleanup(srv.Close)
	return srv
}

// WeCom down for a while (a proxy answering 502) while punches arrive on
// two terminals: nothing is lost or dead-lettered, and once WeCom is back
// every punch is there, each terminal's in the order punched.
func TestDownThenDeliveredInOrder(t *testing.T) {
	clk := cloudtest.NewClock(base)
	srv := newServer(t, clk)
	srv.Set(func(s *wecomtest.Server) { s.Down = -1 })
	h := cloudtest.Start(t, "wecom", newSink(t, srv, clk, nil), nil)

	var want []string // event ids, by device, in order
	byDevice := map[string][]string{}
	for i := range 30 {
		dev := []string{"t1", "t2"}[i%2]
		person := []string{"1001", "1002", "1003"}[i%3]
		id := h.Punch(t, dev, person, base.Add(time.Duration(i)*time.Minute))
		want = append(want, id)
		byDevice[dev] = append(byDevice[dev], id)
	}
	cloudtest.WaitFor(t, "retries while down", func() bool { _, f, _ := h.Counts(); return f >= 5 })
	if d, _, dl := h.Counts(); d != 0 || dl != 0 || len(srv.Records()) != 0 {
		t.Fatalf("while down: %d delivered, %d dead letters, %d records", d, dl, len(srv.Records()))
	}
	srv.Set(func(s *wecomtest.Server) { s.Down = 0 })
	cloudtest.WaitFor(t, "every punch delivered", func() bool { return len(srv.Records()) == len(want) })

	got := map[string][]string{}
	for _, r := range srv.Records() {
		id := strings.TrimPrefix(r.Notes, "officegate ")
		got[r.LocationTitle] = append(got[r.LocationTitle], id)
		if r.DeviceType != 2 || r.DeviceDetail != "officegate" {
			t.Errorf("record %+v: want device_type 2, device_detail officegate", r)
		}
	}
	for dev, ids := range byDevice {
		if strings.Join(got[dev], ",") != strings.Join(ids, ",") {
			t.Errorf("device %s: delivered %v, want %v in order", dev, got[dev], ids)
		}
	}
	if _, _, dl := h.Counts(); dl != 0 {
		t.Errorf("%d dead letters", dl)
	}
}

// A punch WeCom refuses for good (its user is gone) is dead-lettered with
// an alarm; the punches before and after it are delivered.
func TestPoisonRecordDeadLettered(t *testing.T) {
	clk := cloudtest.NewClock(base)
	srv := newServer(t, clk)
	h := cloudtest.Start(t, "wecom", newSink(t, srv, clk, nil), nil)
	h.Punch(t, "t1", "1001", base)
	bad := h.Punch(t, "t1", "9999", base.Add(time.Minute))
	h.Punch(t, "t1", "1002", base.Add(2*time.Minute))
	cloudtest.WaitFor(t, "the good punches", func() bool { return len(srv.Records()) == 2 })
	cloudtest.WaitFor(t, "the alarm", func() bool { return len(h.Alarms()) == 1 })
	if a := h.Alarms()[0]; a.ID != bad || !strings.Contains(a.Error, "60111") {
		t.Fatalf("alarm %+v, want event %s refused with 60111", a, bad)
	}
	if r := srv.Records(); r[0].UserID != "zhangsan" || r[1].UserID != "lisi" {
		t.Fatalf("records %+v", r)
	}
}

// In a batch WeCom takes or refuses whole, one bad record costs only
// itself: the others are delivered, in order, and the bad one is refused
// for good.
func TestBatchBisectsToTheBadRecord(t *testing.T) {
	clk := cloudtest.NewClock(base)
	srv := newServer(t, clk)
	s := newSink(t, srv, clk, nil)
	var evs []sinks.Event
	for i, p := range []string{"1001", "1002", "1003", "9999", "1001", "1002", "1003"} {
		evs = append(evs, cloudtest.EventOf(t, "t1", "attendance.punch", base.Add(time.Duration(i)*time.Second),
			map[string]any{"person": p, "credential": "card", "state": "in"}))
	}
	errs := wecom.DeliverAll(s, context.Background(), evs)
	for i, err := range errs {
		if (i == 3) != (err != nil) || (err != nil && !errors.Is(err, sinks.ErrPermanent)) {
			t.Errorf("event %d: %v", i, err)
		}
	}
	var times []int64
	for _, r := range srv.Records() {
		times = append(times, r.CheckinTime-base.Unix())
	}
	if got := len(times); got != 6 || times[3] != 4 {
		t.Fatalf("records at %v, want 6 in order without the 4th", times)
	}
	if n := srv.Count("/cgi-bin/checkin/add_checkin_record"); n > 7 {
		t.Errorf("%d calls for 7 records with one bad", n)
	}
}

// More than 200 punches go in calls of at most 200 (document 99647).
func TestBatchLimit(t *testing.T) {
	clk := cloudtest.NewClock(base)
	srv := newServer(t, clk)
	s := newSink(t, srv, clk, nil)
	var evs []sinks.Event
	for i := range 450 {
		evs = append(evs, cloudtest.EventOf(t, "t1", "attendance.punch", base.Add(time.Duration(i)*time.Second),
			map[string]any{"person": "1001", "credential": "card", "state": "in"}))
	}
	for i, err := range wecom.DeliverAll(s, context.Background(), evs) {
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	if n, calls := len(srv.Records()), srv.Count("/cgi-bin/checkin/add_checkin_record"); n != 450 || calls != 3 {
		t.Fatalf("%d records in %d calls, want 450 in 3", n, calls)
	}
}

// The token is fetched once and reused, renewed before it expires (no
// call is refused for an expired token), and fetched again at once when
// WeCom invalidates it early (40014): the punch still goes through in the
// same delivery.
func TestTokenRefresh(t *testing.T) {
	clk := cloudtest.NewClock(base)
	srv := newServer(t, clk)
	s := newSink(t, srv, clk, nil)
	punch := func(i int) error {
		return s.Deliver(context.Background(), cloudtest.EventOf(t, "t1", "attendance.punch",
			base.Add(time.Duration(i)*time.Second), map[string]any{"person": "1001", "credential": "card", "state": "in"}))
	}
	for i := range 3 {
		if err := punch(i); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.Count("/cgi-bin/gettoken"); n != 1 {
		t.Fatalf("%d token fetches for 3 punches, want 1 (cached)", n)
	}
	clk.Add(7200*time.Second - 4*time.Minute) // inside the renewal margin
	if err := punch(3); err != nil {
		t.Fatal(err)
	}
	if n := srv.Count("/cgi-bin/gettoken"); n != 2 {
		t.Fatalf("%d token fetches, want a renewal before expiry", n)
	}
	srv.Revoke()
	if err := punch(4); err != nil {
		t.Fatalf("after WeCom revoked the token: %v", err)
	}
	if n := srv.Count("/cgi-bin/gettoken"); n != 3 {
		t.Fatalf("%d token fetches, want one more after 40014", n)
	}
	if n := len(srv.Records()); n != 5 {
		t.Fatalf("%d records, want 5", n)
	}
}

// Rate limited (45009) and busy (-1) are backed off and retried, never
// dead-lettered.
func TestRateLimitBackedOff(t *testing.T) {
	clk := cloudtest.NewClock(base)
	srv := newServer(t, clk)
	srv.Set(func(s *wecomtest.Server) { s.RateLimit, s.Busy = 4, 2 })
	h := cloudtest.Start(t, "wecom", newSink(t, srv, clk, nil), nil)
	for i := range 3 {
		h.Punch(t, "t1", "1001", base.Add(time.Duration(i)*time.Second))
	}
	cloudtest.WaitFor(t, "delivery", func() bool { return len(srv.Records()) == 3 })
	if _, f, dl := h.Counts(); f < 6 || dl != 0 {
		t.Fatalf("%d retries, %d dead letters: want ≥ 6 retries (4 rate limited, 2 busy), none dead", f, dl)
	}
}

// A punch whose person has no WeCom user id is held, never sent with a
// guess, and the punches after it go on; once the directory maps the
// person, the held punch is delivered.
func TestUnmappedHeldThenDelivered(t *testing.T) {
	clk := cloudtest.NewClock(base)
	srv := newServer(t, clk)
	d := staff(t)
	h := cloudtest.Start(t, "wecom", newSinkDir(t, srv, clk, d, nil), d)
	held := h.Punch(t, "t1", "4242", base)
	h.Punch(t, "t1", "1001", base.Add(time.Minute))
	cloudtest.WaitFor(t, "the mapped punch", func() bool { return len(srv.Records()) == 1 })
	// The runner raises the hold alarm after it lists the held record: wait
	// for both.
	cloudtest.WaitFor(t, "the held punch, alarmed", func() bool { return len(h.Held()) == 1 && len(h.HoldAlarms()) > 0 })
	if hd := h.Held()[0]; hd.ID != held || hd.Person != "4242" || hd.Platform != "wecom" {
		t.Fatalf("held %+v", hd)
	}
	if a := h.HoldAlarms(); len(a) != 1 {
		t.Fatalf("%d hold alarms, want 1", len(a))
	}
	srv.Set(func(s *wecomtest.Server) { s.Users["zhaoliu"] = true })
	if err := d.Put(people.Person{ID: "4242", WeCom: "zhaoliu"}); err != nil {
		t.Fatal(err)
	}
	cloudtest.WaitFor(t, "the held punch delivered", func() bool { return len(srv.Records()) == 2 })
	if r := srv.Records()[1]; r.UserID != "zhaoliu" || r.Notes != "officegate "+held {
		t.Fatalf("record %+v", r)
	}
	cloudtest.WaitFor(t, "nothing held", func() bool { return len(h.Held()) == 0 })
	if _, _, dl := h.Counts(); dl != 0 {
		t.Fatalf("%d dead letters", dl)
	}
}

// A punch whose person has no WeCom user id is never sent with a guess.
func TestUnmappedNotSent(t *testing.T) {
	clk := cloudtest.NewClock(base)
	srv := newServer(t, clk)
	s := newSink(t, srv, clk, nil)
	err := s.Deliver(context.Background(), cloudtest.EventOf(t, "t1", "attendance.punch", base,
		map[string]any{"person": "4242", "credential": "card", "state": "in"}))
	if !errors.Is(err, sinks.ErrUnmapped) || errors.Is(err, sinks.ErrPermanent) {
		t.Fatalf("Deliver: %v, want unmapped", err)
	}
	if n := srv.Count("/cgi-bin/checkin/add_checkin_record"); n != 0 {
		t.Fatalf("%d calls for an unmapped punch", n)
	}
}

// Only punches are sent, and of a punch only the user id and the time:
// never the card number (the double refuses any field its page does not
// list, and the body is searched for the card).
func TestOnlyPunchesAndNoCard(t *testing.T) {
	clk := cloudtest.NewClock(base)
	srv := newServer(t, clk)
	s := newSink(t, srv, clk, func(o *wecom.Options) { o.LocationTitle, o.DeviceType = "HQ 3F east door", 1 })
	for _, ev := range []sinks.Event{
		cloudtest.EventOf(t, "k1", "visitor.checked_in", base, map[string]any{"invite_id": "inv-1", "name": "Ada", "host": "1001"}),
		cloudtest.EventOf(t, "t1", "attendance.punch", base, map[string]any{"person": "1001", "credential": "card", "state": "in",
			"card": "12:4660", "redacted": []string{"face_template"}}),
	} {
		if err := s.Deliver(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	recs := srv.Records()
	if len(recs) != 1 {
		t.Fatalf("%d records, want only the punch", len(recs))
	}
	b, _ := json.Marshal(recs[0])
	if strings.Contains(string(b), "4660") || recs[0].LocationTitle != "HQ 3F east door" || recs[0].DeviceType != 1 ||
		recs[0].CheckinTime != base.Unix() {
		t.Fatalf("record %s", b)
	}
}

// A server that never answers costs one timeout, and the delivery is
// retried (not dead-lettered); an HTML page where JSON is documented is a
// destination not working, retried too.
func TestHangAndMalformed(t *testing.T) {
	clk := cloudtest.NewClock(base)
	srv := newServer(t, clk)
	s := newSink(t, srv, clk, func(o *wecom.Options) { o.Timeout = 100 * time.Millisecond })
	ev := cloudtest.EventOf(t, "t1", "attendance.punch", base, map[string]any{"person": "1001", "credential": "card", "state": "in"})
	srv.Set(func(s *wecomtest.Server) { s.Hang = true })
	err := s.Deliver(context.Background(), ev)
	if !cloudtest.TimedOut(err) {
		t.Fatalf("hanging server: %v, want a timeout to retry", err)
	}
	// The rest with a sink whose timeout a loaded machine cannot reach.
	s = newSink(t, srv, clk, nil)
	srv.Set(func(s *wecomtest.Server) { s.Hang, s.Malformed = false, 1 })
	err = s.Deliver(context.Background(), ev)
	if !errors.Is(err, cloud.ErrMalformed) || errors.Is(err, sinks.ErrPermanent) {
		t.Fatalf("malformed reply: %v", err)
	}
	if err := s.Deliver(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
}

// The corp secret and the access token never appear in an error, a dead
// letter or the log, whatever goes wrong: a wrong secret, a hanging or
// broken server, a refused record.
func TestSecretsNeverLeak(t *testing.T) {
	clk := cloudtest.NewClock(base)
	srv := newServer(t, clk)
	sf := filepath.Join(t.TempDir(), "corpsecret")
	if err := os.WriteFile(sf, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := wecom.FromSettings(sinks.Settings{"corpid": corpID, "corpsecret_file": sf, "base_url": srv.URL, "timeout": "100ms"}, cloud.People(staff(t), people.WeCom))
	if err != nil {
		t.Fatal(err)
	}
	texts := cloudtest.SecretsNeverLeak(t, cloudtest.Leak{Double: srv.Double, Sink: s, At: base, Secret: secret,
		SetSecret: func(v string) { srv.Set(func(s *wecomtest.Server) { s.Secret = v }) }, // a wrong one: 40001 on the token fetch
		Forbidden: []string{"access_token=", "corpsecret="}})
	if !strings.Contains(strings.Join(texts, "\n"), "/cgi-bin/") {
		t.Errorf("errors should name the endpoint: %q", texts)
	}
}

func TestFromSettings(t *testing.T) {
	dir := t.TempDir()
	sf := filepath.Join(dir, "secret")
	os.WriteFile(sf, []byte(secret), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	for _, c := range []struct {
		s    sinks.Settings
		want string
	}{
		{sinks.Settings{"corpid": corpID, "corpsecret_file": sf}, ""},
		{sinks.Settings{"corpid": corpID, "corpsecret": secret}, `unknown setting "corpsecret"`},
		{sinks.Settings{"corpsecret_file": sf}, "corpid is required"},
		{sinks.Settings{"corpid": corpID, "corpsecret_file": filepath.Join(dir, "nope")}, "corpsecret_file"},
		{sinks.Settings{"corpid": corpID, "corpsecret_file": empty}, "is empty"},
		{sinks.Settings{"corpid": corpID, "corpsecret_file": sf, "device_type": "4"}, "device_type"},
		{sinks.Settings{"corpid": corpID, "corpsecret_file": sf, "device_detail": strings.Repeat("长", 41)}, "device_detail"},
		{sinks.Settings{"corpid": corpID, "corpsecret_file": sf, "base_url": "ftp://x"}, "base_url"},
	} {
		_, err := wecom.FromSettings(c.s, nil)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("FromSettings(%v) = %v, want %q", c.s, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("error quotes the secret: %v", err)
		}
	}
}
