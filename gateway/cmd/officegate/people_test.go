package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/provisioning/admin"
	"github.com/officegate/officegate/provisioning/people"
)

// officegate people import|list|show|remove|forget against a served
// admin service with a real directory.
func TestPeopleCLI(t *testing.T) {
	dir, err := people.Open(t.TempDir(), people.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sock, _ := adminDaemonWith(t, func(d *admin.Deps) {
		d.People = dir
		d.Forget = func(context.Context, []string) ([]admin.Erased, []string, error) {
			return []admin.Erased{{Where: "kiosk lobby invites", Count: 1}}, []string{`journal stream "attendance": until 90 days after each was written`}, nil
		}
	})
	tmp := t.TempDir()
	bad := filepath.Join(tmp, "bad.csv")
	os.WriteFile(bad, []byte(people.Header+"\n1001,,Wang,zh-CN,wang,,,\n1002,12345,Li,en,,,,\n,,x,,,,,\n"), 0o600)
	_, errs, code := cli(t, "people", "import", bad, "--socket", sock)
	if code != 1 || !strings.Contains(errs, bad+":3: card: ") || !strings.Contains(errs, bad+":4: person: ") ||
		!strings.Contains(errs, "nothing applied") || strings.Contains(errs, "12345") {
		t.Fatalf("bad file: exit %d\n%s", code, errs)
	}
	good := filepath.Join(tmp, "good.csv")
	os.WriteFile(good, []byte(people.Header+"\n1001,,Wang,zh-CN,wang,,,\n1002,,Li,en,,li,,E2\n"), 0o600)
	out, errs, code := cli(t, "people", "import", good, "--socket", sock)
	if code != 0 || !strings.Contains(out, "2 added, 0 updated") {
		t.Fatalf("good file: exit %d\n%s%s", code, out, errs)
	}
	out, _, code = cli(t, "people", "list", "--socket", sock)
	if code != 0 || !strings.Contains(out, "DINGTALK") || !strings.Contains(out, "wang") || !strings.Contains(out, "2 people") {
		t.Fatalf("list: exit %d\n%s", code, out)
	}
	out, _, code = cli(t, "people", "show", "1002", "--json", "--socket", sock)
	var p admin.Person
	if err := json.Unmarshal([]byte(out), &p); code != 0 || err != nil || p.WeCom != "li" || p.Employee != "E2" {
		t.Fatalf("show: exit %d %v\n%s", code, err, out)
	}
	if _, errs, code := cli(t, "people", "show", "nobody", "--socket", sock); code != 1 || !strings.Contains(errs, "no such person") {
		t.Fatalf("show unknown: exit %d\n%s", code, errs)
	}
	if out, _, code := cli(t, "people", "remove", "1002", "--socket", sock); code != 0 || !strings.Contains(out, "removed 1002") {
		t.Fatalf("remove: exit %d\n%s", code, out)
	}
	out, _, code = cli(t, "people", "forget", "1001", "--socket", sock)
	if code != 0 || !strings.Contains(out, "erased from directory: 1") || !strings.Contains(out, "erased from kiosk lobby invites: 1") ||
		!strings.Contains(out, "until its retention passes") || !strings.Contains(out, "90 days") {
		t.Fatalf("forget: exit %d\n%s", code, out)
	}
	if dir.Len() != 0 {
		t.Fatalf("%d people left", dir.Len())
	}
}

// unmapped refuses every event as unmapped.
type unmapped struct{}

func (unmapped) Deliver(_ context.Context, ev sinks.Event) error {
	return sinks.Unmapped("E-77", "dingtalk")
}

// officegate people held lists what a sink holds, from the state
// directory, without the daemon.
func TestPeopleHeldCLI(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "gw.toml")
	os.WriteFile(conf, []byte("[gateway]\nid = \"gw-1\"\n\n[mqtt]\nurl = \"tcp://127.0.0.1:1\"\n\n[journal]\ndir = \""+filepath.Join(dir, "journal")+
		"\"\n\n[[sinks]]\nname = \"ding\"\nkind = \"file\"\nstreams = [\"attendance\"]\n[sinks.settings]\npath = \"x\"\n"), 0o600)
	j, err := journal.Open(filepath.Join(dir, "journal"), &journal.Options{
		Streams: []journal.Stream{{Name: "attendance", Priority: journal.PriorityRecord}}, Consumers: []journal.Consumer{{Name: "ding", Streams: []string{"attendance"}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	data, _ := envelope.EncodeData(map[string]any{"person": "E-77"})
	o := envelope.Outbound{Event: &envelope.Event{V: envelope.Version, ID: "ev-1", Type: "attendance.punch", Gateway: "gw-1", Device: "term-1",
		Clock: envelope.ClockSynced, Data: data}}
	body, _ := o.Encode()
	if _, err := j.Append(context.Background(), "attendance", body); err != nil {
		t.Fatal(err)
	}
	r, err := sinks.New(j, unmapped{}, sinks.Options{Name: "ding", Streams: []string{"attendance"}, HeldDir: filepath.Join(dir, "held")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	for deadline := time.Now().Add(10 * time.Second); len(r.Held()) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the record was not held")
		}
	}
	cancel()
	<-done

	out, errs, code := cli(t, "people", "held", "--config", conf)
	if code != 0 || !strings.Contains(out, "E-77") || !strings.Contains(out, "dingtalk") || !strings.Contains(out, "ev-1") || !strings.Contains(out, "1 held record") {
		t.Fatalf("held: exit %d\n%s%s", code, out, errs)
	}
	if out, _, code := cli(t, "sinks", "held", "ding", "--config", conf); code != 0 || !strings.Contains(out, "E-77") {
		t.Fatalf("sinks held ding: exit %d\n%s", code, out)
	}
	if _, errs, code := cli(t, "people", "held", "nope", "--config", conf); code != 1 || !strings.Contains(errs, `no sink "nope"`) {
		t.Fatalf("unknown sink: exit %d\n%s", code, errs)
	}
}
