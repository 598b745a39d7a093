package console

import (
	"context"
	"crypto/tls"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/provisioning/admin"
)

//go:embed templates/*.html static/*
var assets embed.FS

// Options configure the console.
type Options struct {
	// Listen is host:port. Plain HTTP (TLS false) is only for a loopback
	// address: the configuration refuses anything else.
	Listen string
	TLS    bool
	// CertFile and KeyFile are the certificate and key (PEM), read again
	// when they change; both empty: a self-signed certificate made once
	// in StateDir.
	CertFile, KeyFile string
	StateDir          string
	UsersFile         string
	// Idle ends a session unused this long; default 15 min.
	Idle time.Duration

	Gateway  string
	Location *time.Location // times are shown in it; default UTC
	Admin    *admin.Service // required: every operation is the admin service's
	Hub      *Hub           // required: the live events
	// Health, if set, says how the gateway is for the overview.
	Health func() Health
	// Schedules, if set, lists the rooms whose drivers keep a booking
	// schedule, with their current and next booking from it: the
	// schedule the room panels are shown (devices.Scheduler).
	Schedules func() []RoomSchedule
	// Audit journals a console.audit event (MQTT.md §5.10); required.
	Audit func(ctx context.Context, data map[string]any) error
	// OnLockout, if set, is told of every login lock-out (a metric).
	OnLockout func()
	// OnLoginFailed, if set, is told of every failed login (a metric).
	OnLoginFailed func()
	// WalkInWindow is how long a kiosk takes an approval after a
	// rejected scan; default 30 s (the kiosk's default approve_timeout).
	WalkInWindow time.Duration
	Now          func() time.Time
	Log          zerolog.Logger
}

// Health is the gateway's state for the overview.
type Health struct {
	Uplink      bool      // connected to the broker
	UplinkSince time.Time // since when connected or not
	Backlog     uint64    // records not yet delivered, all streams
	Oldest      time.Time // append time of the oldest undelivered record; zero: none
	DiskBytes   int64     // journal bytes on disk
	MaxBytes    int64     // its cap
	FreeBytes   int64     // free on its file system; -1 unknown
	Full        bool
	Sinks       []SinkHealth
	Watchdog    WatchdogState
	Checks      map[string]string // /healthz's checks: "ok" or the problem
}

// WatchdogState is the service manager's watchdog as the gateway runs it.
type WatchdogState struct {
	On bool // the service manager asked for pings and they are checked
	// Stalled is "" while the pipeline makes progress and the service
	// manager is pinged; else what stalled: pings are withheld, and the
	// service manager restarts the gateway once its timeout passes.
	Stalled string
	Checked time.Time     // the latest check
	Every   time.Duration // the ping period
}

// SinkHealth is one sink's backlog.
type SinkHealth struct {
	Name    string
	Backlog uint64    // records its destination has not accepted yet
	Oldest  time.Time // append time of the oldest of them (a lower bound); zero: none
	Failing string    // the class of its failing deliveries (network, timeout, status, …); "" while it delivers
}

// RoomSchedule is a room's booking in progress and next booking, from
// its driver's schedule; nil: none.
type RoomSchedule struct {
	Device        string
	Current, Next *devices.Booking
}

// Server is the console.
type Server struct {
	// Immutable.
	o        Options
	pages    map[string]*template.Template
	static   http.Handler
	sessions *sessions
	limit    *limiter
	users    *userStore
	mux      *http.ServeMux
	certs    *certSource // nil on plain HTTP
	// Fingerprint is the SHA-256 fingerprint of the self-signed
	// certificate, "" with configured files or plain HTTP.
	Fingerprint string
}

// New checks o, makes the self-signed certificate if one is needed, and
// parses the pages.
func New(o Options) (*Server, error) {
	if o.Admin == nil || o.Hub == nil || o.Audit == nil {
		return nil, errors.New("console: Admin, Hub and Audit are required")
	}
	if o.UsersFile == "" {
		return nil, errors.New("console: no users file")
	}
	if o.Idle <= 0 {
		o.Idle = 15 * time.Minute
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.WalkInWindow <= 0 {
		o.WalkInWindow = 30 * time.Second
	}
	s := &Server{o: o,
		sessions: &sessions{idle: o.Idle, now: o.Now, byToken: map[string]*session{}},
		limit:    &limiter{now: o.Now, fails: map[string][]time.Time{}, locked: map[string]time.Time{}},
		users:    &userStore{path: o.UsersFile},
	}
	if o.TLS {
		cf, kf := o.CertFile, o.KeyFile
		if cf == "" && kf == "" {
			var made bool
			var err error
			cf, kf, s.Fingerprint, made, err = ensureSelfSigned(o.StateDir, o.Listen, o.Now())
			if err != nil {
				return nil, err
			}
			if made {
				o.Log.Info().Str("certificate", cf).Msg("console: made a self-signed certificate")
			}
		}
		s.certs = &certSource{certFile: cf, keyFile: kf}
		if _, err := s.certs.getCertificate(nil); err != nil {
			return nil, err
		}
	}
	var err error
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	sub, _ := fs.Sub(assets, "static")
	s.static = http.StripPrefix("/static/", http.FileServerFS(sub))
	s.routes()
	return s, nil
}

// Handler is the console's HTTP handler (tests serve it themselves).
func (s *Server) Handler() http.Handler { return s.secure(s.mux) }

// Listen opens the console's listener, so that a bad address fails the
// start rather than the first request.
func (s *Server) Listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", s.o.Listen)
	if err != nil {
		return nil, fmt.Errorf("console: listen on %s: %w", s.o.Listen, err)
	}
	if s.certs != nil {
		ln = tls.NewListener(ln, &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: s.certs.getCertificate})
	}
	return ln, nil
}

// Serve serves ln until ctx ends, then closes it, ends the live pages'
// streams and waits a moment for requests in flight.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		BaseContext: func(net.Listener) context.Context { return ctx },
		ErrorLog:    nil}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := hs.Shutdown(sctx); err != nil {
			hs.Close()
		}
		<-done
		return nil
	case err := <-done:
		return fmt.Errorf("console: %w", err)
	}
}

// URL is where the console is reached, for the log and the demo.
func (s *Server) URL(ln net.Listener) string {
	scheme := "http"
	if s.certs != nil {
		scheme = "https"
	}
	return scheme + "://" + ln.Addr().String() + "/"
}

// csp allows nothing but the console's own scripts, styles and images (the
// badge preview is a canvas), and no framing: no inline script, no eval.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// secure adds the headers every answer carries.
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		if s.certs != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}
