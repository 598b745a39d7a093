package zkpush

import (
	"bufio"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// vector is one line vector of testdata/vectors.txt.
type vector struct {
	line     int
	kind, in string
	want     string
}

// Exchange is one request/response pair of testdata/vectors.txt.
type Exchange struct {
	Name, Method, Target, Body, Reply string
}

func readVectors(t testing.TB) ([]vector, []Exchange) {
	t.Helper()
	f, err := os.Open("testdata/vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var vs []vector
	var xs []Exchange
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		l := sc.Text()
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "exchange "):
			xs = append(xs, Exchange{Name: strings.TrimPrefix(l, "exchange ")})
		case strings.HasPrefix(l, "> "):
			parts := strings.SplitN(l, " ", 4)
			body, err := strconv.Unquote(parts[3])
			if err != nil {
				t.Fatalf("vectors.txt:%d: %v", n, err)
			}
			x := &xs[len(xs)-1]
			x.Method, x.Target, x.Body = parts[1], parts[2], body
		case strings.HasPrefix(l, "< "):
			reply, err := strconv.Unquote(l[2:])
			if err != nil {
				t.Fatalf("vectors.txt:%d: %v", n, err)
			}
			xs[len(xs)-1].Reply = reply
		default:
			kind, rest, _ := strings.Cut(l, " ")
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				t.Fatalf("vectors.txt:%d: %v", n, err)
			}
			in, _ := strconv.Unquote(q)
			want, ok := strings.CutPrefix(strings.TrimPrefix(rest, q), " => ")
			if !ok {
				t.Fatalf("vectors.txt:%d: no =>", n)
			}
			vs = append(vs, vector{n, kind, in, want})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return vs, xs
}

func render(kind string, in []byte) string {
	switch kind {
	case "attlog":
		p, err := ParseAttlogLine(in)
		if err != nil {
			return "error " + err.Error()
		}
		return fmt.Sprintf("punch %s|%s|%d|%d|%s|%d", p.PIN, p.Time, p.Status, p.Verify, p.Workcode, p.Dropped)
	case "oper":
		r, err := ParseOperLine(in)
		switch {
		case errors.Is(err, ErrBiometric):
			return "biometric"
		case err != nil:
			return "error " + err.Error()
		case r.OpLog != nil:
			o := r.OpLog
			return fmt.Sprintf("oplog %d|%s|%s|%d|%d|%d", o.Op, o.Who, o.Time, o.Values[0], o.Values[1], o.Values[2])
		default:
			u := r.User
			return fmt.Sprintf("user %s|%s|%d|%s|%d", u.PIN, u.Name, u.Pri, u.Card, u.Group)
		}
	case "results":
		rs, bad := ParseResults(in)
		var s []string
		for _, r := range rs {
			s = append(s, fmt.Sprintf("%s|%d|%s|%d", r.ID, r.Return, r.Cmd, len(r.Info)))
		}
		return fmt.Sprintf("%s bad=%d", strings.Join(s, ";"), len(bad))
	case "command":
		id, desc, err := ParseCommand(in)
		if err != nil {
			return "error " + err.Error()
		}
		return id + "|" + desc
	}
	return "unknown kind " + kind
}

// TestVectors checks every line vector: parsed values, or an error that
// says what is wrong.
func TestVectors(t *testing.T) {
	vs, _ := readVectors(t)
	if len(vs) < 40 {
		t.Fatalf("only %d vectors read", len(vs))
	}
	for _, v := range vs {
		got := render(v.kind, []byte(v.in))
		if want, isErr := strings.CutPrefix(v.want, "error "); isErr {
			if !strings.HasPrefix(got, "error ") || !strings.Contains(got, want) {
				t.Errorf("vectors.txt:%d: %s %q: got %s, want an error containing %q", v.line, v.kind, v.in, got, want)
			}
			continue
		}
		if got != v.want {
			t.Errorf("vectors.txt:%d: %s %q:\n got %s\nwant %s", v.line, v.kind, v.in, got, v.want)
		}
	}
}

// TestExchanges checks what this package decides in each exchange: the
// handshake body, and the n of "OK: n" — every line of an upload counted
// (a punch, an alarm standing for a bad line, a refused template).
func TestExchanges(t *testing.T) {
	_, xs := readVectors(t)
	if len(xs) < 6 {
		t.Fatalf("only %d exchanges read", len(xs))
	}
	for _, x := range xs {
		u, err := url.Parse(x.Target)
		if err != nil {
			t.Fatalf("%s: %v", x.Name, err)
		}
		q := u.Query()
		var want string
		switch {
		case u.Path == "/iclock/cdata" && x.Method == "GET":
			o := DefaultOptions()
			o.TimeZone = 8
			want = string(AppendOptions(nil, q.Get("SN"), o))
		case u.Path == "/iclock/cdata" && x.Method == "POST":
			n := 0
			Lines([]byte(x.Body), func(int, []byte) error { n++; return nil })
			want = fmt.Sprintf("OK: %d", n)
		default:
			want = "OK"
		}
		if x.Reply != want {
			t.Errorf("%s:\n got %q\nwant %q", x.Name, want, x.Reply)
		}
	}
}

// TestOptionsRoundTrip: what AppendOptions writes, ParseOptions (the
// terminal's side) reads back.
func TestOptionsRoundTrip(t *testing.T) {
	o := DefaultOptions()
	o.TimeZone, o.ATTLOGStamp = 330, "0"
	got, err := ParseOptions(AppendOptions(nil, "S1", o), "S1")
	if err != nil {
		t.Fatal(err)
	}
	if got != o {
		t.Fatalf("got %+v, want %+v", got, o)
	}
	if _, err := ParseOptions(AppendOptions(nil, "S1", o), "S2"); err == nil {
		t.Fatal("a reply for another serial was accepted")
	}
}

// TestCommandRoundTrip: AppendCommand refuses what would inject a second
// command; what it writes parses back.
func TestCommandRoundTrip(t *testing.T) {
	b, err := AppendCommand(nil, "a1", "DATA DELETE USERINFO PIN=7")
	if err != nil {
		t.Fatal(err)
	}
	id, desc, err := ParseCommand(b[:len(b)-1])
	if err != nil || id != "a1" || desc != "DATA DELETE USERINFO PIN=7" {
		t.Fatalf("got %q %q %v", id, desc, err)
	}
	for _, bad := range []struct{ id, desc string }{{"a1", "REBOOT\nC:2:CLEAR DATA"}, {"a-1", "REBOOT"}, {"", "REBOOT"}, {"a1", ""}} {
		if _, err := AppendCommand(nil, bad.id, bad.desc); err == nil {
			t.Errorf("AppendCommand(%q, %q) accepted", bad.id, bad.desc)
		}
	}
	r := Result{ID: "9", Return: 0, Cmd: "INFO", Info: map[string]string{"UserCount": "3"}}
	rs, bad := ParseResults(AppendResult(nil, r))
	if len(bad) != 0 || len(rs) != 1 || rs[0].Info["UserCount"] != "3" {
		t.Fatalf("got %+v %v", rs, bad)
	}
}

func seeds(f *testing.F, kinds ...string) {
	vs, xs := readVectors(f)
	for _, v := range vs {
		for _, k := range kinds {
			if v.kind == k {
				f.Add([]byte(v.in))
			}
		}
	}
	for _, x := range xs {
		f.Add([]byte(x.Body))
	}
}

// FuzzAttlog: no input panics; an accepted line's values obey doc.go's rules
// and re-render to a line that parses to the same punch.
func FuzzAttlog(f *testing.F) {
	seeds(f, "attlog")
	f.Fuzz(func(t *testing.T, b []byte) {
		Lines(b, func(_ int, line []byte) error {
			p, err := ParseAttlogLine(line)
			if err != nil {
				return nil
			}
			if p.PIN == "" || len(p.PIN) > MaxPIN || p.Status > 255 || p.Verify > 255 || p.Status < 0 || p.Verify < 0 {
				t.Fatalf("accepted %q as %+v", line, p)
			}
			again, err := ParseAttlogLine([]byte(p.PIN + "\t" + p.Time + "\t" + strconv.Itoa(p.Status) + "\t" + strconv.Itoa(p.Verify) + "\t" + p.Workcode))
			if err != nil || again.Key("S") != p.Key("S") {
				t.Fatalf("%q: %+v does not re-parse to itself: %+v %v", line, p, again, err)
			}
			return nil
		})
	})
}

// FuzzOperlog: no input panics; a record holding TMP= is never accepted;
// an accepted user has a PIN and a valid UTF-8 name.
func FuzzOperlog(f *testing.F) {
	seeds(f, "oper")
	f.Fuzz(func(t *testing.T, b []byte) {
		Lines(b, func(_ int, line []byte) error {
			r, err := ParseOperLine(line)
			if err != nil {
				return nil
			}
			if strings.Contains(string(line), "TMP=") {
				t.Fatalf("accepted a template line %q", line)
			}
			if r.User != nil && (r.User.PIN == "" || !utf8.ValidString(r.User.Name) || strings.ContainsAny(r.User.Name, "\x00\n\r\t")) {
				t.Fatalf("accepted user %+v from %q", r.User, line)
			}
			return nil
		})
	})
}

// FuzzResults: no input panics; every result has a valid id; no line is
// counted twice and none is silently dropped.
func FuzzResults(f *testing.F) {
	seeds(f, "results")
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, bad := ParseResults(b)
		lines := 0
		Lines(b, func(int, []byte) error { lines++; return nil })
		info := 0
		for _, r := range rs {
			if CheckCmdID(r.ID) != nil {
				t.Fatalf("result with id %q", r.ID)
			}
			info += len(r.Info)
		}
		if len(rs)+len(bad)+info > lines || len(rs)+len(bad) == 0 && lines > 0 && info == 0 {
			t.Fatalf("%d lines gave %d results, %d info lines, %d errors", lines, len(rs), info, len(bad))
		}
	})
}

// FuzzCommand: whatever AppendCommand accepts is one line that parses back.
func FuzzCommand(f *testing.F) {
	seeds(f, "command")
	f.Fuzz(func(t *testing.T, b []byte) {
		id, desc, err := ParseCommand(b)
		if err != nil {
			return
		}
		out, err := AppendCommand(nil, id, desc)
		if err != nil {
			return // a description with a line break inside: refused on the way out
		}
		id2, desc2, err := ParseCommand(out[:len(out)-1])
		if err != nil || id2 != id || desc2 != desc || strings.Count(string(out), "\n") != 1 {
			t.Fatalf("%q → %q → %q %q %v", b, out, id2, desc2, err)
		}
	})
}
