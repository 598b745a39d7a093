package cloud

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Token is an access token cached until shortly before it expires, shared
// by a sink's calls. A platform refuses a token early at times (WeCom says
// so: "企业微信可能会出于运营需要，提前使access_token失效"), so a call
// refused for its token Invalidates it and asks again.
type Token struct {
	// Fetch asks the platform for a token and how long it lives.
	Fetch func(ctx context.Context) (token string, ttl time.Duration, err error)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Early is how long before its expiry a token is replaced; a token
	// living less than twice Early is replaced at half its life.
	Early time.Duration

	mu sync.Mutex
	// Guarded by mu.
	tok     string
	renewAt time.Time
}

// ErrNoToken is a platform answering a token request without a token.
var ErrNoToken = errors.New("cloud: the platform gave no access token")

func (t *Token) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// Get returns the cached token, fetching a new one when there is none or
// it is due for renewal. Concurrent callers share one fetch.
func (t *Token) Get(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != "" && t.now().Before(t.renewAt) {
		return t.tok, nil
	}
	tok, ttl, err := t.Fetch(ctx)
	if err != nil {
		return "", err
	}
	if tok == "" {
		return "", ErrNoToken
	}
	early := t.Early
	if ttl < 2*early {
		early = ttl / 2
	}
	t.tok, t.renewAt = tok, t.now().Add(ttl-early)
	return tok, nil
}

// Invalidate drops tok if it is still the cached token (a concurrent call
// may already have replaced it).
func (t *Token) Invalidate(tok string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok == tok {
		t.tok = ""
	}
}

// Do runs call with the cached token, and once more with a new one when
// call reports the platform refused the token as stale (unknown, expired,
// malformed): a platform may end a token before its time. call returns the
// call's outcome; a stale token refused twice returns that outcome.
func (t *Token) Do(ctx context.Context, call func(tok string) (stale bool, err error)) error {
	for attempt := 0; ; attempt++ {
		tok, err := t.Get(ctx)
		if err != nil {
			return err
		}
		stale, err := call(tok)
		if stale {
			t.Invalidate(tok)
			if attempt == 0 {
				continue
			}
		}
		return err
	}
}
