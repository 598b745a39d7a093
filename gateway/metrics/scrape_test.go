package metrics_test

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/metrics"
)

// TestScrapeGolden checks the whole exposition byte for byte.
// testdata/scrape.golden was written by prometheus/client_golang v1 for this
// same state before this package replaced it, so it also shows the output did
// not change for scrapers: names, help, order, number formatting, escaping.
func TestScrapeGolden(t *testing.T) {
	clk := time.Unix(1_800_000_000, 0)
	m := metrics.New(&metrics.Opts{Now: func() time.Time { return clk }, NoRuntime: true})
	fj := &fakeJournal{journal.Stats{
		Streams: []journal.StreamStats{
			// Not in name order: the output is.
			{Name: "telemetry", Shed: 4, Expired: 2},
			{Name: "attendance", Depth: 3, OldestUndelivered: clk.Add(-90 * time.Second), Appended: 10, Acked: 7},
		},
		Segments: 5, DiskBytes: 40 << 20, MaxBytes: 1 << 30, Commits: 9, Records: 12, Bytes: 1200,
		Fsyncs: 11, SyncTime: 250 * time.Millisecond, Losses: make([]journal.Loss, 2),
	}}
	if err := m.WatchJournal(fj); err != nil {
		t.Fatal(err)
	}
	m.Connected(true)
	m.Published("attendance", 3*time.Millisecond)
	m.Published("attendance", 40*time.Millisecond)
	m.Published("control", 12*time.Second) // past the last bound: +Inf only
	m.PublishFailed("control")
	m.PublishFailed("a\"b\\c\nd é") // every escape of a label value
	m.Undeliverable("telemetry")
	m.Inflight(2)
	m.Reconnect(errors.New("eof"))
	m.Connected(false)
	m.Connected(true)
	m.DeviceSeen("terminal-lobby", time.Unix(1_800_000_000, 500e6))
	m.DeviceSeen("kiosk-1", time.Unix(1_700_000_000, 0))
	m.DeviceSeen("Card 0012", time.Unix(1_700_000_000, 0))
	m.OnSync(2*time.Millisecond, 8, 800)
	m.OnSync(1500*time.Microsecond, 8, 800)
	m.OnSync(5*time.Second, 8, 800)
	m.CommandUnreadable()
	m.CommandUnreadable()
	got := scrape(t, metrics.Handler(m, &metrics.Health{}))
	want, err := os.ReadFile("testdata/scrape.golden")
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			g, w := "", ""
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("line %d:\n got %q\nwant %q", i+1, g, w)
			}
		}
	}
	// A second journal would serve duplicate series.
	if err := m.WatchJournal(fj); err == nil {
		t.Error("second WatchJournal accepted")
	}
}

// TestScrapeWellFormed reads a scrape with the runtime families back with a
// small parser of the text format (expose.go) and checks every line.
func TestScrapeWellFormed(t *testing.T) {
	m := metrics.New(nil)
	m.Published("attendance", 3*time.Millisecond)
	m.PublishFailed("q\"uo\\te\nnew\xffline")
	m.DeviceSeen("terminal-lobby", time.Unix(1_800_000_000, 0))
	if err := m.WatchJournal(&fakeJournal{journal.Stats{Streams: []journal.StreamStats{{Name: "attendance"}}}}); err != nil {
		t.Fatal(err)
	}
	out := scrape(t, metrics.Handler(m, &metrics.Health{}))
	fams, err := parseText(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	names := make([]string, len(fams))
	for i, f := range fams {
		names[i] = f.name
	}
	if !slices.IsSorted(names) {
		t.Errorf("families not sorted: %q", names)
	}
	byName := map[string]*parsedFamily{}
	for _, f := range fams {
		byName[f.name] = f
	}
	for name, typ := range map[string]string{
		"go_goroutines": "gauge", "go_threads": "gauge", "go_info": "gauge",
		"go_memstats_alloc_bytes": "gauge", "go_memstats_heap_inuse_bytes": "gauge", "go_memstats_sys_bytes": "gauge",
		"go_memstats_alloc_bytes_total": "counter", "go_memstats_next_gc_bytes": "gauge",
		"go_gc_gogc_percent": "gauge", "go_sched_gomaxprocs_threads": "gauge",
		"officegate_process_cpu_seconds_total": "counter", "officegate_process_open_fds": "gauge",
		"officegate_process_max_fds": "gauge", "officegate_process_resident_memory_bytes": "gauge",
		"officegate_process_virtual_memory_bytes": "gauge", "officegate_process_start_time_seconds": "gauge",
		"officegate_uplink_puback_seconds": "histogram", "officegate_journal_depth": "gauge",
	} {
		f := byName[name]
		if f == nil {
			t.Errorf("no family %s", name)
			continue
		}
		if f.typ != typ {
			t.Errorf("%s: type %s, want %s", name, f.typ, typ)
		}
		if len(f.samples) == 0 {
			t.Errorf("%s: no samples", name)
		}
	}
	sample := func(name string) float64 {
		f := byName[name]
		if f == nil || len(f.samples) != 1 {
			t.Fatalf("%s: %+v", name, f)
		}
		return f.samples[0].v
	}
	if n := sample("go_goroutines"); n < 1 {
		t.Errorf("go_goroutines %v", n)
	}
	if n := sample("officegate_process_resident_memory_bytes"); n < 1<<20 {
		t.Errorf("resident memory %v bytes", n)
	}
	if n := sample("officegate_process_open_fds"); n < 3 {
		t.Errorf("open fds %v", n)
	}
	if st := sample("officegate_process_start_time_seconds"); math.Abs(st-float64(time.Now().Unix())) > 3600 {
		t.Errorf("start time %v, now %v", st, time.Now().Unix())
	}
	if got := byName["officegate_uplink_publish_errors_total"].samples[0].labels["stream"]; got != "q\"uo\\te\nnew\uFFFDline" {
		t.Errorf("label read back as %q", got)
	}
	if got := byName["go_info"].samples[0].labels["version"]; !strings.HasPrefix(got, "go") {
		t.Errorf("go_info version %q", got)
	}
}

// FuzzStreamLabel checks that any stream name reads back from a scrape as
// itself, each invalid UTF-8 byte as U+FFFD, and never breaks the format.
func FuzzStreamLabel(f *testing.F) {
	for _, s := range []string{"attendance", "", `a"b\c`, "line\nfeed\n", "\xff\xfe", "é\\n", `\"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, stream string) {
		m := metrics.New(&metrics.Opts{NoRuntime: true})
		m.PublishFailed(stream)
		out := scrape(t, metrics.Handler(m, &metrics.Health{}))
		fams, err := parseText(out)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		var want strings.Builder
		for _, r := range stream {
			want.WriteRune(r)
		}
		for _, f := range fams {
			if f.name == "officegate_uplink_publish_errors_total" {
				if len(f.samples) != 1 || f.samples[0].labels["stream"] != want.String() {
					t.Fatalf("read back %+v, want %q", f.samples, want.String())
				}
				return
			}
		}
		t.Fatal("no publish_errors_total")
	})
}

// TestNoClientGolang keeps the package free of prometheus/client_golang and
// its dependencies (about 3 MB of the binary).
func TestNoClientGolang(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.Contains(p, "prometheus") || strings.Contains(p, "protobuf") {
			t.Errorf("metrics depends on %s", p)
		}
	}
}

type parsedFamily struct {
	name, help, typ string
	samples         []parsedSample
}

type parsedSample struct {
	name   string
	labels map[string]string
	v      float64
}

// parseText parses the subset of the text format 0.0.4 that expose.go
// specifies, strictly: HELP then TYPE then samples of that family, names and
// escapes as specified, histograms complete and cumulative.
func parseText(text string) ([]*parsedFamily, error) {
	if !strings.HasSuffix(text, "\n") {
		return nil, errors.New("body does not end in a line feed")
	}
	var fams []*parsedFamily
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		fail := func(format string, a ...any) error {
			return fmt.Errorf("line %d %q: %s", n, line, fmt.Sprintf(format, a...))
		}
		if rest, ok := strings.CutPrefix(line, "# HELP "); ok {
			name, help, _ := strings.Cut(rest, " ")
			if !validName(name) || seen[name] {
				return nil, fail("bad or repeated family name")
			}
			h, err := unescape(help, false)
			if err != nil {
				return nil, fail("%v", err)
			}
			seen[name] = true
			fams = append(fams, &parsedFamily{name: name, help: h})
			continue
		}
		if len(fams) == 0 {
			return nil, fail("before any # HELP")
		}
		f := fams[len(fams)-1]
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			if f.typ != "" || rest != f.name+" counter" && rest != f.name+" gauge" && rest != f.name+" histogram" {
				return nil, fail("TYPE of %s", f.name)
			}
			f.typ = rest[len(f.name)+1:]
			continue
		}
		if f.typ == "" {
			return nil, fail("sample before # TYPE")
		}
		s, err := parseSample(line)
		if err != nil {
			return nil, fail("%v", err)
		}
		want := []string{f.name}
		if f.typ == "histogram" {
			want = []string{f.name + "_bucket", f.name + "_sum", f.name + "_count"}
		}
		if !slices.Contains(want, s.name) {
			return nil, fail("sample of another family than %s", f.name)
		}
		f.samples = append(f.samples, s)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, f := range fams {
		if f.typ == "histogram" {
			if err := checkHistogram(f); err != nil {
				return nil, err
			}
		}
	}
	return fams, nil
}

// checkHistogram checks one unlabelled histogram: buckets ascending and
// cumulative, +Inf last and equal to _count, then _sum and _count.
func checkHistogram(f *parsedFamily) error {
	ss := f.samples
	if len(ss) < 3 {
		return fmt.Errorf("%s: %d samples", f.name, len(ss))
	}
	buckets, sum, count := ss[:len(ss)-2], ss[len(ss)-2], ss[len(ss)-1]
	if sum.name != f.name+"_sum" || count.name != f.name+"_count" {
		return fmt.Errorf("%s: does not end with _sum, _count", f.name)
	}
	prevLE, prevN := math.Inf(-1), 0.0
	for _, b := range buckets {
		le, err := parseFloat(b.labels["le"])
		if b.name != f.name+"_bucket" || len(b.labels) != 1 || err != nil || le <= prevLE || b.v < prevN {
			return fmt.Errorf("%s: bucket le=%q %v after le=%v %v", f.name, b.labels["le"], b.v, prevLE, prevN)
		}
		prevLE, prevN = le, b.v
	}
	if !math.IsInf(prevLE, 1) || prevN != count.v {
		return fmt.Errorf("%s: last bucket le=%v %v, count %v", f.name, prevLE, prevN, count.v)
	}
	return nil
}

// parseSample parses `name{label="value",…} value`.
func parseSample(line string) (parsedSample, error) {
	s := parsedSample{labels: map[string]string{}}
	i := strings.IndexAny(line, "{ ")
	if i < 0 {
		return s, errors.New("no value")
	}
	s.name, line = line[:i], line[i:]
	if !validName(s.name) {
		return s, errors.New("bad metric name")
	}
	if strings.HasPrefix(line, "{") {
		line = line[1:]
		for !strings.HasPrefix(line, "}") {
			name, rest, ok := strings.Cut(line, `="`)
			if !ok || !validName(name) || strings.Contains(name, ":") {
				return s, errors.New("bad label name")
			}
			// The value ends at the first quote not escaped.
			end := -1
			for j := 0; j < len(rest); j++ {
				if rest[j] == '\\' {
					j++
				} else if rest[j] == '"' {
					end = j
					break
				}
			}
			if end < 0 {
				return s, errors.New("unterminated label value")
			}
			v, err := unescape(rest[:end], true)
			if err != nil {
				return s, err
			}
			if _, dup := s.labels[name]; dup {
				return s, fmt.Errorf("label %s twice", name)
			}
			s.labels[name] = v
			line = strings.TrimPrefix(rest[end+1:], ",")
		}
		line = line[1:]
	}
	value, ok := strings.CutPrefix(line, " ")
	if !ok {
		return s, errors.New("no space before the value")
	}
	v, err := parseFloat(value)
	if err != nil {
		return s, err
	}
	s.v = v
	return s, nil
}

func parseFloat(s string) (float64, error) {
	switch s {
	case "+Inf":
		return math.Inf(1), nil
	case "-Inf":
		return math.Inf(-1), nil
	case "NaN":
		return math.NaN(), nil
	}
	if strings.ContainsAny(s, " _") || strings.EqualFold(s, "inf") || strings.EqualFold(s, "infinity") {
		return 0, fmt.Errorf("value %q", s)
	}
	return strconv.ParseFloat(s, 64)
}

// unescape undoes the escapes of help text or, if quoted, a label value.
func unescape(s string, quoted bool) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("invalid UTF-8 in %q", s)
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if quoted && c == '"' {
			return "", fmt.Errorf("unescaped quote in %q", s)
		}
		if c == '\n' {
			return "", fmt.Errorf("raw line feed in %q", s)
		}
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		switch {
		case i < len(s) && s[i] == '\\':
			b.WriteByte('\\')
		case i < len(s) && s[i] == 'n':
			b.WriteByte('\n')
		case quoted && i < len(s) && s[i] == '"':
			b.WriteByte('"')
		default:
			return "", fmt.Errorf("bad escape in %q", s)
		}
	}
	return b.String(), nil
}

func validName(s string) bool {
	for i, c := range s {
		if c == '_' || c == ':' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9' {
			continue
		}
		return false
	}
	return s != ""
}
