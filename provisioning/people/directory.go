package people

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/officegate/officegate/internal/atomicfile"
)

// ErrNotFound is wrapped by the error for a person the directory does not hold.
var ErrNotFound = errors.New("people: no such person")

// Options tune a Directory. The zero value is the production setting.
type Options struct {
	Now func() time.Time // nil: time.Now
	// CardKey is the site's card key (devices.KeyedHash): with it, an
	// import's card column may hold card numbers, hashed on arrival.
	CardKey []byte
}

// Directory is the person directory, backed by one file (doc.go, "File").
// It is safe for concurrent use. Every change is durable on disk before it
// returns; a change that fails leaves the file and the Directory as they
// were.
type Directory struct {
	// Immutable.
	path string
	opts Options

	// Mutable.
	wmu  sync.Mutex // serialises changes (held across the file write)
	mu   sync.RWMutex
	byID map[string]Person          // guarded by mu; replaced whole on each change
	card map[string]string          // guarded by mu; card hash → person id
	subs map[chan struct{}]struct{} // guarded by mu
}

// Open reads the directory in dir (creating dir if needed); a directory
// file that does not exist yet is an empty directory. A damaged one is an
// error wrapping ErrCorrupt, naming the file; it is left as it is.
func Open(dir string, o Options) (*Directory, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("people: %w", err)
	}
	path := filepath.Join(dir, File)
	d := &Directory{path: path, opts: o, byID: map[string]Person{}, card: map[string]string{},
		subs: map[chan struct{}]struct{}{}}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("people: %w", err)
	default:
		ps, err := decode(data)
		if err != nil {
			return nil, fmt.Errorf("people: directory %s, left as it is: %w", path, err)
		}
		d.set(ps)
	}
	if err := atomicfile.RemoveTemps(dir, File); err != nil {
		return nil, fmt.Errorf("people: %w", err)
	}
	return d, nil
}

// Path is the directory's file.
func (d *Directory) Path() string { return d.path }

// set makes ps current; called with wmu held (or before d is shared).
func (d *Directory) set(ps map[string]Person) {
	card := make(map[string]string, len(ps))
	for id, p := range ps {
		if p.CardHash != "" {
			card[p.CardHash] = id
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.byID, d.card = ps, card
	for ch := range d.subs {
		select {
		case ch <- struct{}{}:
		default: // a signal is pending already: one covers both
		}
	}
}

// Lookup finds a person by the id devices report, else by card hash.
func (d *Directory) Lookup(key string) (Person, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if p, ok := d.byID[key]; ok {
		return p, true
	}
	if id, ok := d.card[key]; ok {
		return d.byID[id], true
	}
	return Person{}, false
}

// Get returns the person with id, or an error wrapping ErrNotFound.
func (d *Directory) Get(id string) (Person, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	p, ok := d.byID[id]
	if !ok {
		return Person{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	return p, nil
}

// List returns every person, sorted by id.
func (d *Directory) List() []Person {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]Person, 0, len(d.byID))
	for _, id := range slices.Sorted(maps.Keys(d.byID)) {
		out = append(out, d.byID[id])
	}
	return out
}

// Len is the number of people.
func (d *Directory) Len() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.byID)
}

// Watch returns a channel that receives a value after every change of the
// directory (several changes between two receives make one value), and a
// func that stops the watch. The directory never blocks on a watcher.
func (d *Directory) Watch() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	d.mu.Lock()
	d.subs[ch] = struct{}{}
	d.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			d.mu.Lock()
			delete(d.subs, ch)
			d.mu.Unlock()
		})
	}
}

// change runs fn on a copy of the directory and, if fn changed it, writes
// the copy and makes it current.
func (d *Directory) change(fn func(ps map[string]Person, now time.Time) (bool, error)) error {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	d.mu.RLock()
	next := maps.Clone(d.byID)
	d.mu.RUnlock()
	changed, err := fn(next, d.opts.Now().UTC())
	if err != nil || !changed {
		return err
	}
	if err := checkUnique(next); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := atomicfile.WriteFile(d.path, encode(next), 0o640); err != nil {
		return fmt.Errorf("people: %w", err)
	}
	d.set(next)
	return nil
}

// Put adds or replaces one person's record.
func (d *Directory) Put(p Person) error {
	if err := p.Check(); err != nil {
		return err
	}
	return d.change(func(ps map[string]Person, now time.Time) (bool, error) {
		if old, ok := ps[p.ID]; ok && old.same(p) {
			return false, nil
		}
		p.Updated = now
		ps[p.ID] = p
		return true, nil
	})
}

// Remove deletes a person and returns the record removed, or an error
// wrapping ErrNotFound.
func (d *Directory) Remove(id string) (Person, error) {
	var old Person
	err := d.change(func(ps map[string]Person, _ time.Time) (bool, error) {
		p, ok := ps[id]
		if !ok {
			return false, fmt.Errorf("%w: %q", ErrNotFound, id)
		}
		old = p
		delete(ps, id)
		return true, nil
	})
	return old, err
}
