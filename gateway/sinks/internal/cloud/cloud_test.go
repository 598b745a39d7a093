package cloud

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/sinks"
)

var errBad = errors.New("bad record")

// Bisect isolates every refused record in an all-or-nothing batch, and a
// call failing for another reason stops everything after it.
func TestBisect(t *testing.T) {
	for _, c := range []struct {
		bad  map[int]bool
		down int // a call from the upper half including this index fails as down; -1 never
		want string
	}{
		{nil, -1, "........"},
		{map[int]bool{3: true}, -1, "...B...."},
		{map[int]bool{0: true, 7: true}, -1, "B......B"},
		{map[int]bool{1: true}, 5, ".B..DDDD"},
	} {
		calls := 0
		out := Bisect(context.Background(), 8, func(_ context.Context, lo, hi int) error {
			calls++
			for i := lo; i < hi; i++ {
				if i == c.down && lo >= 4 {
					return fmt.Errorf("down")
				}
			}
			for i := lo; i < hi; i++ {
				if c.bad[i] {
					return errBad
				}
			}
			return nil
		}, func(err error) bool { return errors.Is(err, errBad) })
		got := ""
		for _, err := range out {
			switch {
			case err == nil:
				got += "."
			case errors.Is(err, errBad):
				got += "B"
			default:
				got += "D"
			}
		}
		if got != c.want {
			t.Errorf("bad %v down %d: got %s, want %s (%d calls)", c.bad, c.down, got, c.want, calls)
		}
	}
}

// A drifted clock's measured offset is taken off the punch time (MQTT.md
// §4); an unknown clock's time is kept as reported.
func TestParsePunchInstant(t *testing.T) {
	p, err := ParsePunch([]byte(`{"id":"x","type":"attendance.punch","device":"t1","time":"2026-12-07T09:00:10.000+08:00",
		"clock":"drifted","clock_offset_ms":10000,"data":{"person":"1001","card":"12:4660","state":"in"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC); !p.At.Equal(want) || p.Key() != "1001" || !p.HasCard {
		t.Fatalf("%+v, want at %v", p, want)
	}
	p, err = ParsePunch([]byte(`{"id":"y","time":"2026-12-07T09:00:10.000+08:00","clock":"unknown","data":{"card_hash":"ab"}}`))
	if err != nil || p.Key() != "ab" || p.At.Unix() != time.Date(2026, 12, 7, 1, 0, 10, 0, time.UTC).Unix() {
		t.Fatalf("%+v %v", p, err)
	}
	if _, err := ParsePunch([]byte(`{"id":"z","time":"yesterday"}`)); !errors.Is(err, ErrNotPunch) {
		t.Fatalf("bad time: %v", err)
	}
}

// A token is renewed at half its life when it lives less than twice the
// margin, and Invalidate drops only the token it names.
func TestTokenShortLived(t *testing.T) {
	now := time.Unix(0, 0)
	n := 0
	tk := &Token{Now: func() time.Time { return now }, Early: 5 * time.Minute,
		Fetch: func(context.Context) (string, time.Duration, error) {
			n++
			return fmt.Sprint("t", n), 4 * time.Minute, nil
		}}
	get := func() string {
		s, err := tk.Get(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if get() != "t1" {
		t.Fatal("first")
	}
	now = now.Add(119 * time.Second)
	if get() != "t1" {
		t.Fatal("renewed too early")
	}
	now = now.Add(2 * time.Second)
	if get() != "t2" {
		t.Fatal("not renewed at half life")
	}
	tk.Invalidate("t1")
	if get() != "t2" {
		t.Fatal("a stale Invalidate dropped the new token")
	}
	tk.Invalidate("t2")
	if get() != "t3" {
		t.Fatal("Invalidate did not drop the token")
	}
}

// TestTokenDo: a call refused for a stale token runs once more with a new
// token, and only once.
func TestTokenDo(t *testing.T) {
	fetched := 0
	tk := &Token{Fetch: func(context.Context) (string, time.Duration, error) {
		fetched++
		return fmt.Sprintf("t%d", fetched), time.Hour, nil
	}}
	refusedErr := errors.New("stale")
	for _, c := range []struct {
		name      string
		staleRuns int
		wantCalls int
		wantErr   error
	}{
		{"fresh", 0, 1, nil},
		{"stale once", 1, 2, nil},
		{"stale twice", 2, 2, refusedErr},
	} {
		fetched = 0
		tk.Invalidate("t1")
		var toks []string
		err := tk.Do(context.Background(), func(tok string) (bool, error) {
			toks = append(toks, tok)
			if len(toks) <= c.staleRuns {
				return true, refusedErr
			}
			return false, nil
		})
		if !errors.Is(err, c.wantErr) || len(toks) != c.wantCalls {
			t.Errorf("%s: err %v after calls %q; want %v after %d", c.name, err, toks, c.wantErr, c.wantCalls)
		}
		if len(toks) == 2 && toks[0] == toks[1] {
			t.Errorf("%s: retried with the refused token %q", c.name, toks[0])
		}
	}
}

// Chunks sends calls of at most size records, a refused record fails for
// good alone, and after a chunk that failed otherwise nothing later is
// sent.
func TestChunks(t *testing.T) {
	errDown, notTried := errors.New("down"), errors.New("not tried")
	for _, c := range []struct {
		bad      map[int]bool
		down     int // the chunk holding this index fails as down; -1 never
		want     string
		maxCalls int
	}{
		{nil, -1, ".......", 3},
		{map[int]bool{4: true}, -1, "....P..", 7},
		{map[int]bool{1: true}, 3, ".P.DDDN", 6},
	} {
		var sent [][2]int
		out := Chunks(context.Background(), 7, 3, func(_ context.Context, lo, hi int) error {
			sent = append(sent, [2]int{lo, hi})
			if hi-lo > 3 {
				t.Errorf("a call of %d records", hi-lo)
			}
			for i := lo; i < hi; i++ {
				if i/3 == c.down/3 && c.down >= 0 {
					return errDown
				}
				if c.bad[i] {
					return errBad
				}
			}
			return nil
		}, func(err error) bool { return errors.Is(err, errBad) }, notTried)
		got := ""
		for _, err := range out {
			switch {
			case err == nil:
				got += "."
			case errors.Is(err, errBad) && errors.Is(err, sinks.ErrPermanent):
				got += "P"
			case errors.Is(err, errDown) && !errors.Is(err, sinks.ErrPermanent):
				got += "D"
			case err == notTried:
				got += "N"
			default:
				got += "?"
			}
		}
		if got != c.want || len(sent) > c.maxCalls {
			t.Errorf("bad %v down %d: got %s after calls %v, want %s in at most %d calls", c.bad, c.down, got, sent, c.want, c.maxCalls)
		}
	}
}
