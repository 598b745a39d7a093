package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/officegate/officegate/gateway/sinks"
)

// SignatureHeader carries the request's signature (doc.go §2).
const SignatureHeader = "Officegate-Signature"

// Opts configure a Sink.
type Opts struct {
	URL     string        // http or https; required
	Batch   int           // events per request at most; 0: DefaultBatch
	Secret  []byte        // the HMAC-SHA256 key; nil: requests are not signed
	Timeout time.Duration // of one request, answer included; 0: 10 s
	// Client sends the requests; nil: one with Timeout (and the TLS
	// settings FromSettings gives it).
	Client *http.Client
	Now    func() time.Time // the signature's clock; nil: time.Now
}

// DefaultBatch is the default number of events per request: ~50 KB of
// envelopes, small for any HTTP server, and a backlog of a day of a
// floor's punches drains in a few hundred requests.
const DefaultBatch = 100

// Sink posts events to a URL.
type Sink struct {
	// Immutable.
	o Opts
}

var (
	_ sinks.BatchSink  = (*Sink)(nil)
	_ sinks.RecordSink = (*Sink)(nil)
)

// FromRecord: the sink renders each envelope from its journal record into
// the request's body (Body), not into a payload of its own first.
func (s *Sink) FromRecord() {}

// New returns a sink posting to o.URL.
func New(o Opts) (*Sink, error) {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// Not quoted: a url may carry credentials.
		return nil, errors.New("webhook: url: want http://host/… or https://host/…")
	}
	if o.Batch == 0 {
		o.Batch = DefaultBatch
	}
	if o.Batch < 1 {
		return nil, fmt.Errorf("webhook: batch %d: want at least 1", o.Batch)
	}
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: o.Timeout}
	}
	// Never follow a redirect (doc.go §4): a 301, 302 or 303 turns the
	// POST into a GET without its body, and a 2xx from where it leads
	// would count events as delivered that were never sent.
	c := *o.Client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	o.Client = &c
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Sink{o: o}, nil
}

// MaxBatch is the most events per request.
func (s *Sink) MaxBatch() int { return s.o.Batch }

// Deliver posts one event.
func (s *Sink) Deliver(ctx context.Context, ev sinks.Event) error {
	return s.post(ctx, []sinks.Event{ev})
}

// DeliverBatch posts evs in one request; a batch refused for good is
// resent one event per request (doc.go §4).
func (s *Sink) DeliverBatch(ctx context.Context, evs []sinks.Event) (int, error) {
	err := s.post(ctx, evs)
	switch {
	case err == nil:
		return len(evs), nil
	case len(evs) == 1 || !errors.Is(err, sinks.ErrPermanent):
		return 0, err
	}
	errs := make([]error, 0, len(evs))
	for _, ev := range evs {
		err := s.post(ctx, []sinks.Event{ev})
		errs = append(errs, err)
		if err != nil && !errors.Is(err, sinks.ErrPermanent) {
			break // the receiver is down now: the rest waits for the retry
		}
	}
	return 0, &sinks.BatchError{Errs: errs}
}

// Body is a request's body for evs (doc.go §1). An event's envelope is
// rendered from its journal record straight into the body; one handed
// over as JSON (no record) is copied in as it is, once checked to be JSON.
func Body(evs []sinks.Event) ([]byte, error) {
	// Sized for the whole body at once, not grown by doubling: an envelope
	// is its fields plus its data, which JSON makes at most about twice as
	// long as CBOR (quotes, keys, escapes); a longer one grows the slice.
	n := 16
	for _, ev := range evs {
		n += len(ev.Topic) + len(ev.Payload) + 32
		if o := ev.Record; o != nil && o.Event != nil {
			e := o.Event
			n += 256 + len(e.ID) + len(e.Type) + len(e.Gateway) + len(e.Device) + len(e.TimeRaw) + 2*len(e.Data)
		} else if o != nil && o.Result != nil {
			r := o.Result
			n += 192 + len(r.ID) + len(r.Gateway) + len(r.Device) + len(r.Command) + len(r.Error) + 2*len(r.Data)
		}
	}
	return appendBody(make([]byte, 0, n), evs)
}

// appendBody appends the body for evs to dst.
func appendBody(dst []byte, evs []sinks.Event) ([]byte, error) {
	b := append(dst, `{"events":[`...)
	for i, ev := range evs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"topic":`...)
		b = appendTopic(b, ev.Topic)
		b = append(b, `,"message":`...)
		start := len(b)
		var msg []byte
		if ev.Record != nil {
			var err error
			if b, err = ev.Record.AppendJSON(b); err != nil {
				return nil, fmt.Errorf("event %s: %w", ev.ID, err)
			}
			msg = b[start:]
		} else {
			if !json.Valid(ev.Payload) {
				return nil, fmt.Errorf("event %s: its envelope is not JSON", ev.ID)
			}
			msg = ev.Payload
		}
		clean, err := sinks.WithoutCard(msg)
		if err != nil {
			return nil, fmt.Errorf("event %s: %w", ev.ID, err)
		}
		b = append(append(b[:start], clean...), '}')
	}
	return append(b, "]}"...), nil
}

// appendTopic appends a topic as a JSON string, as json.Marshal writes it.
func appendTopic(b []byte, topic string) []byte {
	for i := 0; i < len(topic); i++ {
		if c := topic[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(topic) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, topic...)
	return append(b, '"')
}

// IdempotencyKey is a request's Idempotency-Key (doc.go §2).
func IdempotencyKey(evs []sinks.Event) string {
	if len(evs) == 1 {
		return evs[0].ID
	}
	return evs[0].ID + ".." + evs[len(evs)-1].ID
}

// Sign is the signature header's value for a body sent at t (doc.go §3).
func Sign(secret, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// what names a request's events in errors.
func what(evs []sinks.Event) string {
	if len(evs) == 1 {
		return "event " + evs[0].ID
	}
	return fmt.Sprintf("%d events %s", len(evs), IdempotencyKey(evs))
}

// post sends one request and classifies its answer (doc.go §4).
func (s *Sink) post(ctx context.Context, evs []sinks.Event) error {
	b, err := Body(evs)
	if err != nil {
		return sinks.Permanent(fmt.Errorf("webhook: %s: %w", what(evs), err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.o.URL, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("webhook: %s: request: %w", what(evs), stripURL(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "officegate-webhook/1")
	req.Header.Set("Idempotency-Key", IdempotencyKey(evs))
	if s.o.Secret != nil {
		req.Header.Set(SignatureHeader, Sign(s.o.Secret, b, s.o.Now()))
	}
	resp, err := s.o.Client.Do(req)
	if err != nil {
		return netError(fmt.Errorf("webhook: %s: %w", what(evs), stripURL(err)))
	}
	// Read (a little of) the answer so the connection is reused; its
	// content is never shown: a receiver may echo what it was sent.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	code := resp.StatusCode
	err = fmt.Errorf("webhook: %s: HTTP %d", what(evs), code)
	switch {
	case code >= 200 && code < 300:
		return nil
	case code >= 300 && code < 400:
		return sinks.WithClass(sinks.ClassStatus, fmt.Errorf("%w (a redirect: set url to where it points)", err))
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return sinks.RetryAfter(sinks.WithClass(sinks.ClassStatus, err), retryAfter(resp.Header.Get("Retry-After"), s.o.Now()))
	default:
		return sinks.Permanent(sinks.WithClass(sinks.ClassRefused, err))
	}
}

// retryAfter parses a Retry-After value: delay-seconds or an HTTP-date
// (RFC 9110 §10.2.3); 0 if absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 || n > int64(24*time.Hour/time.Second) {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

// stripURL drops the url from a client error: it may carry credentials or
// a token in its query.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// netError classes a request that got no answer.
func netError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) || sinks.ClassOf(err) == sinks.ClassTimeout {
		return sinks.WithClass(sinks.ClassTimeout, err)
	}
	return sinks.WithClass(sinks.ClassNetwork, err)
}
