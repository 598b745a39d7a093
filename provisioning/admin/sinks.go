package admin

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"time"
)

// ErrNoSink is the error of an operation on a sink the gateway does not run.
var ErrNoSink = errors.New("admin: no such sink")

// SinkStatus is one sink's state on the socket (doc.go, "Sinks").
type SinkStatus struct {
	Name         string    `json:"name"`
	Streams      []string  `json:"streams"`
	Backlog      uint64    `json:"backlog"`                // records its destination has not accepted yet
	Oldest       time.Time `json:"oldest,omitzero"`        // the oldest of them, appended when (a lower bound)
	BacklogBytes int64     `json:"backlog_bytes"`          // journal bytes on disk its backlog keeps
	Alarm        bool      `json:"backlog_alarm"`          // the backlog keeps half the journal's disk cap or more
	Down         string    `json:"down,omitempty"`         // the last delivery error while it is failing
	Class        string    `json:"error_class,omitempty"`  // its class: network, timeout, status, auth, …
	Held         int       `json:"held,omitempty"`         // records held for people without a mapping
	DeadLetters  int       `json:"dead_letters,omitempty"` // not replayed, still in the journal
	Delivered    uint64    `json:"delivered"`              // records its destination accepted since the gateway started
	Retries      uint64    `json:"retries"`                // failed deliveries since the gateway started, each tried again
}

// DeadLetter is a record a sink could never deliver, on the socket.
type DeadLetter struct {
	Sink   string    `json:"sink"`
	Stream string    `json:"stream"`
	Seq    uint64    `json:"seq"`
	ID     string    `json:"id,omitempty"`
	Device string    `json:"device,omitempty"`
	Type   string    `json:"type,omitempty"`
	Error  string    `json:"error"`
	At     time.Time `json:"at"`
}

// ReplayResult is SinkReplay's answer.
type ReplayResult struct {
	Delivered int             `json:"delivered"`
	Failed    []ReplayFailure `json:"failed,omitempty"` // still dead letters
}

// ReplayFailure is a dead letter a replay did not deliver, and why.
type ReplayFailure struct {
	DeadLetter
	Why string `json:"why"`
}

// Sinks is what the daemon tells the admin service about its sinks. An
// unknown sink's name is an error wrapping ErrNoSink.
type Sinks interface {
	SinkStatus(ctx context.Context) ([]SinkStatus, error)
	DeadLetters(ctx context.Context, sink string) ([]DeadLetter, error)
	Replay(ctx context.Context, sink string) (ReplayResult, error)
}

// SinkStatus lists the sinks; none without Deps.Sinks.
func (s *Service) SinkStatus(ctx context.Context) ([]SinkStatus, error) {
	if s.sinks == nil {
		return []SinkStatus{}, nil
	}
	return s.sinks.SinkStatus(ctx)
}

// SinkDeadLetters lists a sink's dead letters.
func (s *Service) SinkDeadLetters(ctx context.Context, sink string) ([]DeadLetter, error) {
	if s.sinks == nil {
		return nil, ErrNoSink
	}
	return s.sinks.DeadLetters(ctx, sink)
}

// SinkReplay offers a sink's dead letters to its destination again.
func (s *Service) SinkReplay(ctx context.Context, sink string) (ReplayResult, error) {
	if s.sinks == nil {
		return ReplayResult{}, ErrNoSink
	}
	res, err := s.sinks.Replay(ctx, sink)
	if err == nil {
		s.log.Info().Str("sink", sink).Int("delivered", res.Delivered).Int("failed", len(res.Failed)).Msg("admin: dead letters replayed")
	}
	return res, err
}

// sinkRoutes adds the sinks API to the socket (doc.go, "Sinks").
func (s *Service) sinkRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/sinks", func(w http.ResponseWriter, r *http.Request) {
		st, err := s.SinkStatus(r.Context())
		reply(w, st, err)
	})
	mux.HandleFunc("GET /v1/sinks/{name}/deadletters", func(w http.ResponseWriter, r *http.Request) {
		dls, err := s.SinkDeadLetters(r.Context(), r.PathValue("name"))
		reply(w, dls, err)
	})
	mux.HandleFunc("POST /v1/sinks/{name}/replay", func(w http.ResponseWriter, r *http.Request) {
		if !decode(w, r, &struct{}{}) {
			return
		}
		res, err := s.SinkReplay(r.Context(), r.PathValue("name"))
		reply(w, res, err)
	})
}

// ServeCentral serves the sinks and people APIs alone on ln until ctx
// ends, as ServeListener does, with the same operations: officegate
// connect runs sinks and has no devices, so officegate sinks
// status|deadletters|replay and people import|list|show|remove|forget
// --socket PATH work on it too. Only deps' Sinks, People, Forget and Log
// are used; without People the people routes answer ErrNoPeople.
func ServeCentral(ctx context.Context, ln net.Listener, deps Deps) error {
	s := &Service{sinks: deps.Sinks, people: deps.People, forget: deps.Forget, log: deps.Log, now: time.Now}
	mux := http.NewServeMux()
	s.peopleRoutes(mux)
	s.sinkRoutes(mux)
	mux.HandleFunc("/", noRoute)
	return s.serve(ctx, ln, mux)
}

// Sinks lists the gateway's sinks and their state.
func (c *Client) Sinks(ctx context.Context) ([]SinkStatus, error) {
	var out []SinkStatus
	return out, c.do(ctx, http.MethodGet, "/v1/sinks", nil, &out)
}

// SinkDeadLetters lists a sink's dead letters, oldest first.
func (c *Client) SinkDeadLetters(ctx context.Context, sink string) ([]DeadLetter, error) {
	var out []DeadLetter
	return out, c.do(ctx, http.MethodGet, "/v1/sinks/"+url.PathEscape(sink)+"/deadletters", nil, &out)
}

// SinkReplay replays a sink's dead letters.
func (c *Client) SinkReplay(ctx context.Context, sink string) (ReplayResult, error) {
	var out ReplayResult
	return out, c.do(ctx, http.MethodPost, "/v1/sinks/"+url.PathEscape(sink)+"/replay", struct{}{}, &out)
}
