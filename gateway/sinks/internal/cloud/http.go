package cloud

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxReply bounds a reply read into memory: the platforms answer these
// calls in a few hundred bytes.
const maxReply = 1 << 20

// ErrMalformed is a reply that is not the JSON the platform documents (an
// HTML error page from a proxy, a truncated body): the destination is not
// working, so the call is retried, never dead-lettered.
var ErrMalformed = errors.New("cloud: malformed reply")

// HTTPError is a reply whose status is not 2xx.
type HTTPError struct {
	Endpoint   string        // the path called
	Status     int           // the HTTP status
	RetryAfter time.Duration // from Retry-After (seconds), or the platform's own header; 0 if none
	Code       int           // the platform's error code in the body, if it had one
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("cloud: %s: HTTP %d", e.Endpoint, e.Status)
	if e.Code != 0 {
		s += fmt.Sprintf(" (code %d)", e.Code)
	}
	return s
}

// Request is one call to a platform.
type Request struct {
	Method string
	Base   string     // scheme://host, no trailing slash
	Path   string     // the endpoint, /…; it names the call in errors
	Query  url.Values // may hold a token: never shown
	Header http.Header
	Body   any // marshalled as JSON; nil for none
}

// Call makes r with c and decodes a 2xx JSON reply into out. Its errors
// name r.Path, never the URL, the query or the body: they may reach the
// log, a dead letter and an alarm, and the query can hold a token.
// A non-2xx reply is an *HTTPError, after decoding what it can into out
// (the platforms put their error code in such bodies too).
func Call(ctx context.Context, c *http.Client, r Request, out any) error {
	var body io.Reader
	if r.Body != nil {
		b, err := json.Marshal(r.Body)
		if err != nil {
			return fmt.Errorf("cloud: %s: encode request: %w", r.Path, err)
		}
		body = bytes.NewReader(b)
	}
	u := r.Base + r.Path
	if len(r.Query) > 0 {
		u += "?" + r.Query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, u, body)
	if err != nil {
		return fmt.Errorf("cloud: %s: bad request (check base_url)", r.Path)
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	if r.Body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("cloud: %s: %w", r.Path, stripURL(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxReply+1))
	if err != nil {
		return fmt.Errorf("cloud: %s: read reply: %w", r.Path, stripURL(err))
	}
	if len(data) > maxReply {
		return fmt.Errorf("%w: %s: reply longer than %d bytes", ErrMalformed, r.Path, maxReply)
	}
	if resp.StatusCode/100 != 2 {
		he := &HTTPError{Endpoint: r.Path, Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header)}
		if out != nil && json.Unmarshal(data, out) == nil {
			he.Code = codeOf(out)
		}
		return he
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%w: %s: HTTP %d, %d bytes that are not the documented JSON", ErrMalformed, r.Path, resp.StatusCode, len(data))
	}
	return nil
}

// Coded is a reply that carries the platform's error code.
type Coded interface{ PlatformCode() int }

func codeOf(v any) int {
	if c, ok := v.(Coded); ok {
		return c.PlatformCode()
	}
	return 0
}

// retryAfter reads Retry-After (RFC 9110, seconds form) or Feishu's
// x-ogw-ratelimit-reset (seconds until the window reopens, Feishu's
// "Rate limits" page).
func retryAfter(h http.Header) time.Duration {
	for _, k := range []string{"Retry-After", "X-Ogw-Ratelimit-Reset"} {
		if v := strings.TrimSpace(h.Get(k)); v != "" {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				return time.Duration(n) * time.Second
			}
		}
	}
	return 0
}

// stripURL drops the URL from a *url.Error, keeping its operation and
// cause (a timeout, a refused connection), so that a token in the query
// never reaches an error message.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &opError{op: ue.Op, err: ue.Err}
	}
	return err
}

type opError struct {
	op  string
	err error
}

func (e *opError) Error() string {
	// The cause can itself quote the URL (net/http's "Client.Timeout
	// exceeded while awaiting headers" does not, but a redirect error
	// does): keep the cause's type for errors.Is, and its text only when
	// it holds no URL.
	msg := e.err.Error()
	if strings.Contains(msg, "://") || strings.Contains(msg, "?") {
		msg = "request failed"
	}
	return strings.ToLower(e.op) + ": " + msg
}

func (e *opError) Unwrap() error { return e.err }
