package zkpushsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/officegate/officegate/devices/zkpush"
)

// specServer is a PUSH server written from the specification alone, small
// enough to trust: it answers as doc.go says a server does, with knobs to
// fail and to reset stamps.
type specServer struct {
	mu       sync.Mutex
	date     time.Time // the Date header it sends
	stamp    string    // ATTLOGStamp it answers
	fail     bool      // answer uploads with an error
	okAtMost int       // when > 0, acknowledge at most this many records per upload
	attlog   []string  // every ATTLOG line received, in order
	oper     []string
	commands []string
	results  []zkpush.Result
}

func (s *specServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Date", s.date.UTC().Format(http.TimeFormat))
	sn := r.URL.Query().Get("SN")
	body, _ := io.ReadAll(r.Body)
	switch {
	case r.URL.Path == "/iclock/cdata" && r.Method == http.MethodGet:
		o := zkpush.DefaultOptions()
		o.TimeZone, o.ATTLOGStamp = 8, s.stamp
		w.Write(zkpush.AppendOptions(nil, sn, o))
	case r.URL.Path == "/iclock/cdata":
		if s.fail {
			http.Error(w, "database down", http.StatusServiceUnavailable)
			return
		}
		var lines []string
		zkpush.Lines(body, func(_ int, l []byte) error { lines = append(lines, string(l)); return nil })
		if s.okAtMost > 0 && len(lines) > s.okAtMost {
			lines = lines[:s.okAtMost]
		}
		if r.URL.Query().Get("table") == "ATTLOG" {
			s.attlog = append(s.attlog, lines...)
		} else {
			s.oper = append(s.oper, lines...)
		}
		fmt.Fprintf(w, "OK: %d", len(lines))
	case r.URL.Path == "/iclock/getrequest":
		if len(s.commands) == 0 {
			w.Write([]byte("OK"))
			return
		}
		w.Write([]byte(strings.Join(s.commands, "\n") + "\n"))
		s.commands = nil
	case r.URL.Path == "/iclock/devicecmd":
		rs, _ := zkpush.ParseResults(body)
		s.results = append(s.results, rs...)
		w.Write([]byte("OK"))
	default:
		w.Write([]byte("OK"))
	}
}

func (s *specServer) set(f func(s *specServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func start(t *testing.T, o *Opts) (*specServer, *Terminal) {
	t.Helper()
	s := &specServer{date: time.Date(2026, 1, 5, 0, 59, 58, 0, time.UTC)}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	if o == nil {
		o = &Opts{}
	}
	osc := time.Unix(1000, 0)
	o.Now = func() time.Time { return osc } // a stopped oscillator: the clock is the Date header
	return s, New("EMU0001", hs.URL, o)
}

// TestClockFromDate: the handshake's Date header (GMT) and TimeZone set the
// wall clock punches are stamped with (§5).
func TestClockFromDate(t *testing.T) {
	_, term := start(t, nil)
	if err := term.Handshake(context.Background()); err != nil {
		t.Fatal(err)
	}
	p, err := term.Punch("7", 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if p.Time != "2026-01-05 08:59:58" {
		t.Fatalf("punch at %q, want 2026-01-05 08:59:58 (Date 00:59:58 GMT, TimeZone=8)", p.Time)
	}
}

// TestKeepsUntilOK: records stay in the store through a failing server, are
// sent again from the last acknowledged one, and each reaches the server once
// it answers; a partial "OK: n" acknowledges n.
func TestKeepsUntilOK(t *testing.T) {
	s, term := start(t, &Opts{Batch: 2})
	ctx := context.Background()
	if err := term.Handshake(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := term.Add(zkpush.Punch{PIN: fmt.Sprint(i), Time: "2026-01-05 08:00:00", Verify: 1}); err != nil {
			t.Fatal(err)
		}
	}
	s.set(func(s *specServer) { s.fail = true })
	if _, err := term.Upload(ctx); err == nil {
		t.Fatal("upload to a failing server succeeded")
	}
	if term.Pending() != 5 {
		t.Fatalf("%d pending after a failed upload, want 5", term.Pending())
	}
	s.set(func(s *specServer) { s.fail, s.okAtMost = false, 1 })
	n, err := term.Upload(ctx)
	if err != nil || n != 5 || term.Pending() != 0 {
		t.Fatalf("upload: %d acknowledged, %d pending, %v", n, term.Pending(), err)
	}
	want := "0\t2026-01-05 08:00:00\t0\t1\t0\t0\t0,1\t2026-01-05 08:00:00\t0\t1\t0\t0\t0,2\t2026-01-05 08:00:00\t0\t1\t0\t0\t0,3\t2026-01-05 08:00:00\t0\t1\t0\t0\t0,4\t2026-01-05 08:00:00\t0\t1\t0\t0\t0"
	if got := strings.Join(s.attlog, ","); got != want {
		t.Fatalf("server got\n%q\nwant\n%q", got, want)
	}
}

// TestStampReset: a handshake answered ATTLOGStamp=0 makes the terminal
// upload its whole log again (§5, §12.3.1 CHECK).
func TestStampReset(t *testing.T) {
	s, term := start(t, nil)
	ctx := context.Background()
	term.Handshake(ctx)
	term.Punch("1", 0, 1)
	term.Punch("2", 1, 1)
	if _, err := term.Upload(ctx); err != nil {
		t.Fatal(err)
	}
	s.set(func(s *specServer) { s.stamp, s.commands = "0", []string{"C:c1:CHECK"} })
	if _, err := term.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if term.Pending() != 2 {
		t.Fatalf("%d pending after a stamp reset, want 2", term.Pending())
	}
	term.Upload(ctx)
	s.set(func(s *specServer) {
		if len(s.attlog) != 4 || s.attlog[0] != s.attlog[2] || s.attlog[1] != s.attlog[3] {
			t.Fatalf("server got %q, want both records twice", s.attlog)
		}
	})
}

// TestCapacity: a full store refuses new punches and loses none it holds.
func TestCapacity(t *testing.T) {
	_, term := start(t, &Opts{Capacity: 2})
	term.Punch("1", 0, 1)
	term.Punch("2", 0, 1)
	if _, err := term.Punch("3", 0, 1); !errors.Is(err, ErrFull) {
		t.Fatalf("third punch in a store of 2: %v, want ErrFull", err)
	}
	if len(term.Records()) != 2 {
		t.Fatalf("%d records", len(term.Records()))
	}
}

// TestCommands: the terminal executes what §12 describes on its own user
// table and log, and answers every command once with its Return code.
func TestCommands(t *testing.T) {
	s, term := start(t, nil)
	ctx := context.Background()
	term.Handshake(ctx)
	term.Add(zkpush.Punch{PIN: "1", Time: "2026-01-04 08:00:00"})
	term.Add(zkpush.Punch{PIN: "1", Time: "2026-01-05 08:00:00"})
	term.Upload(ctx)
	s.set(func(s *specServer) {
		s.attlog = nil
		s.commands = []string{
			"C:u1:DATA UPDATE USERINFO PIN=7\tName=Ann\tPri=0\tCard=\tGrp=1",
			"C:u2:DATA DELETE USERINFO PIN=8",
			"C:q1:DATA QUERY ATTLOG StartTime=2026-01-05 00:00:00\tEndTime=2026-01-05 23:59:59",
			"C:i1:INFO",
			"C:x1:SHELL ls",
		}
	})
	if _, err := term.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if u := term.Users()["7"]; u.Name != "Ann" {
		t.Fatalf("user 7 = %+v", u)
	}
	term.Upload(ctx)
	s.set(func(s *specServer) {
		got := map[string]int{}
		for _, r := range s.results {
			got[r.ID] = r.Return
		}
		want := map[string]int{"u1": 0, "u2": zkpush.ReturnNoSuchUser, "q1": 0, "i1": 0, "x1": zkpush.ReturnUnsupported}
		if fmt.Sprint(got) != fmt.Sprint(want) || len(s.results) != 5 {
			t.Fatalf("results %+v, want %v", s.results, want)
		}
		if len(s.results[3].Info) == 0 {
			t.Fatal("INFO result without its key=value lines")
		}
		if len(s.attlog) != 1 || !strings.HasPrefix(s.attlog[0], "1\t2026-01-05 08:00:00") {
			t.Fatalf("DATA QUERY ATTLOG re-sent %q, want the 5 January record", s.attlog)
		}
	})
}
