package console

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"
)

// The pages, each a file of templates/ defining "title", "content" and,
// for the parts that refresh themselves, "live".
var pageNames = []string{"login", "error", "overview", "devices", "device", "enrollment", "firmware", "reception", "rooms", "events", "people", "sinks"}

// parsePages parses every page once per language, with that language's
// translation bound into its functions.
func parsePages() (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	for _, lang := range langs {
		for _, p := range pageNames {
			t, err := template.New("layout.html").Funcs(funcs(lang)).ParseFS(assets, "templates/layout.html", "templates/"+p+".html")
			if err != nil {
				return nil, fmt.Errorf("console: page %s: %w", p, err)
			}
			out[lang+"/"+p] = t
		}
	}
	return out, nil
}

func funcs(lang string) template.FuncMap {
	return template.FuncMap{
		"t": func(s string) string { return tr(lang, s) },
		// tf translates a format and fills it in.
		"tf":     func(f string, a ...any) string { return fmt.Sprintf(tr(lang, f), a...) },
		"upper":  strings.ToUpper,
		"states": states,
		"join":   strings.Join,
		"add":    func(a, b int) int { return a + b },
		// short is a long hash's first 12 digits, enough to tell it apart.
		"short": func(h string) string {
			if len(h) > 12 {
				return h[:12] + "…"
			}
			return h
		},
		"pct": func(a, b int64) int64 {
			if b <= 0 {
				return 0
			}
			return a * 100 / b
		},
	}
}

// view is what every page is given.
type view struct {
	Lang    string
	Page    string
	User    string
	Role    string
	CanOp   bool // operator or admin
	CanAdm  bool // admin
	CSRF    string
	Flash   string
	Error   string
	Gateway string
	Now     time.Time // the gateway's clock, in its zone
	Zone    string
	loc     *time.Location
	Data    any
}

// Time formats t in the gateway's zone; "—" for none.
func (v *view) Time(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	t = t.In(v.loc)
	if t.Format(time.DateOnly) == v.Now.Format(time.DateOnly) {
		return t.Format("15:04:05")
	}
	return t.Format("2006-01-02 15:04")
}

// Stamp is t as a badge prints it: date and minute, in the gateway's zone.
func (v *view) Stamp(t time.Time) string { return t.In(v.loc).Format("2006-01-02 15:04") }

// Ago says how long before now t was, shortly.
func (v *view) Ago(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	d := v.Now.Sub(t).Round(time.Second)
	switch {
	case d < 0:
		return tr(v.Lang, "just now")
	case d < time.Minute:
		return fmt.Sprintf(tr(v.Lang, "%d s ago"), int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf(tr(v.Lang, "%d min ago"), int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf(tr(v.Lang, "%d h ago"), int(d.Hours()))
	}
	return fmt.Sprintf(tr(v.Lang, "%d days ago"), int(d.Hours()/24))
}

// RFC3339 is t for the page's scripts (countdowns).
func (v *view) RFC3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func (s *Server) newView(rc *reqCtx, page string, data any) *view {
	now := s.o.Now().In(s.o.Location)
	v := &view{Lang: rc.lang, Page: page, Gateway: s.o.Gateway, Now: now, Zone: now.Format("MST -07:00"), loc: s.o.Location, Data: data}
	if rc.sess != nil {
		v.User, v.Role = rc.user.Name, rc.user.Role.String()
		v.CanOp, v.CanAdm = rc.user.Role >= Operator, rc.user.Role >= Admin
		v.CSRF = rc.sess.csrf
		v.Flash = s.sessions.takeFlash(rc.sess)
	}
	return v
}

// render writes page with data; a request for the page's live part
// (X-Partial) gets only that.
func (s *Server) render(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, page string, data any, errText string) {
	v := s.newView(rc, page, data)
	v.Error = errText
	name := "layout.html"
	if r.Header.Get("X-Partial") != "" {
		name = "live"
	}
	var b bytes.Buffer
	if err := s.pages[rc.lang+"/"+page].ExecuteTemplate(&b, name, v); err != nil {
		s.o.Log.Error().Err(err).Str("page", page).Msg("console: page failed")
		http.Error(w, "console: this page failed; the gateway's log says why", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}
