package admin_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/officegate/officegate/provisioning"
	"github.com/officegate/officegate/provisioning/admin"
	"github.com/officegate/officegate/provisioning/admin/admintest"
	"github.com/officegate/officegate/provisioning/people"
)

// The people API over the real socket: an import checked line by line
// (a bad file applies nothing and answers every problem), list, show by id
// or card hash, remove, and forget, which erases through the daemon's
// Forgetter with the person's id and name and reports what remains.
func TestPeopleOverSocket(t *testing.T) {
	reg, err := provisioning.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir, err := people.Open(t.TempDir(), people.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var forgot [][]string
	svc, err := admin.New(admin.Deps{Registry: reg, Links: &admintest.Links{}, People: dir,
		Forget: func(_ context.Context, keys []string) ([]admin.Erased, []string, error) {
			forgot = append(forgot, keys)
			return []admin.Erased{{Where: "kiosk lobby invites", Count: 2}}, []string{"attendance punches: 90 days"}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	c := admin.NewClient(serve(t, svc))
	ctx := context.Background()

	hash := strings.Repeat("ab", 32)
	_, err = c.PeopleImport(ctx, []byte(people.Header+"\n1001,,Wang,zh-CN,wang,,,\n1002,nope,Li,xx,,,,\n"), false)
	var ae *admin.Error
	if !errors.As(err, &ae) || !errors.Is(err, people.ErrRejected) || len(ae.Problems) != 2 || ae.Problems[0].Line != 3 {
		t.Fatalf("bad import: %v %+v", err, ae)
	}
	if ps, _ := c.People(ctx); len(ps) != 0 {
		t.Fatalf("a rejected import applied %v", ps)
	}
	res, err := c.PeopleImport(ctx, []byte(people.Header+"\n1001,,Wang,zh-CN,wang,,,\n1002,"+hash+",Li,en,,li,,\n"), false)
	if err != nil || res.Added != 2 {
		t.Fatalf("import: %+v %v", res, err)
	}
	ps, err := c.People(ctx)
	if err != nil || len(ps) != 2 || ps[0].ID != "1001" || ps[0].DingTalk != "wang" {
		t.Fatalf("list: %+v %v", ps, err)
	}
	if p, err := c.PersonShow(ctx, hash); err != nil || p.ID != "1002" || p.WeCom != "li" {
		t.Fatalf("show by card hash: %+v %v", p, err)
	}
	if _, err := c.PersonShow(ctx, "9999"); !errors.Is(err, people.ErrNotFound) {
		t.Fatalf("show unknown: %v", err)
	}
	if _, err := c.PersonRemove(ctx, "1002"); err != nil {
		t.Fatal(err)
	}
	rep, err := c.PeopleForget(ctx, "1001")
	if err != nil {
		t.Fatal(err)
	}
	if len(forgot) != 1 || !slices.Equal(forgot[0], []string{"1001", "Wang"}) {
		t.Fatalf("forgetter called with %v, want the id and the name", forgot)
	}
	if len(rep.Erased) != 2 || rep.Erased[0] != (admin.Erased{Where: "directory", Count: 1}) || len(rep.Remains) != 1 {
		t.Fatalf("report %+v", rep)
	}
	if _, ok := dir.Lookup("1001"); ok {
		t.Fatal("forgotten person still in the directory")
	}
	// Again: nothing left in the directory, still erased elsewhere.
	rep, err = c.PeopleForget(ctx, "1001")
	if err != nil || rep.Erased[0].Count != 0 || len(forgot) != 2 {
		t.Fatalf("second forget: %+v %v", rep, err)
	}
}
