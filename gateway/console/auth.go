package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// Sessions and logins. A session is a random 256-bit token in a cookie
// (HttpOnly, SameSite=Strict, Secure on HTTPS), kept in memory only: a
// restarted gateway asks everyone to log in again. Each session has its
// own CSRF token, which every state-changing form carries.

const (
	sessionCookie = "og_session"
	loginCookie   = "og_login" // the login form's CSRF token, before there is a session
	langCookie    = "og_lang"
)

// Login limits: after maxFailures failed logins for one user name, or from
// one address, within failureWindow, that name or address is locked out for
// lockout: a guesser gets 5 tries per quarter hour, a person who forgot
// their password waits a quarter hour.
const (
	maxFailures   = 5
	failureWindow = 15 * time.Minute
	lockout       = 15 * time.Minute
)

type session struct {
	// Immutable.
	user string
	csrf string
	// Guarded by sessions.mu.
	last  time.Time
	flash string // shown once, on the next page
}

type sessions struct {
	// Immutable.
	idle time.Duration
	now  func() time.Time

	mu sync.Mutex
	// Guarded by mu.
	byToken map[string]*session
}

// newToken is 256 random bits; crypto/rand never fails (it ends the
// process rather than return predictable bytes).
func newToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *sessions) create(user string) (token string, ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for t, x := range s.byToken { // expired ones go when a new one comes
		if now.Sub(x.last) > s.idle {
			delete(s.byToken, t)
		}
	}
	token = newToken()
	ss = &session{user: user, csrf: newToken(), last: now}
	s.byToken[token] = ss
	return token, ss
}

// get returns the live session of token and marks it used now; an idle one
// is ended.
func (s *sessions) get(token string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.byToken[token]
	if ss == nil {
		return nil
	}
	now := s.now()
	if now.Sub(ss.last) > s.idle {
		delete(s.byToken, token)
		return nil
	}
	ss.last = now
	return ss
}

func (s *sessions) setFlash(ss *session, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss.flash = msg
}

func (s *sessions) takeFlash(ss *session) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := ss.flash
	ss.flash = ""
	return f
}

func (s *sessions) end(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byToken, token)
}

// limiter counts failed logins by user name and by address.
type limiter struct {
	// Immutable.
	now func() time.Time

	mu sync.Mutex
	// Guarded by mu.
	fails  map[string][]time.Time // key: "u:" + name or "a:" + address
	locked map[string]time.Time   // until
}

// locked reports whether name or addr is locked out now.
func (l *limiter) isLocked(name, addr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, k := range []string{"u:" + name, "a:" + addr} {
		if until, ok := l.locked[k]; ok {
			if now.Before(until) {
				return true
			}
			delete(l.locked, k)
		}
	}
	return false
}

// fail records a failed login and returns how many keys it locked out now.
func (l *limiter) fail(name, addr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	n := 0
	for _, k := range []string{"u:" + name, "a:" + addr} {
		recent := l.fails[k][:0]
		for _, t := range l.fails[k] {
			if now.Sub(t) < failureWindow {
				recent = append(recent, t)
			}
		}
		recent = append(recent, now)
		if len(recent) >= maxFailures {
			l.locked[k] = now.Add(lockout)
			delete(l.fails, k)
			n++
			continue
		}
		l.fails[k] = recent
	}
	return n
}

func (l *limiter) success(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, "u:"+name)
}

// clientAddr is the request's remote address without its port: the
// console is reached directly, never through a proxy, so no forwarded
// header is believed.
func clientAddr(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}

func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// userStore keeps the users file loaded, reading it again when it changes
// (officegate console user … writes it while the gateway runs).
type userStore struct {
	// Immutable.
	path string

	mu sync.Mutex
	// Guarded by mu.
	users *Users
	mod   time.Time
	size  int64
	err   error
}

// get returns the users as the file says now.
func (s *userStore) get() (*Users, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fi, err := os.Stat(s.path)
	if err == nil && s.users != nil && fi.ModTime().Equal(s.mod) && fi.Size() == s.size {
		return s.users, s.err
	}
	u, lerr := LoadUsers(s.path)
	s.users, s.err = u, lerr
	if err == nil {
		s.mod, s.size = fi.ModTime(), fi.Size()
	}
	if lerr != nil {
		s.users = &Users{}
	}
	return s.users, s.err
}
