package provisioning

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/internal/atomicfile"
)

// Registry is the gateway's list of devices, backed by two files in one
// directory (FORMAT.md). It is safe for concurrent use. Every mutation is
// durable on disk before it returns; a mutation that fails leaves both the
// files and the Registry as they were.
type Registry struct {
	// Immutable.
	dir  string
	opts Options

	// Mutable.
	mu     sync.Mutex
	st     *state               // guarded by mu; replaced whole, never edited once committed (but see Seen)
	win    Window               // guarded by mu
	seenAt map[string]time.Time // guarded by mu: the LastSeen last written to disk, by hardware id
}

// Options tune a Registry. The zero value is the production setting.
type Options struct {
	Now  func() time.Time // nil: time.Now
	Rand io.Reader        // key secrets and key refs; nil: crypto/rand
	// SeenEvery is how stale the LastSeen on disk may get before Seen
	// writes the file; 0 means one minute (a flash card should not be
	// rewritten on every heartbeat).
	SeenEvery time.Duration
	// DisabledRetry is the retry time a disabled device is told; 0 means
	// five minutes (see Lookup).
	DisabledRetry time.Duration
	// Config, if set, gives the configuration an active device should
	// have (Identity.Config), typically by its Profile; nil for none.
	Config func(d Device) []byte
	// Logf, if set, receives what Lookup cannot return: a rule that matched
	// but could not approve (its name is taken).
	Logf func(format string, args ...any)
}

// Open reads the registry in dir, creating dir if needed. A registry that
// does not exist yet is empty. A registry or key store that cannot be read,
// or whose content is damaged, is an error naming the file and what is wrong;
// the file is left untouched for a person to inspect: it is never reset.
func Open(dir string) (*Registry, error) { return OpenWith(dir, Options{}) }

// OpenWith is Open with options.
func OpenWith(dir string, o Options) (*Registry, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.SeenEvery == 0 {
		o.SeenEvery = time.Minute
	}
	if o.DisabledRetry == 0 {
		o.DisabledRetry = 5 * time.Minute
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("provisioning: %w", err)
	}
	st, err := load(dir)
	if err != nil {
		return nil, err
	}
	for _, name := range []string{RegistryFile, KeysFile} {
		if err := atomicfile.RemoveTemps(dir, name); err != nil {
			return nil, fmt.Errorf("provisioning: %w", err)
		}
	}
	r := &Registry{dir: dir, opts: o, st: st, seenAt: map[string]time.Time{}}
	for hw, d := range st.devices {
		r.seenAt[hw] = d.LastSeen
	}
	return r, nil
}

// load reads both files and checks them against each other.
func load(dir string) (*state, error) {
	st := newState()
	rp, kp := filepath.Join(dir, RegistryFile), filepath.Join(dir, KeysFile)
	rdata, rerr := os.ReadFile(rp)
	if rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
		return nil, fmt.Errorf("provisioning: %w", rerr)
	}
	kinfo, kerr := os.Stat(kp)
	switch {
	case kerr == nil:
		if perm := kinfo.Mode().Perm(); perm&0o077 != 0 {
			return nil, fmt.Errorf("provisioning: key store %s has mode %04o: it holds secrets and must be 0600 (chmod 600 it after checking who read it)", kp, perm)
		}
		kdata, err := os.ReadFile(kp)
		if err != nil {
			return nil, fmt.Errorf("provisioning: %w", err)
		}
		if err := decodeKeys(kdata, st); err != nil {
			return nil, fmt.Errorf("provisioning: key store %s, left as it is: %w", kp, err)
		}
	case !errors.Is(kerr, fs.ErrNotExist):
		return nil, fmt.Errorf("provisioning: %w", kerr)
	}
	if rerr != nil { // no registry
		if len(st.keys) > 0 {
			return nil, fmt.Errorf("provisioning: %w: registry %s is missing but key store %s holds %d keys: restore the registry rather than start empty",
				ErrCorrupt, rp, kp, len(st.keys))
		}
		return st, nil
	}
	if err := decodeRegistry(rdata, st); err != nil {
		return nil, fmt.Errorf("provisioning: registry %s, left as it is: %w", rp, err)
	}
	if err := st.checkRefs(); err != nil {
		return nil, fmt.Errorf("provisioning: registry %s against key store %s: %w", rp, kp, err)
	}
	return st, nil
}

// Dir is the directory the registry lives in.
func (r *Registry) Dir() string { return r.dir }

// commit makes next durable and then current (FORMAT.md §5): keys it adds
// are written before the registry that refers to them, keys it drops are
// removed after. Called with mu held.
func (r *Registry) commit(next *state) error {
	old := r.st
	added, dropped := false, false
	for ref := range next.keys {
		if _, ok := old.keys[ref]; !ok {
			added = true
		}
	}
	for ref := range old.keys {
		if _, ok := next.keys[ref]; !ok {
			dropped = true
		}
	}
	kp := filepath.Join(r.dir, KeysFile)
	if added {
		union := next
		if dropped {
			union = &state{keys: map[string]link.Key{}}
			for ref, k := range old.keys {
				union.keys[ref] = k
			}
			for ref, k := range next.keys {
				union.keys[ref] = k
			}
		}
		if err := atomicfile.WriteFile(kp, encodeKeys(union), 0o600); err != nil {
			return fmt.Errorf("provisioning: %w", err)
		}
	}
	if err := atomicfile.WriteFile(filepath.Join(r.dir, RegistryFile), encodeRegistry(next), 0o640); err != nil {
		return fmt.Errorf("provisioning: %w", err)
	}
	r.st = next
	for hw, d := range next.devices {
		r.seenAt[hw] = d.LastSeen
	}
	if dropped {
		// The registry no longer refers to these keys; failing to drop them
		// leaves orphans the next key write removes, so it is not an error
		// of the mutation (which is durable), but it is reported.
		if err := atomicfile.WriteFile(kp, encodeKeys(next), 0o600); err != nil {
			return fmt.Errorf("provisioning: committed, but the retired key is still in %s: %w", kp, err)
		}
	}
	return nil
}

// update runs fn on a copy of the state and commits the copy if fn
// succeeds and changed something.
func (r *Registry) update(fn func(s *state, now time.Time) (changed bool, err error)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.updateLocked(fn)
}

func (r *Registry) updateLocked(fn func(s *state, now time.Time) (bool, error)) error {
	next := r.st.clone()
	changed, err := fn(next, utc(r.opts.Now()))
	if err != nil || !changed {
		return err
	}
	return r.commit(next)
}

// newRef draws a fresh key ref from the injected randomness.
func (r *Registry) newRef(s *state) (string, error) {
	buf := make([]byte, 8)
	for {
		if _, err := io.ReadFull(r.opts.Rand, buf); err != nil {
			return "", fmt.Errorf("provisioning: drawing a key ref: %w", err)
		}
		ref := "k-" + hex.EncodeToString(buf)
		if _, taken := s.keys[ref]; !taken {
			return ref, nil
		}
	}
}
