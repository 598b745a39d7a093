package connect

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// keySize is the size of a deduplication key on disk and in memory.
const keySize = 16

// dedupBucket is the span of time one dedup file covers: keys expire a
// bucket at a time, so the window is kept to within an hour.
const dedupBucket = time.Hour

// Dedup remembers the keys of the messages connect has journaled, for a
// window of time, on disk (doc.go, "Deduplication"): one file per hour,
// "<unix hour>.ids", each a sequence of 16-byte keys appended and fsync'd.
// A file older than the window is deleted whole; a torn tail (a length not
// a multiple of 16) is cut at open.
type Dedup struct {
	// Immutable.
	dir    string
	window time.Duration
	now    func() time.Time

	mu sync.Mutex
	// Guarded by mu.
	seen   map[[keySize]byte]int64 // key → the bucket it was recorded in
	f      *os.File                // the current bucket's file, open for appending
	bucket int64                   // f's bucket
	oldest int64                   // the oldest bucket still remembered
}

// OpenDedup loads the keys of the buckets within window in dir (made if
// missing) and deletes older ones. now nil: time.Now.
func OpenDedup(dir string, window time.Duration, now func() time.Time) (*Dedup, error) {
	if now == nil {
		now = time.Now
	}
	if window < dedupBucket {
		return nil, fmt.Errorf("connect: dedup window %v: at least %v", window, dedupBucket)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("connect: dedup: %w", err)
	}
	d := &Dedup{dir: dir, window: window, now: now, seen: map[[keySize]byte]int64{}}
	d.oldest = d.bucketOf(now().Add(-window))
	buckets, err := d.buckets()
	if err != nil {
		return nil, err
	}
	for _, b := range buckets {
		if b < d.oldest {
			if err := os.Remove(d.path(b)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("connect: dedup: %w", err)
			}
			continue
		}
		if err := d.load(b); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func (d *Dedup) bucketOf(t time.Time) int64 { return t.Unix() / int64(dedupBucket/time.Second) }

func (d *Dedup) path(b int64) string { return filepath.Join(d.dir, strconv.FormatInt(b, 10)+".ids") }

// buckets lists the bucket files in dir, oldest first.
func (d *Dedup) buckets() ([]int64, error) {
	ents, err := os.ReadDir(d.dir)
	if err != nil {
		return nil, fmt.Errorf("connect: dedup: %w", err)
	}
	var out []int64
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".ids")
		if !ok {
			continue
		}
		b, err := strconv.ParseInt(name, 10, 64)
		if err != nil {
			continue
		}
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// load reads one bucket's keys, cutting a torn tail.
func (d *Dedup) load(b int64) error {
	p := d.path(b)
	data, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("connect: dedup: %w", err)
	}
	if n := len(data) % keySize; n != 0 {
		// A crash mid-append: the keys before are whole; the torn one was
		// never acknowledged to the backbone, which sends it again.
		data = data[:len(data)-n]
		if err := os.Truncate(p, int64(len(data))); err != nil {
			return fmt.Errorf("connect: dedup: cut torn tail of %s: %w", p, err)
		}
	}
	for i := 0; i+keySize <= len(data); i += keySize {
		d.seen[[keySize]byte(data[i:i+keySize])] = b
	}
	return nil
}

// Seen reports whether key was recorded within the window.
func (d *Dedup) Seen(key [keySize]byte) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	b, ok := d.seen[key]
	return ok && b >= d.oldest
}

// Len is the number of keys remembered.
func (d *Dedup) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.seen)
}

// Add records keys durably (one write, one fsync) and expires the buckets
// that left the window.
func (d *Dedup) Add(keys [][keySize]byte) error {
	if len(keys) == 0 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	b := d.bucketOf(now)
	if d.f == nil || b != d.bucket {
		if err := d.rotate(b); err != nil {
			return err
		}
	}
	buf := make([]byte, 0, len(keys)*keySize)
	for _, k := range keys {
		buf = append(buf, k[:]...)
	}
	if _, err := d.f.Write(buf); err != nil {
		return fmt.Errorf("connect: dedup: write %s: %w", d.f.Name(), err)
	}
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("connect: dedup: sync %s: %w", d.f.Name(), err)
	}
	for _, k := range keys {
		d.seen[k] = b
	}
	if oldest := d.bucketOf(now.Add(-d.window)); oldest > d.oldest {
		d.expire(oldest)
	}
	return nil
}

// rotate opens bucket b's file for appending (a new file's directory entry
// is fsync'd).
func (d *Dedup) rotate(b int64) error {
	if d.f != nil {
		d.f.Close()
		d.f = nil
	}
	f, err := os.OpenFile(d.path(b), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("connect: dedup: %w", err)
	}
	if dir, err := os.Open(d.dir); err == nil {
		err = dir.Sync()
		dir.Close()
		if err != nil {
			f.Close()
			return fmt.Errorf("connect: dedup: sync %s: %w", d.dir, err)
		}
	}
	d.f, d.bucket = f, b
	return nil
}

// expire forgets the buckets before oldest and deletes their files.
func (d *Dedup) expire(oldest int64) {
	d.oldest = oldest
	for k, b := range d.seen {
		if b < oldest {
			delete(d.seen, k)
		}
	}
	if bs, err := d.buckets(); err == nil {
		for _, b := range bs {
			if b < oldest {
				os.Remove(d.path(b)) // a file left behind is deleted at the next open
			}
		}
	}
}

// Close closes the current file.
func (d *Dedup) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		return nil
	}
	err := d.f.Close()
	d.f = nil
	return err
}
