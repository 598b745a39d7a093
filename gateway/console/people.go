package console

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/officegate/officegate/provisioning/admin"
	"github.com/officegate/officegate/provisioning/people"
)

// The person directory and the sinks, through the admin service's
// operations — the ones officegate people … and officegate sinks … call.

type peopleData struct {
	Unavailable bool // no person directory on this gateway
	Q           string
	Rows        []admin.Person
	Total       int
	Problems    []admin.Problem
}

// peopleData lists the directory, filtered by q. A viewer's rows carry no
// card hash nor platform ids: those are for an admin's eyes only.
func (s *Server) peopleData(rc *reqCtx, q string) peopleData {
	d := peopleData{Q: strings.TrimSpace(q)}
	ps, err := s.o.Admin.People()
	if err != nil {
		d.Unavailable = true
		return d
	}
	d.Total = len(ps)
	lq := strings.ToLower(d.Q)
	for _, p := range ps {
		if lq != "" && !strings.Contains(strings.ToLower(p.ID+" "+p.Name+" "+p.Employee), lq) {
			continue
		}
		if rc.user.Role < Admin {
			p.CardHash, p.DingTalk, p.WeCom, p.Feishu = "", "", "", ""
		}
		d.Rows = append(d.Rows, p)
	}
	return d
}

func (s *Server) people(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.render(w, r, rc, http.StatusOK, "people", s.peopleData(rc, r.URL.Query().Get("q")), "")
}

// maxPeople bounds an uploaded person CSV: a big office's staff of a few
// thousand, a few hundred bytes each.
const maxPeople = 4 << 20

func (s *Server) importPeople(w http.ResponseWriter, r *http.Request, rc *reqCtx) audit {
	csv, name, err := formFile(r, "csv", maxPeople)
	if err != nil {
		if !errors.Is(err, errInput) {
			err = fmt.Errorf("%w: %s", errInput, tr(rc.lang, "choose a people file (CSV) to import"))
		}
		s.fail(w, r, rc, err, "people")
		return audit{outcome: "failed", detail: err.Error()}
	}
	replace := r.PostFormValue("replace") == "true"
	a := audit{target: name}
	if replace {
		a.target += " (replace)"
	}
	res, err := s.o.Admin.PeopleImport(csv, replace)
	if err != nil {
		a.outcome, a.detail = "failed", err.Error()
		s.fail(w, r, rc, &problemsError{err, res.Problems}, "people")
		return a
	}
	a.detail = fmt.Sprintf("added %d, updated %d, unchanged %d, removed %d", res.Added, res.Updated, res.Unchanged, res.Removed)
	s.done(w, r, rc, "/people", trf(rc.lang, "People imported: %d added, %d updated, %d unchanged, %d removed.",
		res.Added, res.Updated, res.Unchanged, res.Removed))
	return a
}

func (s *Server) removePerson(w http.ResponseWriter, r *http.Request, rc *reqCtx) audit {
	id := strings.TrimSpace(r.PostFormValue("person"))
	a := audit{target: id}
	if id == "" {
		a.outcome, a.detail = "failed", "no person"
		s.fail(w, r, rc, fmt.Errorf("%w: %s", errInput, tr(rc.lang, "name the person to remove")), "people")
		return a
	}
	if _, err := s.o.Admin.PersonRemove(id); err != nil {
		a.outcome, a.detail = "failed", err.Error()
		s.fail(w, r, rc, err, "people")
		return a
	}
	s.done(w, r, rc, "/people", trf(rc.lang, "%s removed from the directory.", id))
	return a
}

type sinksData struct {
	Sinks  []admin.SinkStatus
	Replay []admin.ReplayFailure // dead letters a replay did not deliver
}

func (s *Server) sinksData(r *http.Request) sinksData {
	st, err := s.o.Admin.SinkStatus(r.Context())
	if err != nil {
		s.o.Log.Error().Err(err).Msg("console: sink status")
	}
	return sinksData{Sinks: st}
}

func (s *Server) sinks(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.render(w, r, rc, http.StatusOK, "sinks", s.sinksData(r), "")
}

func (s *Server) replay(w http.ResponseWriter, r *http.Request, rc *reqCtx) audit {
	name := strings.TrimSpace(r.PostFormValue("sink"))
	a := audit{target: name}
	if name == "" {
		a.outcome, a.detail = "failed", "no sink"
		s.fail(w, r, rc, fmt.Errorf("%w: %s", errInput, tr(rc.lang, "name the sink whose dead letters to replay")), "sinks")
		return a
	}
	res, err := s.o.Admin.SinkReplay(r.Context(), name)
	if err == nil && len(res.Failed) > 0 {
		a.outcome, a.detail = "failed", fmt.Sprintf("delivered %d, still dead %d", res.Delivered, len(res.Failed))
		d := s.sinksData(r)
		d.Replay = res.Failed
		s.render(w, r, rc, http.StatusConflict, "sinks", d,
			trf(rc.lang, "Replay of %s: %d delivered, %d still dead letters.", name, res.Delivered, len(res.Failed)))
		return a
	}
	if err != nil {
		a.outcome, a.detail = "failed", err.Error()
		s.fail(w, r, rc, err, "sinks")
		return a
	}
	a.detail = fmt.Sprintf("delivered %d", res.Delivered)
	s.done(w, r, rc, "/sinks", trf(rc.lang, "Replay of %s: %d delivered.", name, res.Delivered))
	return a
}

// peopleErr says whether err is the directory's: a bad input or a person
// not found.
func peopleStatus(err error) (int, bool) {
	switch {
	case errors.Is(err, people.ErrNotFound), errors.Is(err, admin.ErrNoSink), errors.Is(err, admin.ErrNoPeople):
		return http.StatusNotFound, true
	case errors.Is(err, people.ErrInvalid), errors.Is(err, people.ErrRejected):
		return http.StatusBadRequest, true
	}
	return 0, false
}
