package console

import (
	"net/http"
	"strings"
	"time"
)

type loginData struct {
	Next  string
	Token string // the login form's CSRF token
	Name  string
}

// safeNext keeps a redirect after login on the console.
func safeNext(n string) string {
	if !strings.HasPrefix(n, "/") || strings.HasPrefix(n, "//") || strings.HasPrefix(n, "/\\") {
		return "/"
	}
	return n
}

func (s *Server) cookie(name, value string, maxAge time.Duration) *http.Cookie {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: s.certs != nil, SameSite: http.SameSiteStrictMode}
	if maxAge < 0 {
		c.MaxAge = -1
	} else if maxAge > 0 {
		c.MaxAge = int(maxAge.Seconds())
	}
	return c
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if rc.sess != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	s.showLogin(w, r, rc, http.StatusOK, "", "")
}

func (s *Server) showLogin(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, name, errText string) {
	tok := newToken()
	http.SetCookie(w, s.cookie(loginCookie, tok, 30*time.Minute))
	next := r.URL.Query().Get("next")
	if r.Method == http.MethodPost {
		next = r.PostFormValue("next")
	}
	s.render(w, r, rc, status, "login", loginData{Next: safeNext(next), Token: tok, Name: name}, errText)
}

func (s *Server) login(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	name, pw := strings.TrimSpace(r.PostFormValue("user")), r.PostFormValue("password")
	addr := clientAddr(r)
	c, err := r.Cookie(loginCookie)
	if err != nil || !sameToken(r.PostFormValue("csrf"), c.Value) {
		s.audit(r, rc, audit{action: "login", target: name, outcome: "refused", detail: "missing or wrong CSRF token"})
		s.showLogin(w, r, rc, http.StatusForbidden, name, tr(rc.lang, "Refused: this form is stale or was not sent by the console. Reload the page and try again."))
		return
	}
	if s.limit.isLocked(name, addr) {
		s.audit(r, rc, audit{action: "login", target: name, outcome: "refused", detail: "locked out"})
		s.showLogin(w, r, rc, http.StatusTooManyRequests, name, tr(rc.lang, "Too many failed logins: try again in 15 minutes."))
		return
	}
	users, uerr := s.users.get()
	if uerr != nil {
		s.o.Log.Error().Err(uerr).Msg("console: users file unreadable; nobody can log in")
	}
	u, ok := users.Check(name, pw)
	if !ok {
		if s.o.OnLoginFailed != nil {
			s.o.OnLoginFailed()
		}
		detail := "wrong user or password"
		if n := s.limit.fail(name, addr); n > 0 {
			detail += "; locked out"
			if s.o.OnLockout != nil {
				s.o.OnLockout()
			}
		}
		s.audit(r, rc, audit{action: "login", target: name, outcome: "refused", detail: detail})
		s.showLogin(w, r, rc, http.StatusUnauthorized, name, tr(rc.lang, "Wrong user name or password."))
		return
	}
	s.limit.success(name)
	tok, _ := s.sessions.create(u.Name)
	http.SetCookie(w, s.cookie(sessionCookie, tok, 0))
	http.SetCookie(w, s.cookie(loginCookie, "", -1))
	rc.user = u
	s.audit(r, rc, audit{action: "login"})
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, rc *reqCtx) audit {
	s.sessions.end(rc.token)
	http.SetCookie(w, s.cookie(sessionCookie, "", -1))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return audit{}
}

// setLang keeps the chosen language in a cookie (a preference, not a
// state of the gateway: no CSRF token needed) and goes back.
func (s *Server) setLang(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	l := r.PathValue("lang")
	if l != langZH {
		l = langEN
	}
	http.SetCookie(w, s.cookie(langCookie, l, 365*24*time.Hour))
	http.Redirect(w, r, safeNext(r.URL.Query().Get("back")), http.StatusSeeOther)
}
