package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// The journal command runs the same store-and-forward workload on our
// journal, bbolt and SQLite, each in a child process of its own so that its
// peak RSS and the bytes it wrote are its own.

// journalConfig is the journal command's flags.
type journalConfig struct {
	workload
	Dir    string   // parent of the data directory; "" is the current directory
	JSON   bool     // print one JSON object instead of a table
	Stores []string // which stores to run, in order
	Child  string   // internal: run this one store here and print its result
}

// stores are the stores under test, in the order they run and print.
var stores = []struct {
	name string
	open func(dir string) (queue, error)
}{
	{"journal", func(dir string) (queue, error) { return openJournal(dir) }},
	{"bbolt", func(dir string) (queue, error) { return openBolt(dir) }},
	{"sqlite", func(dir string) (queue, error) { return openSQLite(dir) }},
}

// storeResult is one store's figures. The first four keys are the ones the
// comparison is about; the rest help read them.
type storeResult struct {
	EventsPerS    float64 `json:"events_per_s"`    // durable appends per second
	BytesPerEvent float64 `json:"bytes_per_event"` // write_bytes of the process per append
	FsyncsPerS    float64 `json:"fsyncs_per_s"`
	RSSMB         float64 `json:"rss_mb"` // peak (VmHWM) of the process that ran the store

	Events         uint64  `json:"events"`
	Seconds        float64 `json:"seconds"`
	ReadEventsPerS float64 `json:"read_events_per_s"` // read and acknowledged while appending
	CommitsPerS    float64 `json:"commits_per_s"`     // durable commits, deletes included
	AppendP50Ms    float64 `json:"append_p50_ms"`
	AppendP99Ms    float64 `json:"append_p99_ms"`
	DrainSeconds   float64 `json:"drain_s"` // for the reader to catch up after the appenders stopped
	// What the block device itself counted (all processes, file system
	// journal included); absent when the directory is not on a local disk.
	DeviceBytesPerEvent float64 `json:"device_bytes_per_event,omitempty"`
}

func journalMain(ctx context.Context, args []string) error {
	var cfg journalConfig
	fs := flag.NewFlagSet("journal", flag.ContinueOnError)
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long to append, per store")
	fs.IntVar(&cfg.Appenders, "appenders", 64, "concurrent appenders, each appending durably in a loop")
	fs.IntVar(&cfg.Batch, "batch", 8, "records per append call, one commit for all (a device link's window of events in flight)")
	fs.IntVar(&cfg.Size, "size", 128, "record body `bytes`")
	fs.StringVar(&cfg.Dir, "dir", "", "where to make the data directory (default: the current directory; never tmpfs)")
	fs.BoolVar(&cfg.JSON, "json", false, "print one JSON object")
	storeList := fs.String("stores", "journal,bbolt,sqlite", "stores to run, comma-separated")
	fs.StringVar(&cfg.Child, "child", "", "internal: run one store in this process")
	setUsage(fs, "usage: bench journal [flags]\n\n"+
		"Runs the same store-and-forward work on the journal, bbolt and SQLite (WAL,\n"+
		"synchronous=FULL), each in its own process, and compares them.\n\n", "child")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	cfg.Stores = strings.Split(*storeList, ",")
	if err := cfg.validate(); err != nil {
		return err
	}
	if cfg.Child != "" {
		res, err := measure(ctx, cfg.Child, cfg.Dir, cfg.workload)
		if err != nil {
			return err
		}
		return json.NewEncoder(os.Stdout).Encode(res)
	}
	return runJournal(ctx, cfg, os.Stdout)
}

func (c *journalConfig) validate() error {
	switch {
	case c.Duration <= 0:
		return fmt.Errorf("journal: -duration %v: must be positive", c.Duration)
	case c.Appenders < 1:
		return fmt.Errorf("journal: -appenders %d: must be at least 1", c.Appenders)
	case c.Batch < 1 || c.Batch > 1024:
		return fmt.Errorf("journal: -batch %d: must be 1..1024", c.Batch)
	case c.Size < bodyHeader || c.Size > 64<<10:
		// 64 KiB is the journal's default MaxRecordSize.
		return fmt.Errorf("journal: -size %d: must be %d..%d", c.Size, bodyHeader, 64<<10)
	}
	for _, s := range append(c.Stores, c.Child) {
		if s != "" && storeIndex(s) < 0 {
			return fmt.Errorf("journal: unknown store %q (journal, bbolt, sqlite)", s)
		}
	}
	return nil
}

func storeIndex(name string) int {
	for i, s := range stores {
		if s.name == name {
			return i
		}
	}
	return -1
}

// runJournal runs each store in a child process, in a fresh directory that
// it removes afterwards, and prints the comparison.
func runJournal(ctx context.Context, cfg journalConfig, out io.Writer) error {
	base := cfg.Dir
	if base == "" {
		base = "."
	}
	if err := checkRealDisk(base); err != nil {
		return err
	}
	dir, err := os.MkdirTemp(base, "bench-journal-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	results := map[string]storeResult{}
	for _, name := range cfg.Stores {
		if !cfg.JSON {
			fmt.Fprintf(os.Stderr, "%s: %d appenders, batches of %d %d-byte records, for %v...\n", name, cfg.Appenders, cfg.Batch, cfg.Size, cfg.Duration)
		}
		cmd := exec.CommandContext(ctx, exe, "journal", "-child", name, "-dir", filepath.Join(dir, name),
			"-duration", cfg.Duration.String(), "-appenders", strconv.Itoa(cfg.Appenders), "-batch", strconv.Itoa(cfg.Batch), "-size", strconv.Itoa(cfg.Size))
		var stdout bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("journal: %s run failed: %w", name, err)
		}
		var res storeResult
		if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
			return fmt.Errorf("journal: %s run printed %q: %w", name, stdout.String(), err)
		}
		results[name] = res
	}
	if cfg.JSON {
		return printJSON(out, cfg.Stores, results)
	}
	printTable(out, cfg, results)
	return nil
}

// measure runs the workload on one store in dir and returns its figures; this
// process should run nothing else meanwhile.
func measure(ctx context.Context, name, dir string, w workload) (storeResult, error) {
	if dir == "" {
		return storeResult{}, fmt.Errorf("journal: %s: no -dir", name)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return storeResult{}, err
	}
	if err := checkRealDisk(dir); err != nil {
		return storeResult{}, err
	}
	// Opening is not counted; closing is.
	q, err := stores[storeIndex(name)].open(dir)
	if err != nil {
		return storeResult{}, fmt.Errorf("%s: %w", name, err)
	}
	dev := blockDevice(dir)
	wb0, err := procWriteBytes()
	if err != nil {
		q.Close()
		return storeResult{}, err
	}
	d0 := readDeviceStat(dev)
	o, err := w.run(ctx, q)
	if err != nil {
		q.Close()
		return storeResult{}, fmt.Errorf("%s: %w", name, err)
	}
	// Closing is part of the work: SQLite checkpoints, the journal saves
	// its cursors.
	if err := q.Close(); err != nil {
		return storeResult{}, fmt.Errorf("%s: close: %w", name, err)
	}
	wb1, err := procWriteBytes()
	if err != nil {
		return storeResult{}, err
	}
	d1 := readDeviceStat(dev)
	rss, err := peakRSS()
	if err != nil {
		return storeResult{}, err
	}
	if o.Appended == 0 {
		return storeResult{}, fmt.Errorf("%s: no append completed in %v", name, o.Elapsed)
	}
	secs, events := o.Elapsed.Seconds(), float64(o.Appended)
	r := storeResult{
		EventsPerS:     round(events/secs, 0),
		BytesPerEvent:  round(float64(wb1-wb0)/events, 1),
		FsyncsPerS:     round(float64(o.Counters.Fsyncs)/secs, 1),
		RSSMB:          round(float64(rss)/(1<<20), 1),
		Events:         o.Appended,
		Seconds:        round(secs, 3),
		ReadEventsPerS: round(float64(o.ReadInTime)/secs, 0),
		CommitsPerS:    round(float64(o.Counters.Commits)/secs, 1),
		AppendP50Ms:    round(o.Latency.quantile(0.50).Seconds()*1e3, 3),
		AppendP99Ms:    round(o.Latency.quantile(0.99).Seconds()*1e3, 3),
		DrainSeconds:   round(o.DrainedTime.Seconds(), 3),
	}
	if d0.path != "" && d1.path != "" {
		r.DeviceBytesPerEvent = round(float64(d1.sectors-d0.sectors)*512/events, 1)
	}
	return r, nil
}

func round(x float64, digits int) float64 {
	p := math.Pow10(digits)
	return math.Round(x*p) / p
}

func printJSON(w io.Writer, names []string, results map[string]storeResult) error {
	// Keys in run order: journal, bbolt, sqlite.
	var b bytes.Buffer
	b.WriteByte('{')
	for i, name := range names {
		v, err := json.Marshal(results[name])
		if err != nil {
			return err
		}
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%s", name, v)
	}
	b.WriteString("}\n")
	_, err := w.Write(b.Bytes())
	return err
}

func printTable(w io.Writer, cfg journalConfig, results map[string]storeResult) {
	fmt.Fprintf(w, "%d appenders, batches of %d %d-byte records, %v per store\n\n", cfg.Appenders, cfg.Batch, cfg.Size, cfg.Duration)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "store\tevents/s\tbytes/event\tfsyncs/s\tRSS MB\tp50 ms\tp99 ms\tread/s\tcommits/s\tdevice B/event\t")
	for _, name := range cfg.Stores {
		r := results[name]
		fmt.Fprintf(tw, "%s\t%.0f\t%.1f\t%.1f\t%.1f\t%.3f\t%.3f\t%.0f\t%.1f\t%.1f\t\n", name,
			r.EventsPerS, r.BytesPerEvent, r.FsyncsPerS, r.RSSMB, r.AppendP50Ms, r.AppendP99Ms,
			r.ReadEventsPerS, r.CommitsPerS, r.DeviceBytesPerEvent)
	}
	tw.Flush()

	j, ok := results["journal"]
	if !ok {
		return
	}
	fmt.Fprintln(w)
	for _, peer := range cfg.Stores {
		p := results[peer]
		if peer == "journal" {
			continue
		}
		fmt.Fprintf(w, "journal/%s: events/s %s, bytes/event %s, fsyncs/s %s, RSS %s\n", peer,
			ratio(j.EventsPerS, p.EventsPerS), ratio(j.BytesPerEvent, p.BytesPerEvent),
			ratio(j.FsyncsPerS, p.FsyncsPerS), ratio(j.RSSMB, p.RSSMB))
	}
	// The goals the journal was built to (bytes: a record's frame plus the
	// file system's share of a commit).
	limit := float64(2*cfg.Size + 32)
	ahead := func(better func(j, p storeResult) bool) string {
		peers := 0
		for _, peer := range cfg.Stores {
			if peer == "journal" {
				continue
			}
			if !better(j, results[peer]) {
				return "missed"
			}
			peers++
		}
		if peers == 0 {
			return "n/a"
		}
		return "met"
	}
	fmt.Fprintf(w, "goals: ahead on events/s: %s; ahead on bytes/event: %s; bytes/event <= 2*size+32 = %.0f: %s; fsyncs/s <= 100: %s\n",
		ahead(func(j, p storeResult) bool { return j.EventsPerS > p.EventsPerS }),
		ahead(func(j, p storeResult) bool { return j.BytesPerEvent < p.BytesPerEvent }),
		limit, yes(j.BytesPerEvent <= limit), yes(j.FsyncsPerS <= 100))
}

func ratio(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

func yes(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}
