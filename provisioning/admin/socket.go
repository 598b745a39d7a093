package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/officegate/officegate/provisioning"
	"github.com/officegate/officegate/provisioning/people"
)

// maxBody bounds a request body: a manifest of a few thousand lines fits
// with room to spare, and nothing else comes near it.
const maxBody = 1 << 20

// Serve serves the socket API (doc.go, "Socket API") on the Unix socket at
// path until ctx ends: Listen, then ServeListener.
func (s *Service) Serve(ctx context.Context, path string, gid int) error {
	ln, err := Listen(path, gid)
	if err != nil {
		return err
	}
	return s.ServeListener(ctx, ln)
}

// Listen binds the Unix socket at path. A stale socket file (nothing answers
// on it) is removed first; a live one, or a file that is not a socket, is an
// error. The socket is mode 0660 whatever the umask, owned by group gid, or
// by the process's group when gid < 0, so only that group (and root) can use
// it; it appears under path only once it is so, never looser. Closing the
// listener removes the file.
func Listen(path string, gid int) (net.Listener, error) {
	if err := removeStale(path); err != nil {
		return nil, err
	}
	if gid < 0 {
		gid = os.Getegid()
	}
	// Bind inside a fresh directory of mode 0700 beside path (the umask
	// decides the socket's first mode, and may leave it 0777), set the
	// group and mode, then rename it into place: nobody else can reach the
	// socket before it is 0660, and path never names a looser one. The
	// process-wide umask is not touched: other goroutines create files.
	private, err := os.MkdirTemp(filepath.Dir(path), "."+filepath.Base(path)+".")
	if err != nil {
		return nil, fmt.Errorf("admin: socket %s: %w", path, err)
	}
	defer os.Remove(private)
	tmp := filepath.Join(private, "sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("admin: listen on %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(false) // it would unlink tmp; the file is renamed
	prepare := func() error {
		if err := os.Chown(tmp, -1, gid); err != nil {
			return err
		}
		if err := os.Chmod(tmp, socketMode); err != nil {
			return err
		}
		return os.Rename(tmp, path)
	}
	if err := prepare(); err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("admin: socket %s: %w", path, err)
	}
	return &socketListener{UnixListener: ln, path: path}, nil
}

// socketMode is the admin socket's mode: read and write (connect) for the
// owner and the group, nothing for others (doc.go, "Socket API").
const socketMode = 0o660

// socketListener removes its socket file, by its final name, on Close.
type socketListener struct {
	*net.UnixListener
	path string
	once sync.Once
}

func (l *socketListener) Close() error {
	err := l.UnixListener.Close()
	l.once.Do(func() { os.Remove(l.path) })
	return err
}

// Addr names the socket by its path (the kernel knows it by the name it was
// bound under).
func (l *socketListener) Addr() net.Addr { return &net.UnixAddr{Name: l.path, Net: "unix"} }

// ServeListener serves the socket API on ln until ctx ends, then closes ln
// (removing its socket file) and returns nil once every request has finished
// (at most 5 s later: a request's own context ends with ctx).
func (s *Service) ServeListener(ctx context.Context, ln net.Listener) error {
	return s.serve(ctx, ln, s.Handler())
}

func (s *Service) serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	s.log.Info().Str("socket", ln.Addr().String()).Msg("admin: socket API listening")
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		srv.Shutdown(sctx)
		cancel()
		<-done
		return nil
	case err := <-done:
		ln.Close()
		return fmt.Errorf("admin: socket %s: %w", ln.Addr(), err)
	}
}

// removeStale removes a socket file nobody listens on.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("admin: socket %s: %w", path, err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("admin: socket %s: exists and is not a socket; not removing it", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("admin: socket %s: another process serves it (is officegate already running?)", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("admin: removing stale socket %s: %w", path, err)
	}
	return nil
}

// Handler returns the socket API's HTTP handler (doc.go, "Socket API").
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/devices", func(w http.ResponseWriter, r *http.Request) {
		reply(w, s.List(), nil)
	})
	mux.HandleFunc("GET /v1/devices/{id}", func(w http.ResponseWriter, r *http.Request) {
		d, err := s.Show(r.PathValue("id"))
		reply(w, d, err)
	})
	mux.HandleFunc("POST /v1/devices/{hw}/approve", func(w http.ResponseWriter, r *http.Request) {
		var req ApproveRequest
		if !decode(w, r, &req) {
			return
		}
		d, err := s.Approve(r.PathValue("hw"), req.ID, req.Name, req.Room, req.Profile)
		reply(w, d, err)
	})
	mux.HandleFunc("POST /v1/devices/{id}/rename", func(w http.ResponseWriter, r *http.Request) {
		var req RenameRequest
		if !decode(w, r, &req) {
			return
		}
		d, err := s.Rename(r.PathValue("id"), req.Name)
		reply(w, d, err)
	})
	for action, f := range map[string]func(string) (Device, error){"disable": s.Disable, "enable": s.Enable, "retire": s.Retire} {
		mux.HandleFunc("POST /v1/devices/{id}/"+action, func(w http.ResponseWriter, r *http.Request) {
			if !decode(w, r, &struct{}{}) {
				return
			}
			d, err := f(r.PathValue("id"))
			reply(w, d, err)
		})
	}
	mux.HandleFunc("POST /v1/devices/{id}/replace", func(w http.ResponseWriter, r *http.Request) {
		var req ReplaceRequest
		if !decode(w, r, &req) {
			return
		}
		d, err := s.Replace(r.PathValue("id"), req.HardwareID)
		reply(w, d, err)
	})
	mux.HandleFunc("POST /v1/import", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			reply(w, nil, fmt.Errorf("%w: reading the manifest: %v", provisioning.ErrInvalid, err))
			return
		}
		res, err := s.Import(body)
		if err != nil && len(res.Problems) > 0 {
			writeJSON(w, http.StatusBadRequest, importError{errorBody: errorBody{Error: err.Error(), Code: codeOf(err)}, Problems: res.Problems})
			return
		}
		reply(w, res, err)
	})
	mux.HandleFunc("GET /v1/enroll", func(w http.ResponseWriter, r *http.Request) {
		reply(w, s.Enrollment(), nil)
	})
	mux.HandleFunc("POST /v1/enroll", func(w http.ResponseWriter, r *http.Request) {
		var req EnrollRequest
		if !decode(w, r, &req) {
			return
		}
		d, err := time.ParseDuration(req.For)
		if err != nil {
			reply(w, nil, fmt.Errorf("%w: for %q: a duration such as \"10m\"", provisioning.ErrInvalid, req.For))
			return
		}
		win, err := s.Enroll(d, req.Rules)
		reply(w, win, err)
	})
	mux.HandleFunc("DELETE /v1/enroll", func(w http.ResponseWriter, r *http.Request) {
		reply(w, struct{}{}, s.EnrollClose())
	})
	mux.HandleFunc("POST /v1/config/{profile}/push", func(w http.ResponseWriter, r *http.Request) {
		if !decode(w, r, &struct{}{}) {
			return
		}
		res, err := s.ConfigPush(r.Context(), r.PathValue("profile"))
		reply(w, res, err)
	})
	mux.HandleFunc("POST /v1/firmware/rollouts", func(w http.ResponseWriter, r *http.Request) {
		var req RolloutRequest
		if !decode(w, r, &req) {
			return
		}
		rec, err := s.FirmwareRollout(req)
		reply(w, rec, err)
	})
	mux.HandleFunc("GET /v1/firmware/rollouts", func(w http.ResponseWriter, r *http.Request) {
		recs, err := s.FirmwareRollouts()
		reply(w, recs, err)
	})
	mux.HandleFunc("GET /v1/firmware/rollouts/{id}", func(w http.ResponseWriter, r *http.Request) {
		rec, err := s.FirmwareStatus(r.PathValue("id"))
		reply(w, rec, err)
	})
	s.peopleRoutes(mux)
	s.sinkRoutes(mux)
	mux.HandleFunc("/", noRoute)
	return mux
}

func noRoute(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, errorBody{Error: fmt.Sprintf("admin: no route %s %s", r.Method, r.URL.Path), Code: "no_route"})
}

// Request bodies.
type (
	ApproveRequest struct {
		ID      string `json:"id"`
		Name    string `json:"name,omitempty"`
		Room    string `json:"room,omitempty"`
		Profile string `json:"profile,omitempty"`
	}
	RenameRequest struct {
		Name string `json:"name"`
	}
	ReplaceRequest struct {
		HardwareID string `json:"hardware_id"`
	}
	EnrollRequest struct {
		For   string `json:"for"` // Go duration: "10m", "1h30m"
		Rules []Rule `json:"rules"`
	}
)

type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"` // not_found, state, conflict, invalid, manifest, no_profile, no_firmware, internal
}

type importError struct {
	errorBody
	Problems []Problem `json:"problems"`
}

// decode reads a JSON body into v, refusing unknown fields; an empty body
// is an empty object. On failure it has answered 400.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err == nil && len(body) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		err = dec.Decode(v)
	}
	if err != nil {
		reply(w, nil, fmt.Errorf("%w: request body: %v", provisioning.ErrInvalid, err))
		return false
	}
	return true
}

func reply(w http.ResponseWriter, v any, err error) {
	if err != nil {
		writeJSON(w, statusOf(err), errorBody{Error: err.Error(), Code: codeOf(err)})
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// codes maps the sentinel errors to their wire code and HTTP status; the
// Client maps the code back, so errors.Is works on both sides of the socket.
var codes = []struct {
	err    error
	code   string
	status int
}{
	{provisioning.ErrNotFound, "not_found", http.StatusNotFound},
	{people.ErrNotFound, "no_person", http.StatusNotFound},
	{people.ErrRejected, "people_rejected", http.StatusBadRequest},
	{people.ErrInvalid, "person_invalid", http.StatusBadRequest},
	{ErrNoPeople, "no_people", http.StatusConflict},
	{ErrNoSink, "no_sink", http.StatusNotFound},
	{ErrNoProfile, "no_profile", http.StatusNotFound},
	{provisioning.ErrState, "state", http.StatusConflict},
	{provisioning.ErrConflict, "conflict", http.StatusConflict},
	{provisioning.ErrManifest, "manifest", http.StatusBadRequest},
	{provisioning.ErrInvalid, "invalid", http.StatusBadRequest},
	{provisioning.ErrCorrupt, "corrupt", http.StatusInternalServerError},
	{ErrNoFirmware, "no_firmware", http.StatusConflict},
}

func codeOf(err error) string {
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return "internal"
}

func statusOf(err error) int {
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.status
		}
	}
	return http.StatusInternalServerError
}
