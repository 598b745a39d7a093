package scanner

import (
	"sync/atomic"
	"time"
)

// Limit paces a port's scans (a token bucket): Burst scans back to back,
// then one more per Every. The zero Limit accepts every scan.
type Limit struct {
	Burst int           // scans accepted back to back; 0: no limit
	Every time.Duration // one more scan allowed per Every once the burst is spent
}

// VisibleASCII reports whether b is made only of visible ASCII, 0x21–0x7E:
// letters, digits and the punctuation of URLs and ids, no space.
func VisibleASCII(b []byte) bool {
	for _, c := range b {
		if c <= 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// filter decides the lines the LineReader accepted against the Config's
// format, noise and rate rules (doc.go, "Plausible scans"). It is owned by
// Run's goroutine.
type filter struct {
	// Immutable.
	cfg Config

	// Mutable, owned by Run's goroutine.
	lastRefused time.Time // when a line was last refused for its content
	tokens      int       // scans left in the bucket
	filled      time.Time // when tokens was last topped up; zero before the first scan
}

// refused records that a line was refused for its content at t: lines
// ending within Quiet of it are noise.
func (f *filter) refused(t time.Time) { f.lastRefused = t }

// judge returns the counter a line of text ending at t is refused under, or
// nil to accept it.
func (f *filter) judge(s *Scanner, text string, t time.Time) *atomic.Uint64 {
	switch {
	case len(text) < f.cfg.MinLine:
		f.refused(t)
		return &s.tooShort
	case f.cfg.ASCII && !VisibleASCII([]byte(text)):
		f.refused(t)
		return &s.badAlphabet
	case f.cfg.Quiet > 0 && !f.lastRefused.IsZero() && t.Sub(f.lastRefused) < f.cfg.Quiet:
		f.refused(t) // the noise goes on
		return &s.noise
	case !f.take(t):
		return &s.rateLimited
	}
	return nil
}

// take takes a scan from the bucket at t; false if it is empty.
func (f *filter) take(t time.Time) bool {
	l := f.cfg.Limit
	if l.Burst <= 0 {
		return true
	}
	if f.filled.IsZero() {
		f.tokens, f.filled = l.Burst, t
	}
	if n := t.Sub(f.filled) / l.Every; n > 0 { // a clock that steps back adds nothing
		f.tokens = int(min(int64(l.Burst), int64(f.tokens)+int64(n)))
		f.filled = f.filled.Add(n * l.Every)
	}
	if f.tokens >= l.Burst {
		f.filled = t // a full bucket does not save up for later
	}
	if f.tokens == 0 {
		return false
	}
	f.tokens--
	return true
}
