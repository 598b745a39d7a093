package console

import (
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestEveryStringTranslated: every literal the pages translate ({{t "…"}},
// tf, (t "…")) and every message the code translates (tr, trf) has its
// Chinese; so does every value shown through t (roles, states, phases).
func TestEveryStringTranslated(t *testing.T) {
	var keys []string
	tmpl := regexp.MustCompile(`[({]t "([^"]+)"|tf "([^"]+)"`)
	err := fs.WalkDir(assets, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(assets, p)
		for _, m := range tmpl.FindAllStringSubmatch(string(b), -1) {
			keys = append(keys, m[1]+m[2])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	code := regexp.MustCompile(`trf?\((?:rc\.lang|lang|v\.Lang), "([^"]+)"`)
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, _ := os.ReadFile(f)
		for _, m := range code.FindAllStringSubmatch(string(b), -1) {
			keys = append(keys, m[1])
		}
	}
	if len(keys) < 100 {
		t.Fatalf("found only %d strings: the patterns are wrong", len(keys))
	}
	keys = append(keys, states()...)
	keys = append(keys, "viewer", "operator", "admin", "ok", "error", "expired", "busy", "waiting", "transferring",
		"testing", "confirmed", "rolled_back", "failed", "running", "done", "halted", "available", "occupied", "vacant")
	for _, k := range keys {
		if _, ok := zh()[k]; !ok {
			t.Errorf("no Chinese for %q", k)
		}
	}
}

func TestPickLang(t *testing.T) {
	for h, want := range map[string]string{"": langEN, "zh-CN,zh;q=0.9,en;q=0.8": langZH, "en-GB,en;q=0.9": langEN,
		"zh-TW": langZH, "de-DE,de;q=0.9,zh;q=0.5": langZH, "fr": langEN} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Language", h)
		if got := pickLang(r); got != want {
			t.Errorf("Accept-Language %q: %s, want %s", h, got, want)
		}
	}
}
