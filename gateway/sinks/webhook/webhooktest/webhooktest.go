// Package webhooktest is a webhook receiver for tests.
//
// It verifies signatures as a consumer would (Verify), deduplicates by
// event id, and can be told to fail, hang or refuse one event.
package webhooktest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Verify checks a request's Officegate-Signature header against its raw
// body, exactly as the recipe in the webhook package's doc (§3) tells a
// receiver to, with the standard library only: it shares no code with the
// sink that signs.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs []string
	for _, kv := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("webhooktest: signature without a timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("webhooktest: signature timestamp %s is %v from now", ts, d)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "." + string(body)))
	want := []byte(hex.EncodeToString(mac.Sum(nil)))
	for _, s := range sigs {
		if hmac.Equal(want, []byte(s)) {
			return nil
		}
	}
	return errors.New("webhooktest: no matching v1 signature")
}

// Message is one event as the receiver took it.
type Message struct {
	Topic   string          `json:"topic"`
	Message json.RawMessage `json:"message"`
	ID      string          `json:"-"`
	Device  string          `json:"-"`
	Type    string          `json:"-"`
}

// Request is one request as the receiver saw it.
type Request struct {
	Key    string // Idempotency-Key
	IDs    []string
	Status int // what the receiver answered
	Signed bool
}

// Server is a webhook receiver on a loopback port.
type Server struct {
	*httptest.Server
	// Immutable.
	secret []byte // nil: signatures are not checked

	mu sync.Mutex
	// Guarded by mu.
	down       int    // answer every request with this status; 0: up
	retryAfter string // Retry-After of a down answer
	hang       bool   // hold every request until its client gives up
	refuse     map[string]int
	got        []Message
	seen       map[string]int // accepted deliveries per event id
	reqs       []Request
	changed    chan struct{} // closed at each request
}

// New starts a receiver on loopback (TLS if tls), checking signatures with
// secret when it is not nil. Close it when done.
func New(secret []byte, tls bool) *Server {
	s := &Server{secret: secret, refuse: map[string]int{}, seen: map[string]int{}, changed: make(chan struct{})}
	h := http.HandlerFunc(s.serve)
	if tls {
		s.Server = httptest.NewTLSServer(h)
	} else {
		s.Server = httptest.NewServer(h)
	}
	return s
}

// Down makes every request answer status (with Retry-After retryAfter
// unless ""); Down(0, "") brings the receiver up again.
func (s *Server) Down(status int, retryAfter string) {
	s.mu.Lock()
	s.down, s.retryAfter = status, retryAfter
	s.mu.Unlock()
}

// Hang makes requests wait until their client gives up (a hung receiver).
func (s *Server) Hang(on bool) {
	s.mu.Lock()
	s.hang = on
	s.mu.Unlock()
}

// Refuse answers status to any request holding event id (a poison record).
func (s *Server) Refuse(id string, status int) {
	s.mu.Lock()
	s.refuse[id] = status
	s.mu.Unlock()
}

// Messages are the accepted events, each once, in the order accepted.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.got...)
}

// Requests are every request received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Redelivered counts events accepted more than once (a receiver
// deduplicating by id takes them once).
func (s *Server) Redelivered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.seen {
		n += c - 1
	}
	return n
}

// Changed is closed at the next request.
func (s *Server) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	status, msgs, req := s.answer(r, body, err)
	if status == 0 { // hang
		<-r.Context().Done()
		return
	}
	s.mu.Lock()
	req.Status = status
	s.reqs = append(s.reqs, req)
	if status/100 == 2 {
		for _, m := range msgs {
			if s.seen[m.ID]++; s.seen[m.ID] == 1 {
				s.got = append(s.got, m)
			}
		}
	}
	if status == s.down && s.retryAfter != "" {
		w.Header().Set("Retry-After", s.retryAfter)
	}
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	w.WriteHeader(status)
}

// answer decides a request's status; 0 means hang.
func (s *Server) answer(r *http.Request, body []byte, readErr error) (int, []Message, Request) {
	req := Request{Key: r.Header.Get("Idempotency-Key")}
	if readErr != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		return http.StatusBadRequest, nil, req
	}
	if s.secret != nil {
		if err := Verify(s.secret, r.Header.Get("Officegate-Signature"), body, time.Now(), 5*time.Minute); err != nil {
			return http.StatusUnauthorized, nil, req
		}
		req.Signed = true
	}
	var b struct {
		Events []Message `json:"events"`
	}
	if err := json.Unmarshal(body, &b); err != nil || len(b.Events) == 0 {
		return http.StatusBadRequest, nil, req
	}
	for i := range b.Events {
		var env struct{ ID, Device, Type string }
		if err := json.Unmarshal(b.Events[i].Message, &env); err != nil || env.ID == "" {
			return http.StatusUnprocessableEntity, nil, req
		}
		b.Events[i].ID, b.Events[i].Device, b.Events[i].Type = env.ID, env.Device, env.Type
		req.IDs = append(req.IDs, env.ID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hang {
		return 0, nil, req
	}
	if s.down != 0 {
		return s.down, nil, req
	}
	for _, m := range b.Events {
		if code, ok := s.refuse[m.ID]; ok {
			return code, nil, req
		}
	}
	return http.StatusOK, b.Events, req
}
