package people

import (
	"bytes"
	"reflect"
	"testing"
	"time"
)

// FuzzDecode: the directory file's decoder (doc.go, "The file") refuses or
// accepts any bytes without panicking, and what it accepts encodes back to
// a file that decodes to the same people.
func FuzzDecode(f *testing.F) {
	at := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	f.Add(encode(map[string]Person{}))
	f.Add(encode(map[string]Person{
		"0042": {ID: "0042", Name: "张伟", Lang: LangChinese, DingTalk: "zhangwei", WeCom: "ZhangWei", Updated: at},
		"0043": {ID: "0043", CardHash: "sha256:" + string(bytes.Repeat([]byte("ab"), 16)), Employee: "E-7", Updated: at},
	}))
	f.Add([]byte("officegate-people 1 2 00\n{}"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := decode(data)
		if err != nil {
			return
		}
		again, err := decode(encode(ps))
		if err != nil {
			t.Fatalf("accepted %q, but its re-encoding is refused: %v", data, err)
		}
		if !reflect.DeepEqual(ps, again) {
			t.Fatalf("round trip changed the people: %v → %v", ps, again)
		}
	})
}

// FuzzParseImport: an import file of any bytes is read line by line into
// people or problems (csv.go), never a panic, and every person it accepts
// passes the directory's own checks.
func FuzzParseImport(f *testing.F) {
	f.Add([]byte("person,card,name,lang,dingtalk,wecom,feishu,employee\n0042,,张伟,zh-CN,zhangwei,,,\n"))
	f.Add([]byte("\ufeffperson,name\n0042,Ann\n0042,Bob\n"))
	f.Add([]byte("person,card\n7,12345678\n8,\"unterminated\n"))
	f.Add([]byte{0xff, 0xfe, ',', '\n'})
	d, err := Open(f.TempDir(), Options{CardKey: []byte("0123456789abcdef0123456789abcdef"),
		Now: func() time.Time { return time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC) }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		es, _, err := d.parse(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, e := range es {
			if err := e.p.Check(); err != nil {
				t.Fatalf("import accepted %+v, which the directory refuses: %v", e.p, err)
			}
		}
	})
}
