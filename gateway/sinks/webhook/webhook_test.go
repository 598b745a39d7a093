package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/gateway/sinks/filesink"
	"github.com/officegate/officegate/gateway/sinks/sinkstest"
	"github.com/officegate/officegate/gateway/sinks/webhook"
	"github.com/officegate/officegate/gateway/sinks/webhook/webhooktest"
)

var secret = []byte("whsec-7Hq2-not-for-logs")

func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func newSink(t *testing.T, s sinks.Settings) sinks.Sink {
	t.Helper()
	sk, err := webhook.FromSettings(s)
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

// byDevice groups received ids per device, in the order received.
func byDevice(msgs []webhooktest.Message) map[string][]string {
	out := map[string][]string{}
	for _, m := range msgs {
		out[m.Device] = append(out[m.Device], m.ID)
	}
	return out
}

// A backlog goes in signed batches of the configured size, in journal
// order; one event alone goes alone, keyed by its id.
func TestSignedBatches(t *testing.T) {
	srv := webhooktest.New(secret, false)
	defer srv.Close()
	j := sinkstest.OpenJournal(t, journal.Consumer{Name: "hr", Streams: []string{"attendance"}})
	want := map[string][]string{}
	var all []string
	for i := range 250 {
		dev := []string{"t1", "t2"}[i%2]
		id := sinkstest.Punch(t, j, dev, i)
		want[dev] = append(want[dev], id)
		all = append(all, id)
	}
	sk := newSink(t, sinks.Settings{"url": srv.URL + "/hook", "batch": "100", "secret_file": writeFile(t, "key", append(secret, '\n'))})
	m := &sinkstest.Counts{}
	sinkstest.StartRunner(t, j, sk, sinks.Options{Name: "hr", Streams: []string{"attendance"}, Metrics: m})
	sinkstest.WaitFor(t, "250 delivered", func() bool { d, _, _ := m.Get(); return d == 250 })
	all = append(all, sinkstest.Punch(t, j, "t1", 250))
	sinkstest.WaitFor(t, "the late one", func() bool { d, _, _ := m.Get(); return d == 251 })

	reqs := srv.Requests()
	var sizes []int
	for _, r := range reqs {
		sizes = append(sizes, len(r.IDs))
		if r.Status != http.StatusOK || !r.Signed {
			t.Fatalf("request %+v: want 200 and a valid signature", r)
		}
		wantKey := r.IDs[0]
		if len(r.IDs) > 1 {
			wantKey += ".." + r.IDs[len(r.IDs)-1]
		}
		if r.Key != wantKey {
			t.Fatalf("Idempotency-Key %q, want %q", r.Key, wantKey)
		}
	}
	if !slices.Equal(sizes, []int{100, 100, 50, 1}) {
		t.Fatalf("request sizes %v, want [100 100 50 1]", sizes)
	}
	var got []string
	for _, msg := range srv.Messages() {
		got = append(got, msg.ID)
		if msg.Topic != sinkstest.Topics.Event(msg.Device, "attendance.punch") || msg.Type != "attendance.punch" {
			t.Fatalf("message %s: topic %q type %q", msg.ID, msg.Topic, msg.Type)
		}
	}
	if !slices.Equal(got, all) || srv.Redelivered() != 0 {
		t.Fatalf("received %d (redelivered %d), out of order or not all", len(got), srv.Redelivered())
	}
}

// A receiver verifying by the documented recipe (webhooktest.Verify, the
// standard library only) accepts the sink's requests, and rejects a body
// changed by one byte, another key, and a stale timestamp.
func TestSignatureRecipe(t *testing.T) {
	var mu sync.Mutex
	var header string
	var body []byte
	h := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		header, body = r.Header.Get("Officegate-Signature"), b
		mu.Unlock()
	}))
	defer h.Close()
	sent := time.Unix(1796547600, 0)
	sk, err := webhook.New(webhook.Opts{URL: h.URL, Secret: secret, Now: func() time.Time { return sent }})
	if err != nil {
		t.Fatal(err)
	}
	ev := event(t, "t1", 0)
	if n, err := sk.DeliverBatch(context.Background(), []sinks.Event{ev}); n != 1 || err != nil {
		t.Fatalf("DeliverBatch: %d, %v", n, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.HasPrefix(header, "t=1796547600,v1=") {
		t.Fatalf("signature header %q", header)
	}
	if err := webhooktest.Verify(secret, header, body, sent.Add(time.Minute), 5*time.Minute); err != nil {
		t.Fatalf("a consumer following the recipe rejects the request: %v", err)
	}
	var env struct {
		Events []struct {
			Message json.RawMessage `json:"message"`
		} `json:"events"`
	}
	if err := json.Unmarshal(body, &env); err != nil || !bytes.Equal(env.Events[0].Message, ev.Payload) {
		t.Fatalf("body %s: want the envelope as published (%v)", body, err)
	}
	tampered := bytes.Replace(body, []byte(`"t1"`), []byte(`"t2"`), 1)
	for name, err := range map[string]error{
		"tampered body": webhooktest.Verify(secret, header, tampered, sent, 5*time.Minute),
		"other key":     webhooktest.Verify([]byte("another key"), header, body, sent, 5*time.Minute),
		"replayed late": webhooktest.Verify(secret, header, body, sent.Add(10*time.Minute), 5*time.Minute),
		"no signature":  webhooktest.Verify(secret, "", body, sent, 5*time.Minute),
	} {
		if err == nil {
			t.Errorf("%s: verified", name)
		}
	}
}

func event(t *testing.T, dev string, n int) sinks.Event {
	t.Helper()
	o := sinkstest.Outbound(dev, n)
	topic, payload, err := o.Message(sinkstest.Topics, 0)
	if err != nil {
		t.Fatal(err)
	}
	return sinks.Event{ID: o.Event.ID, Device: dev, Type: o.Event.Type, Stream: "attendance", Seq: uint64(n + 1), Topic: topic, Payload: payload}
}

// Each answer is classified as doc.go §4 says: 2xx delivered; 408, 429,
// 5xx and no answer retried, after any Retry-After; other 4xx refused.
func TestAnswers(t *testing.T) {
	srv := webhooktest.New(nil, false)
	defer srv.Close()
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	sk, err := webhook.New(webhook.Opts{URL: srv.URL, Timeout: 500 * time.Millisecond, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ev := []sinks.Event{event(t, "t1", 0)}
	for _, c := range []struct {
		status     int
		retryAfter string
		permanent  bool
		delay      time.Duration
		class      string
	}{
		{408, "", false, 0, sinks.ClassStatus},
		{429, "30", false, 30 * time.Second, sinks.ClassStatus},
		{500, "", false, 0, sinks.ClassStatus},
		{503, now.Add(2 * time.Minute).Format(http.TimeFormat), false, 2 * time.Minute, sinks.ClassStatus},
		{503, "soon", false, 0, sinks.ClassStatus},
		{400, "", true, 0, sinks.ClassRefused},
		{401, "", true, 0, sinks.ClassRefused},
		{404, "", true, 0, sinks.ClassRefused},
		{422, "", true, 0, sinks.ClassRefused},
	} {
		srv.Down(c.status, c.retryAfter)
		n, err := sk.DeliverBatch(context.Background(), ev)
		if n != 0 || err == nil || errors.Is(err, sinks.ErrPermanent) != c.permanent ||
			sinks.RetryDelay(err) != c.delay || sinks.ClassOf(err) != c.class {
			t.Errorf("HTTP %d Retry-After %q: accepted %d, err %v (permanent %v, delay %v, class %q); want permanent %v delay %v class %q",
				c.status, c.retryAfter, n, err, errors.Is(err, sinks.ErrPermanent), sinks.RetryDelay(err), sinks.ClassOf(err),
				c.permanent, c.delay, c.class)
		}
	}
	srv.Down(0, "")
	srv.Hang(true)
	_, err = sk.DeliverBatch(context.Background(), ev)
	if err == nil || errors.Is(err, sinks.ErrPermanent) || sinks.ClassOf(err) != sinks.ClassTimeout {
		t.Errorf("a hung receiver: %v (class %q), want a timeout to retry", err, sinks.ClassOf(err))
	}
	srv.Hang(false)
	srv.Close()
	_, err = sk.DeliverBatch(context.Background(), ev)
	if err == nil || errors.Is(err, sinks.ErrPermanent) || sinks.ClassOf(err) != sinks.ClassNetwork {
		t.Errorf("a receiver not listening: %v (class %q), want a network error to retry", err, sinks.ClassOf(err))
	}
}

// An https receiver is trusted through ca_file; without it, its private
// CA is not trusted and nothing is delivered (and nothing dead-lettered).
func TestTLSCAFile(t *testing.T) {
	srv := webhooktest.New(nil, true)
	defer srv.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	ev := []sinks.Event{event(t, "t1", 0)}
	untrusting := newSink(t, sinks.Settings{"url": srv.URL}).(sinks.BatchSink)
	if _, err := untrusting.DeliverBatch(context.Background(), ev); err == nil || errors.Is(err, sinks.ErrPermanent) {
		t.Fatalf("without ca_file: %v, want a retryable certificate error", err)
	}
	trusting := newSink(t, sinks.Settings{"url": srv.URL, "ca_file": writeFile(t, "ca.pem", ca)}).(sinks.BatchSink)
	if n, err := trusting.DeliverBatch(context.Background(), ev); n != 1 || err != nil {
		t.Fatalf("with ca_file: %d, %v", n, err)
	}
	if len(srv.Messages()) != 1 {
		t.Fatalf("received %d", len(srv.Messages()))
	}
	if _, err := webhook.FromSettings(sinks.Settings{"url": srv.URL, "ca_file": writeFile(t, "bad.pem", []byte("junk"))}); err == nil {
		t.Fatal("a ca_file without a certificate was accepted")
	}
}

// Down for minutes while punches arrive: nothing is lost or reordered, the
// Retry-After is honoured, and another sink on the same journal delivers
// everything meanwhile.
func TestDownForMinutes(t *testing.T) {
	srv := webhooktest.New(secret, false)
	defer srv.Close()
	j := sinkstest.OpenJournal(t, journal.Consumer{Name: "hr", Streams: []string{"attendance"}},
		journal.Consumer{Name: "archive", Streams: []string{"attendance"}})
	sk := newSink(t, sinks.Settings{"url": srv.URL, "batch": "50", "secret_file": writeFile(t, "key", secret)})
	clock := sinkstest.NewClock()
	m := &sinkstest.Counts{}
	sinkstest.StartRunner(t, j, sk, sinks.Options{Name: "hr", Streams: []string{"attendance"}, Metrics: m,
		BackoffMin: time.Second, BackoffMax: 30 * time.Second, Sleep: clock.Sleep})
	path := filepath.Join(t.TempDir(), "archive.jsonl")
	fs, err := filesink.New(path)
	if err != nil {
		t.Fatal(err)
	}
	am := &sinkstest.Counts{}
	sinkstest.StartRunner(t, j, fs, sinks.Options{Name: "archive", Streams: []string{"attendance"}, Metrics: am})

	srv.Down(http.StatusServiceUnavailable, "20")
	want := map[string][]string{}
	n := 0
	for retry := 1; clock.Total() < 5*time.Minute; retry++ {
		for range 10 {
			dev := []string{"t1", "t2", "t3"}[n%3]
			want[dev] = append(want[dev], sinkstest.Punch(t, j, dev, n))
			n++
		}
		clock.Await(t, retry)
		clock.Release()
	}
	sinkstest.WaitFor(t, "the archive sink to have everything", func() bool { d, _, _ := am.Get(); return d == n })
	if d, _, _ := m.Get(); d != 0 {
		t.Fatalf("%d delivered while the receiver was down", d)
	}
	for i, d := range clock.Delays() {
		if d < 20*time.Second {
			t.Fatalf("retry %d after %v, before the receiver's Retry-After of 20s", i, d)
		}
	}
	srv.Down(0, "")
	clock.Run()
	sinkstest.WaitFor(t, "the backlog delivered", func() bool { d, _, _ := m.Get(); return d == n })
	got := byDevice(srv.Messages())
	for dev, ids := range want {
		if !slices.Equal(got[dev], ids) {
			t.Fatalf("device %s: received %d in this order, want the %d journaled in order", dev, len(got[dev]), len(ids))
		}
	}
	if srv.Redelivered() != 0 {
		t.Fatalf("%d events accepted twice", srv.Redelivered())
	}
}

// A poison record in a batch: the receiver refuses it with a 4xx, it goes
// to the dead letters with an alarm, and the rest of the batch and what
// follows are delivered.
func TestPoisonRecord(t *testing.T) {
	srv := webhooktest.New(nil, false)
	defer srv.Close()
	j := sinkstest.OpenJournal(t, journal.Consumer{Name: "hr", Streams: []string{"attendance"}})
	var ids []string
	for i := range 10 {
		ids = append(ids, sinkstest.Punch(t, j, "t1", i))
	}
	srv.Refuse(ids[4], http.StatusUnprocessableEntity)
	var amu sync.Mutex
	var alarms []sinks.DeadLetter
	m := &sinkstest.Counts{}
	sinkstest.StartRunner(t, j, newSink(t, sinks.Settings{"url": srv.URL}), sinks.Options{Name: "hr", Streams: []string{"attendance"}, Metrics: m,
		Alarm: func(_ context.Context, dl sinks.DeadLetter) error {
			amu.Lock()
			alarms = append(alarms, dl)
			amu.Unlock()
			return nil
		}})
	sinkstest.WaitFor(t, "nine delivered", func() bool { d, _, _ := m.Get(); return d == 9 })
	ids = append(ids, sinkstest.Punch(t, j, "t1", 10))
	sinkstest.WaitFor(t, "the next one", func() bool { d, _, _ := m.Get(); return d == 10 })
	var got []string
	for _, msg := range srv.Messages() {
		got = append(got, msg.ID)
	}
	if want := append(slices.Clone(ids[:4]), ids[5:]...); !slices.Equal(got, want) {
		t.Fatalf("received %v, want all but the poison one, in order", got)
	}
	dead := sinkstest.DeadLetters(t, j)
	amu.Lock()
	defer amu.Unlock()
	if _, _, dl := m.Get(); dl != 1 || len(dead) != 1 || dead[0].ID != ids[4] || len(alarms) != 1 || alarms[0].ID != ids[4] ||
		!strings.Contains(dead[0].Error, "HTTP 422") {
		t.Fatalf("dead letters %+v, alarms %+v; want the poison one with HTTP 422", dead, alarms)
	}
}

// Secrets — the HMAC key, credentials and a token in the url — appear in no
// log line, error or dead letter, whatever fails.
func TestSecretsNeverShown(t *testing.T) {
	srv := webhooktest.New(secret, false)
	j := sinkstest.OpenJournal(t, journal.Consumer{Name: "hr", Streams: []string{"attendance"}})
	url := strings.Replace(srv.URL, "http://", "http://hook-user:pa55-w0rd@", 1) + "/in?token=t0ken-q9"
	keyFile := writeFile(t, "key", secret)
	var logs bytes.Buffer
	var lmu sync.Mutex
	log := zerolog.New(zerolog.SyncWriter(lockedWriter{&lmu, &logs})).Level(zerolog.DebugLevel)
	var errs []string
	m := sinkstest.NewScraped(t, j, "hr")
	clock := sinkstest.NewClock()
	sk := newSink(t, sinks.Settings{"url": url, "secret_file": keyFile, "timeout": "300ms"})
	sinkstest.StartRunner(t, j, sk, sinks.Options{Name: "hr", Streams: []string{"attendance"}, Metrics: m, Log: &log, Sleep: clock.Sleep})

	srv.Down(http.StatusBadGateway, "1")
	sinkstest.Punch(t, j, "t1", 0)
	clock.Await(t, 1)
	srv.Hang(true)
	clock.Release()
	clock.Await(t, 2)
	srv.Hang(false)
	srv.Down(http.StatusForbidden, "")
	clock.Run()
	sinkstest.WaitFor(t, "the dead letter", func() bool { _, _, d := m.Get(); return d == 1 })
	srv.Close()
	ev := event(t, "t1", 1)
	_, err := sk.(sinks.BatchSink).DeliverBatch(context.Background(), []sinks.Event{ev})
	errs = append(errs, fmt.Sprint(err))
	for _, s := range []sinks.Settings{
		{"url": "ftp://hook-user:pa55-w0rd@example.com/?token=t0ken-q9"},
		{"url": "http://hook-user:pa55-w0rd@exa mple.com/?token=t0ken-q9"},
		{"url": url, "secret_file": writeFile(t, "empty", nil)},
		{"url": url, "secret_file": keyFile + ".missing"},
		{"url": url, "secret_fiel": keyFile},
	} {
		_, err := webhook.FromSettings(s)
		if err == nil {
			t.Fatalf("settings %v accepted", s)
		}
		errs = append(errs, err.Error())
	}
	for _, dl := range sinkstest.DeadLetters(t, j) {
		errs = append(errs, dl.Error)
	}
	scrape := m.Scrape(t) // /metrics: every label value the sink's families carry
	if !strings.Contains(scrape, `officegate_sink_dead_lettered_total{sink="hr"} 1`) || !strings.Contains(scrape, `officegate_sink_last_error{sink="hr",class="`) {
		t.Fatalf("/metrics does not show the sink's failures:\n%s", scrape)
	}
	errs = append(errs, scrape)
	lmu.Lock()
	all := logs.String() + strings.Join(errs, "\n")
	lmu.Unlock()
	if !strings.Contains(all, "HTTP 502") || !strings.Contains(all, "HTTP 403") {
		t.Fatalf("the failures were not reported at all:\n%s", all)
	}
	for _, s := range []string{string(secret), "pa55-w0rd", "t0ken-q9"} {
		if strings.Contains(all, s) {
			t.Fatalf("%q shown:\n%s", s, all)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// A receiver that moved answers a redirect. Followed, a 301, 302 or 303
// turns the POST into a GET without its body, and the page it reaches
// answers 200: the events would count as delivered without having been
// sent. A redirect is retried (the operator sets url to where it points),
// never followed, with both the sink's own client and one from settings.
func TestRedirectNotFollowed(t *testing.T) {
	var mu sync.Mutex
	moved := 0
	var posted []string // what reached the new place, by method
	mux := http.NewServeMux()
	mux.HandleFunc("/new", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		posted = append(posted, r.Method)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, code := range []int{301, 302, 303, 307, 308} {
		mux.HandleFunc(fmt.Sprintf("/old%d", code), func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			moved++
			mu.Unlock()
			http.Redirect(w, r, "/new", code)
		})
		url := fmt.Sprintf("%s/old%d", srv.URL, code)
		own, err := webhook.New(webhook.Opts{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		for _, sk := range []sinks.BatchSink{own, newSink(t, sinks.Settings{"url": url}).(sinks.BatchSink)} {
			n, err := sk.DeliverBatch(context.Background(), []sinks.Event{event(t, "t1", 0)})
			if n != 0 || err == nil || errors.Is(err, sinks.ErrPermanent) || sinks.ClassOf(err) != sinks.ClassStatus ||
				!strings.Contains(err.Error(), fmt.Sprint(code)) {
				t.Errorf("HTTP %d: accepted %d, err %v (class %q); want none accepted, a status to retry",
					code, n, err, sinks.ClassOf(err))
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if moved != 10 || len(posted) != 0 {
		t.Errorf("%d requests to the old url, %v to where it points; want 10 and none", moved, posted)
	}
}
