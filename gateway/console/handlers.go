package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// reqCtx is one request's user and language.
type reqCtx struct {
	lang  string
	user  User
	sess  *session // nil: not logged in
	token string
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.Handle("GET /static/", s.static)
	m.HandleFunc("GET /login", s.anon(s.loginPage))
	m.HandleFunc("POST /login", s.anon(s.login))
	m.HandleFunc("GET /lang/{lang}", s.anon(s.setLang))
	m.HandleFunc("POST /logout", s.act(Viewer, "logout", s.logout))

	m.HandleFunc("GET /{$}", s.page(s.overview))
	m.HandleFunc("GET /devices", s.page(s.devices))
	m.HandleFunc("GET /devices/{id}", s.page(s.device))
	m.HandleFunc("GET /enrollment", s.page(s.enrollment))
	m.HandleFunc("GET /firmware", s.page(s.firmware))
	m.HandleFunc("GET /reception", s.page(s.reception))
	m.HandleFunc("GET /rooms", s.page(s.rooms))
	m.HandleFunc("GET /events", s.page(s.events))
	m.HandleFunc("GET /events/stream", s.page(s.stream))
	m.HandleFunc("GET /people", s.page(s.people))
	m.HandleFunc("GET /sinks", s.page(s.sinks))

	m.HandleFunc("POST /devices/{id}/command", s.act(Operator, "device.command", s.deviceCommand))
	m.HandleFunc("POST /devices/{id}/push", s.act(Operator, "config.push", s.configPush))
	m.HandleFunc("POST /devices/{id}/rename", s.act(Admin, "device.rename", s.rename))
	m.HandleFunc("POST /devices/{id}/retire", s.act(Admin, "device.retire", s.retire))
	m.HandleFunc("POST /devices/{id}/replace", s.act(Admin, "device.replace", s.replace))
	m.HandleFunc("POST /enrollment/approve", s.act(Operator, "device.approve", s.approve))
	m.HandleFunc("POST /enrollment/reject", s.act(Operator, "device.reject", s.reject))
	m.HandleFunc("POST /enrollment/window", s.act(Admin, "enroll.open", s.openWindow))
	m.HandleFunc("POST /enrollment/close", s.act(Admin, "enroll.close", s.closeWindow))
	m.HandleFunc("POST /enrollment/import", s.act(Admin, "devices.import", s.importManifest))
	m.HandleFunc("POST /firmware/rollout", s.act(Admin, "firmware.rollout", s.startRollout))
	m.HandleFunc("POST /reception/approve", s.act(Operator, "visitor.approve", s.approveWalkIn))
	m.HandleFunc("POST /people/import", s.act(Admin, "people.import", s.importPeople))
	m.HandleFunc("POST /people/remove", s.act(Admin, "person.remove", s.removePerson))
	m.HandleFunc("POST /sinks/replay", s.act(Admin, "sink.replay", s.replay))
	s.mux = m
}

// ctxOf reads the request's language and session.
func (s *Server) ctxOf(w http.ResponseWriter, r *http.Request) *reqCtx {
	rc := &reqCtx{lang: pickLang(r)}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return rc
	}
	ss := s.sessions.get(c.Value)
	if ss == nil {
		return rc
	}
	// The users file decides, at every request: a removed user, or one
	// whose role was lowered, is so at once.
	users, _ := s.users.get()
	i, ok := users.find(ss.user)
	if !ok {
		s.sessions.end(c.Value)
		return rc
	}
	rc.sess, rc.token, rc.user = ss, c.Value, User{Name: ss.user, Role: users.list[i].Role}
	return rc
}

func (s *Server) anon(h func(http.ResponseWriter, *http.Request, *reqCtx)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { h(w, r, s.ctxOf(w, r)) }
}

// page serves a page to a logged-in user; others go to the login page.
func (s *Server) page(h func(http.ResponseWriter, *http.Request, *reqCtx)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rc := s.ctxOf(w, r)
		if rc.sess == nil {
			if r.Header.Get("X-Partial") != "" || r.Header.Get("Accept") == "text/event-stream" {
				http.Error(w, tr(rc.lang, "Your session has ended: log in again."), http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		h(w, r, rc)
	}
}

// act serves a state change: a logged-in user, the session's CSRF token,
// the role min. Every outcome, refusals included, is audited by what
// (and by the handler, with its target and result).
func (s *Server) act(min Role, what string, h func(http.ResponseWriter, *http.Request, *reqCtx) audit) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rc := s.ctxOf(w, r)
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if rc.sess == nil {
			s.render(w, r, rc, http.StatusUnauthorized, "error", nil, tr(rc.lang, "Your session has ended: log in again."))
			return
		}
		if !s.csrfOK(r, rc) {
			s.audit(r, rc, audit{action: what, outcome: "refused", detail: "missing or wrong CSRF token"})
			s.render(w, r, rc, http.StatusForbidden, "error", nil, tr(rc.lang, "Refused: this form is stale or was not sent by the console. Reload the page and try again."))
			return
		}
		if rc.user.Role < min {
			s.audit(r, rc, audit{action: what, outcome: "refused", detail: "role " + rc.user.Role.String() + " may not; needs " + min.String()})
			s.render(w, r, rc, http.StatusForbidden, "error", nil,
				trf(rc.lang, "Refused: your role (%s) may not do this; it needs %s.", tr(rc.lang, rc.user.Role.String()), tr(rc.lang, min.String())))
			return
		}
		a := h(w, r, rc)
		if a.action == "" {
			a.action = what
		}
		s.audit(r, rc, a)
	}
}

// maxBody bounds a request body: a firmware image and its signature, or a
// manifest. The firmware cap is the admin service's to enforce; this only
// keeps a runaway upload from filling memory.
const maxBody = 64 << 20

// csrfOK checks the form's token against the session's, and that a
// browser that names the request's origin names this one.
func (s *Server) csrfOK(r *http.Request, rc *reqCtx) bool {
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	tok := r.Header.Get("X-CSRF-Token")
	if tok == "" {
		if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
			if err := r.ParseMultipartForm(1 << 20); err != nil {
				return false
			}
		}
		tok = r.PostFormValue("csrf")
	}
	return sameToken(tok, rc.sess.csrf)
}

// audit is one console.audit event's fields (MQTT.md §5.10).
type audit struct {
	action  string
	target  string
	outcome string // ok, refused, failed
	detail  string
	command string // the id of the command it issued, whose result is on the results topic
}

func (s *Server) audit(r *http.Request, rc *reqCtx, a audit) {
	if a.outcome == "" {
		a.outcome = "ok"
	}
	data := map[string]any{"action": a.action, "outcome": a.outcome, "address": clientAddr(r)}
	if rc.user.Name != "" {
		data["user"], data["role"] = rc.user.Name, rc.user.Role.String()
	}
	if a.target != "" {
		data["target"] = cut(a.target, 128)
	}
	if a.detail != "" {
		data["detail"] = cut(a.detail, 256)
	}
	if a.command != "" {
		data["command_id"] = a.command
	}
	// The audit trail is the journal's: it outlives the request.
	if err := s.o.Audit(context.WithoutCancel(r.Context()), data); err != nil {
		s.o.Log.Error().Err(err).Str("action", a.action).Msg("console: could not journal the audit event")
	}
}

func cut(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// done ends a successful action: the message is shown once on the page
// the browser is sent back to.
func (s *Server) done(w http.ResponseWriter, r *http.Request, rc *reqCtx, back, msg string) {
	s.sessions.setFlash(rc.sess, msg)
	http.Redirect(w, r, back, http.StatusSeeOther)
}
