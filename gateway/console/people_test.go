package console_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/officegate/officegate/provisioning/admin"
)

// sinkDouble is the daemon's sinks as the admin service sees them: one
// webhook "hr" with a backlog, failing, and two dead letters that a replay
// delivers unless failReplay.
type sinkDouble struct {
	mu         sync.Mutex
	replays    []string
	failReplay bool
}

func (s *sinkDouble) SinkStatus(context.Context) ([]admin.SinkStatus, error) {
	return []admin.SinkStatus{{Name: "hr", Streams: []string{"attendance"}, Backlog: 17, Oldest: time.Now().Add(-5 * time.Minute),
		Down: "webhook: 503", Class: "status", DeadLetters: 2, Delivered: 1234, Retries: 56}}, nil
}

func (s *sinkDouble) DeadLetters(context.Context, string) ([]admin.DeadLetter, error) {
	return nil, nil
}

func (s *sinkDouble) Replay(_ context.Context, sink string) (admin.ReplayResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sink != "hr" {
		return admin.ReplayResult{}, fmt.Errorf("%w: %q", admin.ErrNoSink, sink)
	}
	s.replays = append(s.replays, sink)
	if s.failReplay {
		return admin.ReplayResult{Delivered: 1, Failed: []admin.ReplayFailure{{DeadLetter: admin.DeadLetter{Sink: "hr", Stream: "attendance", Seq: 9,
			Type: "attendance.punch"}, Why: "webhook: 422 unprocessable"}}}, nil
	}
	return admin.ReplayResult{Delivered: 2}, nil
}

// upload posts a multipart form with one file.
func (c *client) upload(path, field, name string, content []byte, fields url.Values) (int, string) {
	c.f.t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, vs := range fields {
		for _, v := range vs {
			w.WriteField(k, v)
		}
	}
	if content != nil {
		fw, _ := w.CreateFormFile(field, name)
		fw.Write(content)
	}
	w.Close()
	req, _ := http.NewRequest("POST", c.f.srv.URL+path, &b)
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := c.c.Do(req)
	if err != nil {
		c.f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

const hash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// TestPeoplePage: an admin imports a person CSV (a bad file is refused
// with every bad line named, nothing applied), searches, removes; a viewer
// sees the list without card hashes or platform ids and cannot change it.
func TestPeoplePage(t *testing.T) {
	f := newFixture(t)
	a := f.client("")
	a.login("ada")
	bad := "person,card,name,lang,dingtalk,wecom,feishu,employee\n10001,,Li Wei,xx,,,,\n10002,,Wang Fang,zh-CN,,,,\n10003,nothex,Again,,,,,\n"
	st, body := a.upload("/people/import", "csv", "staff.csv", []byte(bad), url.Values{"csrf": {a.csrf}})
	if st != http.StatusBadRequest || !strings.Contains(body, `id="problems"`) || !strings.Contains(body, "line 2") || !strings.Contains(body, "line 4") {
		t.Fatalf("a bad file: %d\n%s\n%s", st, errLine(body), body)
	}
	if _, body, _ := a.do("GET", "/people", nil); strings.Contains(body, "Wang Fang") {
		t.Fatal("a rejected file applied a line")
	}
	good := "person,card,name,lang,dingtalk,wecom,feishu,employee\n10001," + hash + ",Li Wei,zh-CN,liwei_dt,,,E-1\n10002,,Wang Fang,en,,wf_wecom,,E-2\n"
	st, _ = a.upload("/people/import", "csv", "staff.csv", []byte(good), url.Values{"csrf": {a.csrf}})
	if st != http.StatusSeeOther {
		t.Fatalf("import: %d", st)
	}
	if au := f.lastAudit(); au["action"] != "people.import" || au["outcome"] != "ok" || au["detail"] != "added 2, updated 0, unchanged 0, removed 0" {
		t.Fatalf("audit %v", au)
	}
	_, body, _ = a.do("GET", "/people", nil)
	if !strings.Contains(body, "People imported: 2 added") || !strings.Contains(body, "liwei_dt") || !strings.Contains(body, hash[:12]) {
		t.Fatalf("the admin's list:\n%s", body)
	}
	if _, body, _ := a.do("GET", "/people?q=wang", nil); !strings.Contains(body, `data-person="10002"`) || strings.Contains(body, `data-person="10001"`) {
		t.Fatalf("search: %s", body)
	}

	v := f.client("")
	v.login("vic")
	_, body, _ = v.do("GET", "/people", nil)
	if !strings.Contains(body, "Li Wei") || strings.Contains(body, hash[:12]) || strings.Contains(body, "liwei_dt") || strings.Contains(body, "wf_wecom") {
		t.Fatalf("a viewer sees secrets, or nobody:\n%s", body)
	}
	if st, body, _ := v.do("POST", "/people/remove", url.Values{"csrf": {v.csrf}, "person": {"10001"}}); st != http.StatusForbidden ||
		!strings.Contains(body, "needs admin") {
		t.Fatalf("a viewer's remove: %d", st)
	}
	if st, _ := v.upload("/people/import", "csv", "x.csv", []byte(good), url.Values{"csrf": {v.csrf}}); st != http.StatusForbidden {
		t.Fatalf("a viewer's import: %d", st)
	}

	if st, _, _ := a.do("POST", "/people/remove", url.Values{"csrf": {a.csrf}, "person": {"10001"}}); st != http.StatusSeeOther {
		t.Fatalf("remove: %d", st)
	}
	if _, body, _ := a.do("GET", "/people", nil); strings.Contains(body, `data-person="10001"`) || !strings.Contains(body, "10001 removed from the directory.") {
		t.Fatalf("after remove:\n%s", body)
	}
	for _, e := range []struct {
		form url.Values
		code int
		want string
	}{
		{url.Values{"person": {"10001"}}, 404, "no such person"},
		{url.Values{}, 400, "name the person to remove"},
	} {
		e.form.Set("csrf", a.csrf)
		if st, body, _ := a.do("POST", "/people/remove", e.form); st != e.code || !strings.Contains(body, e.want) {
			t.Errorf("remove %v: %d %s", e.form, st, errLine(body))
		}
	}
	if st, body := a.upload("/people/import", "csv", "", nil, url.Values{"csrf": {a.csrf}}); st != 400 || !strings.Contains(body, "choose a people file") {
		t.Errorf("import without a file: %d %s", st, errLine(body))
	}
	if st, _ := a.upload("/people/import", "csv", "staff.csv", []byte(good), url.Values{}); st != http.StatusForbidden {
		t.Errorf("import without the CSRF token: %d", st)
	}
}

// TestSinksPage: every role sees each sink's backlog, oldest age,
// delivered, retries, dead letters and error class; only an admin replays
// dead letters, and a replay that leaves some says which and why.
func TestSinksPage(t *testing.T) {
	f := newFixture(t)
	v := f.client("")
	v.login("vic")
	_, body, _ := v.do("GET", "/sinks", nil)
	for _, want := range []string{`data-sink="hr"`, `class="backlog">17<`, "5 min ago", `class="wide delivered">1234<`, `class="wide retries">56<`, `class="dead">2<`, ">status<"} {
		if !strings.Contains(body, want) {
			t.Errorf("the sinks page lacks %q", want)
		}
	}
	if strings.Contains(body, "Replay dead letters") {
		t.Error("a viewer is offered the replay")
	}
	if st, _, _ := v.do("POST", "/sinks/replay", url.Values{"csrf": {v.csrf}, "sink": {"hr"}}); st != http.StatusForbidden {
		t.Fatalf("a viewer's replay: %d", st)
	}
	a := f.client("")
	a.login("ada")
	if st, _, _ := a.do("POST", "/sinks/replay", url.Values{"sink": {"hr"}}); st != http.StatusForbidden {
		t.Fatalf("a replay without the CSRF token: %d", st)
	}
	if len(f.sinks.replays) != 0 {
		t.Fatal("a refused replay ran")
	}
	if st, _, _ := a.do("POST", "/sinks/replay", url.Values{"csrf": {a.csrf}, "sink": {"hr"}}); st != http.StatusSeeOther {
		t.Fatalf("replay: %d", st)
	}
	if _, body, _ := a.do("GET", "/sinks", nil); !strings.Contains(body, "Replay of hr: 2 delivered.") {
		t.Fatalf("no replay message:\n%s", errLine(body))
	}
	if au := f.lastAudit(); au["action"] != "sink.replay" || au["target"] != "hr" || au["outcome"] != "ok" {
		t.Fatalf("audit %v", au)
	}
	f.sinks.failReplay = true
	st, body, _ := a.do("POST", "/sinks/replay", url.Values{"csrf": {a.csrf}, "sink": {"hr"}})
	if st != http.StatusConflict || !strings.Contains(body, "1 delivered, 1 still dead letters") || !strings.Contains(body, "webhook: 422 unprocessable") {
		t.Fatalf("a replay leaving dead letters: %d %s", st, errLine(body))
	}
	for _, e := range []struct {
		form url.Values
		code int
		want string
	}{
		{url.Values{"sink": {"nope"}}, 404, `no such sink: "nope"`},
		{url.Values{}, 400, "name the sink"},
	} {
		e.form.Set("csrf", a.csrf)
		if st, body, _ := a.do("POST", "/sinks/replay", e.form); st != e.code || !strings.Contains(body, e.want) {
			t.Errorf("replay %v: %d %s", e.form, st, errLine(body))
		}
	}
}
