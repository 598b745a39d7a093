package scanner_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/officegate/officegate/devices/scanner"
	"github.com/officegate/officegate/devices/serialport"
	"github.com/officegate/officegate/internal/testkit"
)

// fakeClock moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// startFiltered runs a Scanner with cfg's filter rules on a fresh device.
func startFiltered(t *testing.T, cfg scanner.Config, clk *fakeClock) (*scanner.Scanner, *device, chan scanner.Scan) {
	t.Helper()
	cfg.Port = filepath.Join(t.TempDir(), "usb-Newland_HR22_QR_Scanner_0123-if00")
	d := plug(t, cfg.Port)
	sc, err := scanner.New(cfg, &scanner.Opts{Now: clk.Now, Backoff: serialport.Backoff{Min: time.Millisecond, Max: 10 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	scans := make(chan scanner.Scan, 100)
	done := make(chan error, 1)
	go func() { done <- sc.Run(ctx, scans) }()
	t.Cleanup(func() { stopRun(t, cancel, done) })
	eventually(t, "scanner online", sc.Online)
	return sc, d, scans
}

func texts(ch chan scanner.Scan) []string {
	var out []string
	for {
		select {
		case s := <-ch:
			out = append(out, s.Text)
		default:
			return out
		}
	}
}

// take receives n scans, waiting for each (the Scanner counts a line before
// it sends it on), and any more already sent.
func take(t *testing.T, ch chan scanner.Scan, n int) []string {
	t.Helper()
	var out []string
	for len(out) < n {
		select {
		case s := <-ch:
			out = append(out, s.Text)
		case <-time.After(hang):
			t.Fatalf("%d scans %q, want %d", len(out), out, n)
		}
	}
	return append(out, texts(ch)...)
}

// The format: a length and an alphabet window, each refusal counted by its
// reason and never sent.
func TestScannerFormat(t *testing.T) {
	testkit.NoLeaks(t)
	clk := &fakeClock{now: t0}
	sc, d, scans := startFiltered(t, scanner.Config{MinLine: 6, ASCII: true}, clk)
	d.send(t, "abc\r")                      // too short
	d.send(t, "访客-12345\r")                 // printable, not ASCII
	d.send(t, "has space\r")                // a space is not in the alphabet
	d.send(t, "OG1-7F3K-Q9ZP-WANG\r")       // an invite
	d.send(t, "https://ex.co/i/A1?b=2\r\n") // a URL
	eventually(t, "five lines judged", func() bool { return sc.Counts().Total() == 5 })
	if got := strings.Join(take(t, scans, 2), " "); got != "OG1-7F3K-Q9ZP-WANG https://ex.co/i/A1?b=2" {
		t.Errorf("scans %q", got)
	}
	if c := sc.Counts(); c != (scanner.Counts{Accepted: 2, TooShort: 1, BadAlphabet: 2}) {
		t.Errorf("counts %+v", c)
	}
	if st := sc.Status(); st.Counters["too_short"] != 1 || st.Counters["bad_alphabet"] != 2 || st.Counters["lines_accepted"] != 2 {
		t.Errorf("status counters %v", st.Counters)
	}
}

// Noise: seeded random bytes make no scan at all, even though some of their
// lines fit the format, and the first scan after a quiet spell goes through.
func TestScannerNoise(t *testing.T) {
	testkit.NoLeaks(t)
	clk := &fakeClock{now: t0}
	sc, d, scans := startFiltered(t, scanner.Config{MinLine: 6, ASCII: true, Quiet: 500 * time.Millisecond}, clk)
	rng := rand.New(rand.NewPCG(13, 7))
	noise := make([]byte, 64<<10)
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	// Lines that fit the format, in the middle of the noise, as random
	// bytes now and then make them.
	noise = append(noise, "\rNOISE-LOOKS-LIKE-A-CODE\r"...)
	noise = append(noise, noise[:4096]...)
	noise = append(noise, '\n')
	if _, err := d.m.Write(noise); err != nil {
		t.Fatal(err)
	}
	// The lines a LineReader sees in the same bytes: the Scanner has judged
	// the noise once it has counted as many.
	lr := scanner.NewLineReader(bytes.NewReader(noise), 0)
	for {
		if _, err := lr.Next(); err != nil {
			break
		}
	}
	ref := lr.Counts()
	if ref.Accepted == 0 {
		t.Fatal("the noise has no printable line: the test tests nothing")
	}
	eventually(t, "the noise judged", func() bool { return sc.Counts().Total() == ref.Total() })
	if got := texts(scans); len(got) != 0 {
		t.Fatalf("noise made scans %q", got)
	}
	c := sc.Counts()
	if c.Accepted != 0 || c.NonPrintable != ref.NonPrintable || c.Noise == 0 || c.Noise+c.TooShort+c.BadAlphabet != ref.Accepted {
		t.Fatalf("counts %+v", c)
	}
	clk.advance(499 * time.Millisecond)
	d.send(t, "TOO-SOON-1\r")
	eventually(t, "noise", func() bool { return sc.Counts().Noise == c.Noise+1 })
	clk.advance(500 * time.Millisecond)
	d.send(t, "VISIT-AFTER\r")
	if got := take(t, scans, 1); len(got) != 1 || got[0] != "VISIT-AFTER" {
		t.Fatalf("scans %q", got)
	}
}

// The rate limit: a burst over it is refused and counted; the bucket fills
// again with time.
func TestScannerRateLimit(t *testing.T) {
	testkit.NoLeaks(t)
	clk := &fakeClock{now: t0}
	sc, d, scans := startFiltered(t, scanner.Config{Limit: scanner.Limit{Burst: 3, Every: time.Second}}, clk)
	d.send(t, "A1\rA2\rA3\rA4\rA5\r")
	eventually(t, "five lines judged", func() bool { return sc.Counts().Total() == 5 })
	if c := sc.Counts(); c.Accepted != 3 || c.RateLimited != 2 {
		t.Fatalf("counts %+v", c)
	}
	clk.advance(2500 * time.Millisecond) // two more, not three
	d.send(t, "B1\rB2\rB3\r")
	eventually(t, "eight lines judged", func() bool { return sc.Counts().Total() == 8 })
	if c := sc.Counts(); c.Accepted != 5 || c.RateLimited != 3 {
		t.Fatalf("counts %+v", c)
	}
	clk.advance(time.Hour) // a full bucket holds Burst, not an hour's worth
	d.send(t, "C1\rC2\rC3\rC4\r")
	eventually(t, "twelve lines judged", func() bool { return sc.Counts().Total() == 12 })
	if c := sc.Counts(); c.Accepted != 8 || c.RateLimited != 4 {
		t.Fatalf("counts %+v", c)
	}
	if got := strings.Join(take(t, scans, 8), " "); got != "A1 A2 A3 B1 B2 C1 C2 C3" {
		t.Errorf("scans %q", got)
	}
}

func TestScannerFilterConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  scanner.Config
		want string
	}{
		{scanner.Config{Port: "/dev/ttyACM0", MinLine: -1}, "min_line -1"},
		{scanner.Config{Port: "/dev/ttyACM0", MaxLine: 8, MinLine: 9}, "min_line 9"},
		{scanner.Config{Port: "/dev/ttyACM0", Quiet: -time.Second}, "quiet -1s"},
		{scanner.Config{Port: "/dev/ttyACM0", Limit: scanner.Limit{Burst: 3}}, "limit 3 per 0s"},
		{scanner.Config{Port: "/dev/ttyACM0", Limit: scanner.Limit{Burst: -1, Every: time.Second}}, "limit -1"},
	} {
		if _, err := scanner.New(tc.cfg, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error containing %q", tc.cfg, err, tc.want)
		}
	}
}
