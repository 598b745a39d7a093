package pushdrv

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/zkpush/zkpushsim"
	"github.com/officegate/officegate/devices/zkteco"
)

// memSink keeps what it is given, after the same check the intake makes;
// fail makes it refuse (a journal that is full).
type memSink struct {
	mu      sync.Mutex
	evs     []devices.Event
	batches int
	fail    error
}

func (s *memSink) Emit(ctx context.Context, e devices.Event) error {
	return s.EmitBatch(ctx, []devices.Event{e})
}

func (s *memSink) EmitBatch(_ context.Context, evs []devices.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	for _, e := range evs {
		if err := e.Check(); err != nil {
			return err
		}
	}
	s.evs = append(s.evs, evs...)
	s.batches++
	return nil
}

func (s *memSink) events(typ string) []devices.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []devices.Event
	for _, e := range s.evs {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// cfg decodes a section given as a map, as the config package's Section does.
type cfg Options

func (c cfg) Decode(v any) error { *(v.(*Options)) = Options(c); return nil }

// runTerminals starts one driver per serial on one listener and returns its
// base URL once it listens.
func runTerminals(t testing.TB, hub *Hub, sink devices.Sink, serials ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	for _, sn := range serials {
		d, err := New(hub, "zk-"+strings.ToLower(sn), devices.Options{Config: cfg{Serial: sn, Listen: "127.0.0.1:0", TimeZone: "Asia/Shanghai"}})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); d.Run(ctx, sink) }()
	}
	waitAttached(t, hub, len(serials))
	return "http://" + hub.Addr("127.0.0.1:0")
}

// waitAttached waits until n terminals are attached to the test listener.
func waitAttached(t testing.TB, hub *Hub, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		hub.mu.Lock()
		l := hub.listeners["127.0.0.1:0"]
		got := 0
		if l != nil {
			l.mu.Lock()
			got = len(l.terms)
			l.mu.Unlock()
		}
		hub.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d terminals attached", got, n)
		}
		time.Sleep(time.Millisecond) // polling a condition, not waiting for time to pass
	}
}

// TestDurableBeforeOK: a terminal whose upload the sink cannot take keeps
// its records (not OK), sends them again, and every punch arrives once per
// id, in the terminal's order, with the id PunchKey gives.
func TestDurableBeforeOK(t *testing.T) {
	sink := &memSink{fail: fmt.Errorf("%w: journal full", devices.ErrBusy)}
	base := runTerminals(t, NewHub(nil), sink, "CQZ1")
	term := zkpushsim.New("CQZ1", base, &zkpushsim.Opts{Batch: 3})
	ctx := context.Background()
	if err := term.Handshake(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		if _, err := term.Punch(strconv.Itoa(100+i), i%2, 1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := term.Upload(ctx); err == nil || term.Pending() != 7 {
		t.Fatalf("upload into a full journal: %v, %d pending; want an error and 7 kept", err, term.Pending())
	}
	sink.mu.Lock()
	sink.fail = nil
	sink.mu.Unlock()
	if n, err := term.Upload(ctx); err != nil || n != 7 {
		t.Fatalf("upload: %d, %v", n, err)
	}
	term.ResetStamp() // the terminal sends everything again: same ids
	if _, err := term.Upload(ctx); err != nil {
		t.Fatal(err)
	}
	punches := sink.events("attendance.punch")
	if len(punches) != 14 {
		t.Fatalf("%d punches journaled, want 7 twice", len(punches))
	}
	recs := term.Records()
	for i, e := range punches {
		r := recs[i%7]
		if want := zkteco.PunchKey("CQZ1", r.PIN, r.Time, r.Status, r.Verify); e.Source != want {
			t.Fatalf("punch %d: source %+v, want %+v (order or key wrong)", i, e.Source, want)
		}
		if e.Data["person"] != r.PIN || e.TimeRaw != r.Time || e.Time.Format(zkteco.TimeLayout) != r.Time {
			t.Fatalf("punch %d: %+v from %+v", i, e, r)
		}
	}
}

type exchange struct{ name, method, target, body, reply string }

func readExchanges(t *testing.T) []exchange {
	f, err := os.Open("../testdata/vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var xs []exchange
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "exchange "):
			xs = append(xs, exchange{name: l})
		case strings.HasPrefix(l, "> "):
			p := strings.SplitN(l, " ", 4)
			b, err := strconv.Unquote(p[3])
			if err != nil {
				t.Fatal(err)
			}
			xs[len(xs)-1].method, xs[len(xs)-1].target, xs[len(xs)-1].body = p[1], p[2], b
		case strings.HasPrefix(l, "< "):
			b, err := strconv.Unquote(l[2:])
			if err != nil {
				t.Fatal(err)
			}
			xs[len(xs)-1].reply = b
		}
	}
	return xs
}

// TestGoldenExchanges replays the exchanges of testdata/vectors.txt against
// a running driver: same reply bodies, a Date header on every reply.
func TestGoldenExchanges(t *testing.T) {
	sink := &memSink{}
	base := runTerminals(t, NewHub(nil), sink, "CQZ7224460")
	xs := readExchanges(t)
	if len(xs) < 6 {
		t.Fatalf("%d exchanges", len(xs))
	}
	for _, x := range xs {
		req, _ := http.NewRequest(x.method, base+x.target, strings.NewReader(x.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", x.name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != x.reply || resp.StatusCode != 200 {
			t.Errorf("%s:\n got %d %q\nwant %q", x.name, resp.StatusCode, b, x.reply)
		}
		if _, err := http.ParseTime(resp.Header.Get("Date")); err != nil {
			t.Errorf("%s: Date header %q", x.name, resp.Header.Get("Date"))
		}
	}
	for _, e := range sink.evs {
		if strings.Contains(fmt.Sprint(e.Data), "TMP") || strings.Contains(e.Source.Key, "TMP") {
			t.Fatalf("a template reached the sink: %+v", e)
		}
	}
	if n := len(sink.events("device.alarm")); n != 1 {
		t.Fatalf("%d alarms, want 1 (the 30 February line)", n)
	}
}

// TestHostile: oversized bodies, 100k lines, garbage, a slowloris and an
// unknown serial get clear answers, lose nothing, and do not hold up another
// terminal.
func TestHostile(t *testing.T) {
	o := DefaultHubOpts()
	o.ReadHeaderTimeout = 200 * time.Millisecond
	sink := &memSink{}
	hub := NewHub(o)
	base := runTerminals(t, hub, sink, "GOOD1", "BAD1")
	post := func(sn, body string) (int, string) {
		resp, err := http.Post(base+"/iclock/cdata?SN="+sn+"&table=ATTLOG&Stamp=1", "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// A slowloris holds a connection open with half a header.
	slow, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fmt.Fprintf(slow, "POST /iclock/cdata?SN=GOOD1&table=ATTLOG HTTP/1.1\r\nHost: x\r\n")

	line := "1\t2026-01-05 08:00:00\t0\t1\t0\t0\t0\n"
	// 100k lines: the first MaxLines are taken and acknowledged.
	if code, r := post("BAD1", strings.Repeat(line, 100000)); code != 200 || r != "OK: 10000" {
		t.Fatalf("100k lines: %d %q, want OK: 10000", code, r)
	}
	// 10 MB in one line: nothing whole within the cap, nothing taken.
	if code, r := post("BAD1", strings.Repeat("x", 10<<20)); code != 200 || r != "OK: 0" {
		t.Fatalf("10 MB line: %d %q", code, r)
	}
	// Garbage: each line an alarm, acknowledged.
	if code, r := post("BAD1", "\x00\xff\xfe\n\x89PNG\r\n1\t2026-13-01 00:00:00\t0\t1\n"); code != 200 || r != "OK: 3" {
		t.Fatalf("garbage: %d %q", code, r)
	}
	// Meanwhile the good terminal is served.
	if code, r := post("GOOD1", "7\t2026-01-05 08:00:01\t0\t1\t0\t0\t0\n"); code != 200 || r != "OK: 1" {
		t.Fatalf("good terminal: %d %q", code, r)
	}
	// An unknown serial is refused: its terminal keeps its records.
	if code, _ := post("NOPE", line); code != http.StatusForbidden || hub.Unknown() != 1 {
		t.Fatalf("unknown serial: %d, counted %d", code, hub.Unknown())
	}
	// The slowloris was cut off by ReadHeaderTimeout.
	slow.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(slow); err != nil {
		t.Fatalf("slowloris connection not closed by the gateway: %v", err)
	}
	good := 0
	for _, e := range sink.events("attendance.punch") {
		if e.Device == "zk-good1" {
			good++
		}
	}
	if good != 1 || len(sink.events("device.alarm")) != 3 {
		t.Fatalf("good punches %d, alarms %d", good, len(sink.events("device.alarm")))
	}
}

// TestBadOperLineKeepsSecrets: an OPERLOG USER line that cannot be parsed
// becomes an alarm that names the line and its fault, never the password or
// card number the line carries in clear.
func TestBadOperLineKeepsSecrets(t *testing.T) {
	sink := &memSink{}
	hub := NewHub(DefaultHubOpts())
	base := runTerminals(t, hub, sink, "OPER1")
	body := "USER PIN=7\tName=Li\tPasswd=907153\tCard=3141592653\tGrp=x\n" + // Grp is not a number
		"USER PIN=8\tPasswd907153\tCard=2718281828\n" // a field without '='
	resp, err := http.Post(base+"/iclock/cdata?SN=OPER1&table=OPERLOG&Stamp=1", "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "OK: 2" {
		t.Fatalf("upload: %d %q, want OK: 2", resp.StatusCode, b)
	}
	alarms := sink.events("device.alarm")
	if len(alarms) != 2 {
		t.Fatalf("%d alarms, want one per bad line", len(alarms))
	}
	for _, a := range alarms {
		detail := fmt.Sprint(a.Data["detail"])
		for _, secret := range []string{"907153", "3141592653", "2718281828"} {
			if strings.Contains(detail, secret) {
				t.Errorf("alarm %q carries %s from the terminal's record", detail, secret)
			}
		}
		if !strings.Contains(detail, `OPERLOG line`) || !strings.Contains(detail, `"USER"`) {
			t.Errorf("alarm %q does not say which line of what kind was refused", detail)
		}
	}
}
