package admin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/officegate/officegate/provisioning/people"
)

// ErrNoPeople is the error of a people operation on a gateway without a
// person directory.
var ErrNoPeople = errors.New("admin: no person directory")

// Person is a directory record on the socket (doc.go, "People").
type Person struct {
	ID       string    `json:"person"`
	CardHash string    `json:"card_hash,omitempty"`
	Name     string    `json:"name,omitempty"`
	Lang     string    `json:"lang,omitempty"`
	DingTalk string    `json:"dingtalk,omitempty"`
	WeCom    string    `json:"wecom,omitempty"`
	Feishu   string    `json:"feishu,omitempty"`
	Employee string    `json:"employee,omitempty"`
	Updated  time.Time `json:"updated,omitzero"`
}

func personOf(p people.Person) Person { return Person(p) }

// PeopleImportResult is PeopleImport's answer.
type PeopleImportResult struct {
	Added     int       `json:"added"`
	Updated   int       `json:"updated"`
	Unchanged int       `json:"unchanged"`
	Removed   int       `json:"removed"`
	Problems  []Problem `json:"problems,omitempty"` // non-empty: nothing was applied
}

// Erased is what forgetting a person removed from one place.
type Erased struct {
	Where string `json:"where"` // "directory", "kiosk <device> invites", …
	Count int    `json:"count"`
}

// ForgetReport is PeopleForget's answer: what was erased, and what remains
// on the box until its retention passes.
type ForgetReport struct {
	Person  string   `json:"person"`
	Erased  []Erased `json:"erased"`
	Remains []string `json:"remains"`
}

// Forgetter erases a person from the places besides the directory (the
// kiosks' invite caches: invites and visits naming them as host) and says
// what remains (the journal until its retention passes). The daemon
// implements it; keys are the person's id and, if the directory had one,
// their name.
type Forgetter func(ctx context.Context, keys []string) (erased []Erased, remains []string, err error)

func (s *Service) directory() (*people.Directory, error) {
	if s.people == nil {
		return nil, ErrNoPeople
	}
	return s.people, nil
}

// PeopleImport applies a person CSV (provisioning/people, "Import"); a
// rejected file applies nothing and its problems are the answer, with an
// error wrapping people.ErrRejected.
func (s *Service) PeopleImport(csv []byte, replace bool) (PeopleImportResult, error) {
	d, err := s.directory()
	if err != nil {
		return PeopleImportResult{}, err
	}
	res, probs, err := d.Import(bytes.NewReader(csv), people.ImportOptions{Replace: replace})
	out := PeopleImportResult{Added: res.Added, Updated: res.Updated, Unchanged: res.Unchanged, Removed: res.Removed}
	for _, p := range probs {
		out.Problems = append(out.Problems, Problem{Line: p.Line, Field: p.Field, Reason: p.Reason})
	}
	if err == nil {
		s.log.Info().Int("added", res.Added).Int("updated", res.Updated).Int("removed", res.Removed).Msg("admin: people imported")
	}
	return out, err
}

// People lists the directory, sorted by person id.
func (s *Service) People() ([]Person, error) {
	d, err := s.directory()
	if err != nil {
		return nil, err
	}
	out := []Person{}
	for _, p := range d.List() {
		out = append(out, personOf(p))
	}
	return out, nil
}

// PersonShow finds a person by id or card hash.
func (s *Service) PersonShow(key string) (Person, error) {
	d, err := s.directory()
	if err != nil {
		return Person{}, err
	}
	p, ok := d.Lookup(key)
	if !ok {
		return Person{}, fmt.Errorf("%w: %q", people.ErrNotFound, key)
	}
	return personOf(p), nil
}

// PersonRemove deletes a person's mapping (their punches are held again
// for the platform sinks until they are imported back).
func (s *Service) PersonRemove(id string) (Person, error) {
	d, err := s.directory()
	if err != nil {
		return Person{}, err
	}
	p, err := d.Remove(id)
	if err != nil {
		return Person{}, err
	}
	s.log.Info().Str("person", id).Msg("admin: person removed from the directory")
	return personOf(p), nil
}

// PeopleForget erases a person: from the directory (if there) and, through
// the daemon's Forgetter, from the kiosks' invite caches; the report says
// what remains in the journal until its retention passes. A person in
// neither place is not an error: forgetting is idempotent.
func (s *Service) PeopleForget(ctx context.Context, id string) (ForgetReport, error) {
	d, err := s.directory()
	if err != nil {
		return ForgetReport{}, err
	}
	if err := people.CheckID(id); err != nil {
		return ForgetReport{}, err
	}
	rep := ForgetReport{Person: id, Erased: []Erased{}, Remains: []string{}}
	keys := []string{id}
	p, err := d.Remove(id)
	switch {
	case err == nil:
		rep.Erased = append(rep.Erased, Erased{Where: "directory", Count: 1})
		if p.Name != "" {
			keys = append(keys, p.Name)
		}
	case errors.Is(err, people.ErrNotFound):
		rep.Erased = append(rep.Erased, Erased{Where: "directory", Count: 0})
	default:
		return ForgetReport{}, err
	}
	if s.forget != nil {
		erased, remains, err := s.forget(ctx, keys)
		rep.Erased = append(rep.Erased, erased...)
		rep.Remains = append(rep.Remains, remains...)
		if err != nil {
			return rep, fmt.Errorf("admin: forgetting %q: removed from the directory, but: %w", id, err)
		}
	}
	s.log.Info().Str("person", id).Msg("admin: person forgotten")
	return rep, nil
}

// peopleRoutes adds the people API to the socket (doc.go, "People").
func (s *Service) peopleRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/people", func(w http.ResponseWriter, r *http.Request) {
		ps, err := s.People()
		reply(w, ps, err)
	})
	mux.HandleFunc("GET /v1/people/{key}", func(w http.ResponseWriter, r *http.Request) {
		p, err := s.PersonShow(r.PathValue("key"))
		reply(w, p, err)
	})
	mux.HandleFunc("DELETE /v1/people/{id}", func(w http.ResponseWriter, r *http.Request) {
		p, err := s.PersonRemove(r.PathValue("id"))
		reply(w, p, err)
	})
	mux.HandleFunc("POST /v1/people/{id}/forget", func(w http.ResponseWriter, r *http.Request) {
		if !decode(w, r, &struct{}{}) {
			return
		}
		rep, err := s.PeopleForget(r.Context(), r.PathValue("id"))
		reply(w, rep, err)
	})
	mux.HandleFunc("POST /v1/people/import", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			reply(w, nil, fmt.Errorf("%w: reading the file: %v", people.ErrInvalid, err))
			return
		}
		res, err := s.PeopleImport(body, r.URL.Query().Get("replace") == "true")
		if err != nil && len(res.Problems) > 0 {
			writeJSON(w, http.StatusBadRequest, importError{errorBody: errorBody{Error: err.Error(), Code: codeOf(err)}, Problems: res.Problems})
			return
		}
		reply(w, res, err)
	})
}

// PeopleImport sends a person CSV; replace makes it the whole directory. A
// rejected file is an *Error (matching people.ErrRejected) with every problem.
func (c *Client) PeopleImport(ctx context.Context, csv []byte, replace bool) (PeopleImportResult, error) {
	var out PeopleImportResult
	path := "/v1/people/import"
	if replace {
		path += "?replace=true"
	}
	return out, c.do(ctx, http.MethodPost, path, rawBody{typ: "text/csv", b: csv}, &out)
}

// People lists the directory.
func (c *Client) People(ctx context.Context) ([]Person, error) {
	var out []Person
	return out, c.do(ctx, http.MethodGet, "/v1/people", nil, &out)
}

// PersonShow finds a person by id or card hash.
func (c *Client) PersonShow(ctx context.Context, key string) (Person, error) {
	var out Person
	return out, c.do(ctx, http.MethodGet, "/v1/people/"+url.PathEscape(key), nil, &out)
}

// PersonRemove deletes a person's mapping.
func (c *Client) PersonRemove(ctx context.Context, id string) (Person, error) {
	var out Person
	return out, c.do(ctx, http.MethodDelete, "/v1/people/"+url.PathEscape(id), nil, &out)
}

// PeopleForget erases a person.
func (c *Client) PeopleForget(ctx context.Context, id string) (ForgetReport, error) {
	var out ForgetReport
	return out, c.do(ctx, http.MethodPost, "/v1/people/"+url.PathEscape(id)+"/forget", struct{}{}, &out)
}
