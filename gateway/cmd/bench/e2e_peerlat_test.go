package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// A punch as the gateway renders it: the emit time under data.raw, in
// plain or exponent form, or under data itself.
const (
	punchRaw = `{"v":1,"id":"01JEXAMPLE","type":"attendance.punch","data":{"person":"10001","state":"in",` +
		`"raw":{"state":0,"t_us":1765000000123456,"verify":"card"}}}`
	punchExp    = `{"id":"x2","data":{"raw":{"t_us":1.765000000123456e+15,"verify":"card"}}}`
	punchInData = `{"id":"x3","data":{"t_us":1765000000123456}}`
)

// The raw peer's stamp replaces the device's emit time and nothing else:
// the subscriber reads back the id and exactly the time stamped.
func TestStampRoundTrip(t *testing.T) {
	at := time.UnixMicro(1_800_000_000_654_321)
	for _, p := range []string{punchRaw, punchExp, punchInData} {
		s, err := splitStamp([]byte(p))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		wantID, _, err := decodeEvent([]byte(p))
		if err != nil {
			t.Fatal(err)
		}
		out := s.at(at)
		id, tUs, err := decodeEvent(out)
		if err != nil || id != wantID || tUs != at.UnixMicro() {
			t.Errorf("%s stamped %v: %s read back as id %q, t_us %d, %v", p, at, out, id, tUs, err)
		}
		// Everything around the number is the gateway's payload, unchanged.
		i := bytes.Index(out, []byte("1800000000654321"))
		if i < 0 || string(out[:i])+"0"+string(out[i+16:]) != string(s.pre)+"0"+string(s.post) ||
			!strings.HasPrefix(p, string(s.pre)) || !strings.HasSuffix(p, string(s.post)) {
			t.Errorf("%s stamped as %s", p, out)
		}
		// A new payload each time: paho may still hold the last one.
		if o2 := s.at(at.Add(time.Second)); &o2[0] == &out[0] || bytes.Equal(o2, out) {
			t.Errorf("second stamp reused or equalled the first: %s", o2)
		}
	}
}

func TestSplitStampRefuses(t *testing.T) {
	for _, p := range []string{`{"id":"x"}`, `{"id":"x","data":{"t_us":"soon"}}`, `{"id":"x","data":{"t_us":}}`} {
		if s, err := splitStamp([]byte(p)); err == nil {
			t.Errorf("%s: split as %q | %q, want an error", p, s.pre, s.post)
		}
	}
	if _, err := stampAll([]message{{"a", []byte(punchRaw)}, {"b", []byte(`{"id":"y"}`)}}); err == nil || !strings.Contains(err.Error(), "message 1 on b") {
		t.Errorf("stampAll of a message without a stamp: %v", err)
	}
}

// The subscriber's latency comes from the stamp: an event stamped an hour
// ago is an hour late (give or take this test's own minutes).
func TestSubscriberLatencyFromStamp(t *testing.T) {
	s, err := splitStamp([]byte(punchRaw))
	if err != nil {
		t.Fatal(err)
	}
	sub := newSubscriber("", "")
	sub.onMessage(nil, testMessage{topic: "t", payload: s.at(time.Now().Add(-time.Hour))})
	sub.onMessage(nil, testMessage{topic: "t", payload: []byte(`{"id":"no-stamp"}`)})
	lat := sub.latencies()
	if len(lat) != 1 || lat[0] < time.Hour || lat[0] > time.Hour+10*time.Minute {
		t.Errorf("latencies %v, want one of an hour", lat)
	}
	if sm := sub.sample(); sm.unique != 2 || sm.bad != 0 {
		t.Errorf("sample %+v, want 2 ids, none bad", sm)
	}
}

// The distribution's quantiles are nearest-rank, and the gateway's own
// share is the difference of the medians alone.
func TestRawLatencyAccounting(t *testing.T) {
	var gw, raw []time.Duration
	for i := 1; i <= 100; i++ {
		gw = append(gw, time.Duration(i)*time.Millisecond)
		raw = append(raw, time.Duration(i)*100*time.Microsecond)
	}
	var r e2eResult
	r.setLatency(distOf(gw))
	r.setRawLatency(distOf(raw), 999.6)
	want := e2eResult{LatencyEvents: 100, P50Ms: 51, P90Ms: 91, P99Ms: 100, MaxMs: 100,
		RawLatencyEvents: 100, RawOfferedPerS: 1000, RawP50Ms: 5.1, RawP90Ms: 9.1, RawP99Ms: 10, RawMaxMs: 10,
		GatewayShareP50Ms: 45.9}
	if r.LatencyEvents != want.LatencyEvents || r.P50Ms != want.P50Ms || r.P90Ms != want.P90Ms || r.P99Ms != want.P99Ms || r.MaxMs != want.MaxMs ||
		r.RawLatencyEvents != want.RawLatencyEvents || r.RawOfferedPerS != want.RawOfferedPerS || r.RawP50Ms != want.RawP50Ms ||
		r.RawP90Ms != want.RawP90Ms || r.RawP99Ms != want.RawP99Ms || r.RawMaxMs != want.RawMaxMs || r.GatewayShareP50Ms != want.GatewayShareP50Ms {
		t.Errorf("got %+v\nwant %+v", r, want)
	}
}

// The printout shows both distributions and holds the p99 to the run's
// own window + 2 ms, beside the earlier fixed 5 ms.
func TestPrintLatencyGoals(t *testing.T) {
	for _, c := range []struct {
		window, p99 float64
		want        []string // on the p99 line
	}{
		{10, 11.9, []string{"≤ 12 ms (window + 2): met", "≤ 5 ms: missed"}},
		{10, 12.1, []string{"≤ 12 ms (window + 2): missed"}},
		{20, 21.5, []string{"≤ 22 ms (window + 2): met"}},
		{1, 2.5, []string{"≤ 3 ms (window + 2): met", "≤ 5 ms: met"}},
	} {
		r := e2eResult{SyncWindowMs: c.window, P50Ms: 7.8, P90Ms: 9.5, P99Ms: c.p99, MaxMs: 27.1,
			RawP50Ms: 0.41, RawP90Ms: 0.77, RawP99Ms: 2.34, RawMaxMs: 6.1, GatewayShareP50Ms: 7.39, CPURatio: 2.4}
		var b bytes.Buffer
		printE2E(&b, e2eConfig{}, r)
		lines := map[string]string{}
		for l := range strings.Lines(b.String()) {
			f := strings.Fields(l)
			if len(f) > 0 {
				lines[f[0]] += l
			}
		}
		for k, want := range map[string][]string{
			"p99":     append([]string{"2.34 ms"}, c.want...),
			"latency": {"7.80 ms", "0.41 ms", "7.39 ms the gateway's own"},
			"p90":     {"9.50 ms", "0.77 ms"},
			"max":     {"27.1 ms", "6.1 ms"},
			"CPU":     {"≤ 2.5: met", "≤ 1.3: missed"},
		} {
			for _, s := range want {
				if !strings.Contains(lines[k], s) {
					t.Errorf("window %g, p99 %g: no %q in the %s line %q\n%s", c.window, c.p99, s, k, lines[k], b.String())
				}
			}
		}
	}
}

func TestPace(t *testing.T) {
	var got []int
	if err := pace(t.Context(), 1e5, 5, func(k int) error { got = append(got, k); return nil }); err != nil || len(got) != 5 || got[0] != 0 || got[4] != 4 {
		t.Errorf("pace: %v, calls %v", err, got)
	}
	stop := errors.New("stop")
	got = nil
	if err := pace(t.Context(), 1e5, 5, func(k int) error { got = append(got, k); return map[bool]error{true: stop}[k == 2] }); err != stop || len(got) != 3 {
		t.Errorf("pace stopped by its func: %v, calls %v", err, got)
	}
	ctx, cancel := context.WithCancel(t.Context())
	got = nil
	// One call a day: the second waits until the context ends.
	if err := pace(ctx, 1.0/86400, 2, func(k int) error { got = append(got, k); cancel(); return nil }); !errors.Is(err, context.Canceled) || len(got) != 1 {
		t.Errorf("pace after cancel: %v, calls %v", err, got)
	}
}

// testMessage is a received message for the subscriber's handler.
type testMessage struct {
	topic   string
	payload []byte
}

func (m testMessage) Duplicate() bool   { return false }
func (m testMessage) Qos() byte         { return 1 }
func (m testMessage) Retained() bool    { return false }
func (m testMessage) Topic() string     { return m.topic }
func (m testMessage) MessageID() uint16 { return 1 }
func (m testMessage) Payload() []byte   { return m.payload }
func (m testMessage) Ack()              {}
