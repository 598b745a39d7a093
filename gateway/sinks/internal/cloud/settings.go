package cloud

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Common are the settings every platform sink has.
type Common struct {
	Base    string        // base_url: the platform's API root; tests point it at a double
	Timeout time.Duration // timeout: per HTTP call, so that a server that hangs holds nothing for long
}

// DefaultTimeout bounds one call: the platforms answer in well under a
// second; a call that takes longer than this is a destination in trouble,
// retried after a backoff.
const DefaultTimeout = 15 * time.Second

// CommonKeys are the keys ParseCommon reads.
var CommonKeys = []string{"base_url", "timeout"}

// ParseCommon reads base_url (default def) and timeout.
func ParseCommon(s map[string]string, def string) (Common, error) {
	c := Common{Base: def, Timeout: DefaultTimeout}
	if v, ok := s["base_url"]; ok {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.User != nil {
			return c, fmt.Errorf("base_url %q: want http(s)://host[:port][/path]", v)
		}
		c.Base = strings.TrimSuffix(v, "/")
	}
	if v, ok := s["timeout"]; ok {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > 5*time.Minute {
			return c, fmt.Errorf("timeout %q: want a duration in (0, 5m]", v)
		}
		c.Timeout = d
	}
	return c, nil
}

// Defaults fills what a sink built from Options rather than settings left
// out: base (the platform's API root) and DefaultTimeout.
func (c *Common) Defaults(base string) {
	if c.Base == "" {
		c.Base = base
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
}

// Client is the HTTP client for c: its timeout, and no redirects (a
// platform API never redirects; following one would send the token in
// the query to wherever it points).
func (c Common) Client() *http.Client {
	return &http.Client{Timeout: c.Timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

// Text is a free-text setting: def if absent, at most maxChars characters.
func Text(s map[string]string, key, def string, maxChars int) (string, error) {
	v, ok := s[key]
	if !ok {
		return def, nil
	}
	if !utf8.ValidString(v) || utf8.RuneCountInString(v) > maxChars {
		return "", fmt.Errorf("%s %q: want at most %d characters of UTF-8", key, v, maxChars)
	}
	return v, nil
}

// Int is an integer setting in [lo, hi]: def if absent.
func Int(s map[string]string, key string, def, lo, hi int) (int, error) {
	n, err := Int64(s, key, int64(def), int64(lo), int64(hi))
	return int(n), err
}

// Int64 is Int for a value that may not fit a 32-bit int (an app's id).
func Int64(s map[string]string, key string, def, lo, hi int64) (int64, error) {
	v, ok := s[key]
	if !ok {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s %q: want an integer in [%d, %d]", key, v, lo, hi)
	}
	return n, nil
}

// Required is a setting that must be present and not empty.
func Required(s map[string]string, key string) (string, error) {
	v := strings.TrimSpace(s[key])
	if v == "" {
		return "", fmt.Errorf("%s is required", key)
	}
	return v, nil
}

// App is a platform app's credentials and the common settings, as a
// sink's configuration gives them.
type App struct {
	ID     string // the app's (or corp's) id
	Secret string // read from its file
	Common Common
}

// ParseApp reads the app's id (idKey, required), its secret from the file
// secretKey names (ReadSecret), and the common settings with base as the
// default base_url.
func ParseApp(s map[string]string, idKey, secretKey, base string) (App, error) {
	var a App
	var err error
	if a.ID, err = Required(s, idKey); err != nil {
		return App{}, err
	}
	if a.Secret, err = ReadSecret(secretKey, s[secretKey]); err != nil {
		return App{}, err
	}
	if a.Common, err = ParseCommon(s, base); err != nil {
		return App{}, err
	}
	return a, nil
}
