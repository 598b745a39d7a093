package people_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/provisioning/people"
)

var (
	cardKey = []byte("0123456789abcdef0123456789abcdef")
	now     = time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
)

func open(t *testing.T, dir string) *people.Directory {
	t.Helper()
	d, err := people.Open(dir, people.Options{Now: func() time.Time { return now }, CardKey: cardKey})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

const good = people.Header + "\n" +
	"1001,,王小明,zh,manager4585,wangxm,ou_1,E1001\n" +
	"1002,12345678,Alice Smith,en,,alice,,E1002\n"

func TestImportLookupReopen(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir)
	ch, stop := d.Watch()
	defer stop()
	res, probs, err := d.Import(strings.NewReader("\ufeff"+good), people.ImportOptions{})
	if err != nil {
		t.Fatal(err, probs)
	}
	if res != (people.ImportResult{Added: 2}) {
		t.Fatalf("result %+v", res)
	}
	select {
	case <-ch:
	default:
		t.Fatal("no change signalled")
	}
	p, ok := d.Lookup("1001")
	if !ok || p.Name != "王小明" || p.Lang != people.LangChinese || p.UserID(people.DingTalk) != "manager4585" ||
		p.UserID(people.WeCom) != "wangxm" || p.UserID(people.Feishu) != "ou_1" || p.UserID(people.Employee) != "E1001" {
		t.Fatalf("1001: %+v %v", p, ok)
	}
	hash := devices.KeyedHash(cardKey, "12345678")
	p, ok = d.Lookup(hash)
	if !ok || p.ID != "1002" || p.UserID(people.DingTalk) != "" {
		t.Fatalf("by card hash: %+v %v", p, ok)
	}
	if _, ok := d.Lookup("12345678"); ok {
		t.Fatal("a clear card number found a person")
	}
	raw, err := os.ReadFile(filepath.Join(dir, people.File))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("12345678")) {
		t.Fatalf("the clear card number is in the file:\n%s", raw)
	}
	// Durable: a fresh Open reads the same directory.
	d2 := open(t, dir)
	if got := d2.List(); len(got) != 2 || got[1].CardHash != hash || !got[0].Updated.Equal(now) {
		t.Fatalf("reopened: %+v", got)
	}
	// The same file again changes nothing and signals nothing.
	res, _, err = d.Import(strings.NewReader(good), people.ImportOptions{})
	if err != nil || res != (people.ImportResult{Unchanged: 2}) {
		t.Fatalf("again: %+v %v", res, err)
	}
	select {
	case <-ch:
		t.Fatal("an import that changed nothing signalled a change")
	default:
	}
	// Replace: the file is the whole directory.
	res, _, err = d.Import(strings.NewReader(people.Header+"\n1002,,Alice Smith,en,alice.s,alice,,E1002\n"), people.ImportOptions{Replace: true})
	if err != nil || res != (people.ImportResult{Updated: 1, Removed: 1}) {
		t.Fatalf("replace: %+v %v", res, err)
	}
	if _, ok := d.Lookup("1001"); ok {
		t.Fatal("replace kept a person the file does not name")
	}
	if p, _ := d.Lookup("1002"); p.DingTalk != "alice.s" || p.CardHash != "" {
		t.Fatalf("replaced record: %+v", p)
	}
	if _, err := d.Remove("1002"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Remove("1002"); !errors.Is(err, people.ErrNotFound) {
		t.Fatalf("second remove: %v", err)
	}
	if open(t, dir).Len() != 0 {
		t.Fatal("remove not durable")
	}
}

func TestImportRejectsEveryBadLine(t *testing.T) {
	d := open(t, t.TempDir())
	if _, _, err := d.Import(strings.NewReader(good), people.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	before := d.List()
	bad := people.Header + "\n" +
		"2001,,Ok Person,en,ok1,,,\n" + // line 2: fine on its own
		",,No Id,en,,,,\n" + // 3: person empty
		"2003,9999x,Bad Card,en,,,,\n" + // 4: card neither
		"2004,,Bad Lang,fr,,,,\n" + // 5: lang
		"2005,,Bad Id,en,has space,,,\n" + // 6: dingtalk id
		"2006,,Dup,en,manager4585,,,\n" + // 7: dingtalk id of 1001
		"2001,,Again,en,,,,\n" + // 8: duplicate person
		"2008,,Short\n" // 9: field count
	_, probs, err := d.Import(strings.NewReader(bad), people.ImportOptions{})
	if !errors.Is(err, people.ErrRejected) {
		t.Fatalf("err %v", err)
	}
	want := map[int]string{3: "person", 4: "card", 5: "lang", 6: "dingtalk", 8: "person", 9: ""}
	got := map[int]string{}
	for _, p := range probs {
		got[p.Line] = p.Field
		if strings.Contains(p.Reason, "9999x") {
			t.Errorf("a problem quotes the card: %s", p)
		}
	}
	for l, f := range want {
		if g, ok := got[l]; !ok || g != f {
			t.Errorf("line %d: want a problem in %q, got %v", l, f, probs)
		}
	}
	if len(d.List()) != len(before) {
		t.Fatal("a rejected import applied something")
	}
	// Line 7 alone: the conflict with the directory is found too.
	_, probs, err = d.Import(strings.NewReader(people.Header+"\n2006,,Dup,en,manager4585,,,\n"), people.ImportOptions{})
	if !errors.Is(err, people.ErrRejected) || len(probs) != 1 || probs[0].Line != 2 || probs[0].Field != "dingtalk" {
		t.Fatalf("conflict with the directory: %v %v", probs, err)
	}
	// A card number without a card key is refused, not stored.
	d2, err := people.Open(t.TempDir(), people.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, probs, err = d2.Import(strings.NewReader(people.Header+"\n1,123,,,,,,\n"), people.ImportOptions{})
	if !errors.Is(err, people.ErrRejected) || len(probs) != 1 || probs[0].Field != "card" {
		t.Fatalf("card without key: %v %v", probs, err)
	}
	_, probs, _ = d2.Import(strings.NewReader("person,name\n"), people.ImportOptions{})
	if len(probs) != 1 || probs[0].Line != 1 {
		t.Fatalf("bad header: %v", probs)
	}
}

func TestDamagedFileRefused(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir)
	if _, _, err := d.Import(strings.NewReader(good), people.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, people.File)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	damage := map[string]func([]byte) []byte{
		"empty":     func([]byte) []byte { return nil },
		"zeroed":    func(b []byte) []byte { return make([]byte, len(b)) },
		"truncated": func(b []byte) []byte { return b[:len(b)-10] },
		"bit flip": func(b []byte) []byte {
			c := bytes.Clone(b)
			c[len(c)-20] ^= 1
			return c
		},
		"foreign": func(b []byte) []byte { return []byte("hello\n") },
	}
	for name, f := range damage {
		t.Run(name, func(t *testing.T) {
			bad := f(orig)
			if err := os.WriteFile(path, bad, 0o640); err != nil {
				t.Fatal(err)
			}
			_, err := people.Open(dir, people.Options{})
			if !errors.Is(err, people.ErrCorrupt) || !strings.Contains(err.Error(), path) {
				t.Fatalf("open: %v", err)
			}
			if now, _ := os.ReadFile(path); !bytes.Equal(now, bad) {
				t.Fatal("the damaged file was changed")
			}
		})
	}
}
