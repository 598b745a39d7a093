package people

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Platform names a destination that knows people by its own user id.
type Platform string

// The platforms a Person maps to.
const (
	DingTalk Platform = "dingtalk"
	WeCom    Platform = "wecom"
	Feishu   Platform = "feishu"
	Employee Platform = "employee" // the HR employee number
)

// Platforms lists every Platform, in the CSV's column order.
var Platforms = []Platform{DingTalk, WeCom, Feishu, Employee}

// Languages of messages (lang).
const (
	LangChinese = "zh-CN"
	LangEnglish = "en"
)

// Bounds of a record's fields (doc.go, "Rules").
const (
	MaxIDLen   = 64 // bytes of person and of each platform id
	MaxNameLen = 64 // characters of name
)

// ErrInvalid is wrapped by the error for a field that breaks a rule.
var ErrInvalid = errors.New("people: invalid field")

// Person is one directory record.
type Person struct {
	ID       string // the person id devices report; the key
	CardHash string // devices.KeyedHash of their card under the site key; "" for none
	Name     string // display name
	Lang     string // "", LangChinese or LangEnglish
	DingTalk string
	WeCom    string
	Feishu   string
	Employee string
	Updated  time.Time // when the record last changed (UTC)
}

// UserID is the person's id on platform p, "" when they have none there.
func (p Person) UserID(pl Platform) string {
	switch pl {
	case DingTalk:
		return p.DingTalk
	case WeCom:
		return p.WeCom
	case Feishu:
		return p.Feishu
	case Employee:
		return p.Employee
	}
	return ""
}

func (p *Person) setUserID(pl Platform, id string) {
	switch pl {
	case DingTalk:
		p.DingTalk = id
	case WeCom:
		p.WeCom = id
	case Feishu:
		p.Feishu = id
	case Employee:
		p.Employee = id
	}
}

// same says whether p and q hold the same mapping (Updated aside).
func (p Person) same(q Person) bool {
	p.Updated, q.Updated = time.Time{}, time.Time{}
	return p == q
}

// Check applies the rules of doc.go ("Rules") to every field.
func (p Person) Check() error {
	if err := CheckID(p.ID); err != nil {
		return err
	}
	if p.CardHash != "" && !IsCardHash(p.CardHash) {
		return fmt.Errorf("%w: card_hash of %q is not 64 lower-case hex digits", ErrInvalid, p.ID)
	}
	if err := checkName(p.Name); err != nil {
		return err
	}
	if err := checkLang(p.Lang); err != nil {
		return err
	}
	for _, pl := range Platforms {
		if err := checkUserID(pl, p.UserID(pl)); err != nil {
			return err
		}
	}
	return nil
}

// CheckID checks a person id.
func CheckID(id string) error {
	switch {
	case id == "" || len(id) > MaxIDLen:
		return fmt.Errorf("%w: person %q is %d bytes, need 1 to %d", ErrInvalid, id, len(id), MaxIDLen)
	case !utf8.ValidString(id):
		return fmt.Errorf("%w: person %q is not utf-8", ErrInvalid, id)
	case strings.TrimSpace(id) != id:
		return fmt.Errorf("%w: person %q has spaces at an end", ErrInvalid, id)
	case strings.ContainsRune(id, ','):
		return fmt.Errorf("%w: person %q holds a comma", ErrInvalid, id)
	}
	for _, r := range id {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: person %q holds a control character", ErrInvalid, id)
		}
	}
	return nil
}

func checkName(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: name is not utf-8", ErrInvalid)
	}
	if n := utf8.RuneCountInString(s); n > MaxNameLen {
		return fmt.Errorf("%w: name is %d characters, at most %d", ErrInvalid, n, MaxNameLen)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: name holds a control character", ErrInvalid)
		}
	}
	return nil
}

func checkLang(s string) error {
	switch s {
	case "", LangChinese, LangEnglish:
		return nil
	}
	return fmt.Errorf("%w: lang %q: want %q, %q or empty", ErrInvalid, s, LangChinese, LangEnglish)
}

// normLang accepts the spellings a spreadsheet has for the two languages.
func normLang(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "zh", "zh-cn", "zh_cn", "zh-hans", "cn", "中文", "简体中文":
		return LangChinese
	case "en", "en-us", "en-gb", "english":
		return LangEnglish
	}
	return s
}

func checkUserID(pl Platform, s string) error {
	if len(s) > MaxIDLen {
		return fmt.Errorf("%w: %s id is %d bytes, at most %d", ErrInvalid, pl, len(s), MaxIDLen)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return fmt.Errorf("%w: %s id %q: only visible ASCII, no space", ErrInvalid, pl, s)
		}
	}
	return nil
}

// IsCardHash says whether s is a card hash as devices.KeyedHash writes it.
func IsCardHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && (s[i] < 'a' || s[i] > 'f') {
			return false
		}
	}
	return true
}
