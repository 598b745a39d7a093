package cloudtest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"
)

// Double is what the platforms' API doubles (dingtalktest, wecomtest,
// feishutest) share: one lock over their knobs and what they recorded, the
// tokens they issue, the requests they count, and the knobs for a platform
// behind a proxy that is down, answers an HTML page, or never answers. Each
// double keeps its platform's documented behaviour, and the pages it cites,
// in its own package.
type Double struct {
	*httptest.Server

	mu sync.Mutex
	// Guarded by mu (Locked); tests turn the knobs through their double's Set.
	Now       func() time.Time // the server's clock
	TokenTTL  time.Duration    // how long a token lives by Now
	Users     map[string]bool  // the tenant's user ids
	Down      int              // answer the next n requests HTTP 502; -1: until set to 0
	Malformed int              // answer the next n requests with an HTML page where JSON is documented
	Hang      bool             // never answer (until the client gives up, or Close)
	tokens    map[string]time.Time
	issued    []string // every token issued, revoked or not
	nTok      int
	calls     map[string]int // requests by path

	// Immutable.
	prefix string        // how the double's tokens begin
	page   string        // what Malformed answers
	hang   chan struct{} // closed by Close, to release hanging requests
}

// DoubleOptions are what differs between the platforms in what Double does.
type DoubleOptions struct {
	TokenTTL    time.Duration // the platform's documented token life
	TokenPrefix string        // how its tokens begin
	Page        string        // the HTML page Malformed answers
	Users       []string      // the tenant's user ids
}

// NewDouble starts a server; each request is counted, then answered by the
// Hang, Down and Malformed knobs if one is on, else by serve, which runs
// with the double's lock held. Close stops it.
func NewDouble(o DoubleOptions, serve http.HandlerFunc) *Double {
	d := &Double{Now: time.Now, TokenTTL: o.TokenTTL, Users: map[string]bool{}, tokens: map[string]time.Time{},
		calls: map[string]int{}, prefix: o.TokenPrefix, page: o.Page, hang: make(chan struct{})}
	for _, u := range o.Users {
		d.Users[u] = true
	}
	d.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		d.calls[r.URL.Path]++
		if d.Hang {
			d.mu.Unlock()
			select {
			case <-d.hang:
			case <-r.Context().Done():
			}
			return
		}
		defer d.mu.Unlock()
		switch {
		case d.Down != 0:
			if d.Down > 0 {
				d.Down--
			}
			http.Error(w, "502 Bad Gateway", http.StatusBadGateway)
		case d.Malformed > 0:
			d.Malformed--
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, d.page)
		default:
			serve(w, r)
		}
	}))
	return d
}

// Close releases hanging requests and stops the server.
func (d *Double) Close() {
	d.mu.Lock()
	select {
	case <-d.hang:
	default:
		close(d.hang)
	}
	d.mu.Unlock()
	d.Server.Close()
}

// Locked runs f with the double's lock held.
func (d *Double) Locked(f func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f()
}

// Count returns how many requests path had.
func (d *Double) Count(path string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls[path]
}

// Tokens returns every token issued and not revoked, for tests that check
// a token never leaks.
func (d *Double) Tokens() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for t := range d.tokens {
		out = append(out, t)
	}
	return out
}

// Issued returns every token issued so far, revoked or expired too.
func (d *Double) Issued() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.issued...)
}

// Revoke invalidates every token issued so far, as a platform may before
// their time.
func (d *Double) Revoke() {
	d.mu.Lock()
	defer d.mu.Unlock()
	clear(d.tokens)
}

// Issue makes a new token living TokenTTL from Now; the caller holds the
// lock (a serve function).
func (d *Double) Issue() string {
	d.nTok++
	now := d.Now()
	tok := d.prefix + strconv.Itoa(d.nTok) + "-" + strconv.FormatInt(now.UnixNano(), 36)
	d.tokens[tok] = now.Add(d.TokenTTL)
	d.issued = append(d.issued, tok)
	return tok
}

// Expiry is when tok expires, and false for a token never issued or
// revoked; the caller holds the lock.
func (d *Double) Expiry(tok string) (time.Time, bool) {
	exp, ok := d.tokens[tok]
	return exp, ok
}
