package terminal

import (
	"fmt"
	"testing"

	"github.com/officegate/officegate/devices"
)

func TestPunch(t *testing.T) {
	for _, tc := range []struct {
		in   map[string]any
		want string
	}{
		{map[string]any{"user": "10042", "verify": "finger", "state": uint64(0)},
			"map[credential:fingerprint person:10042 raw:map[state:0 verify:finger] state:in]"},
		{map[string]any{"user": uint64(7), "verify": "card", "state": uint64(5), "work_code": "A1"},
			"map[credential:card person:7 raw:map[state:5 verify:card] state:overtime_out work_code:A1]"},
		{map[string]any{"user": "3", "verify": 15, "state": uint64(9)}, // vendor codes we do not know
			"map[credential:unknown person:3 raw:map[state:9 verify:15] state:unknown]"},
		{map[string]any{"user": "3", "verify": "face", "state": "break_in", "face_template": []byte{1, 2}},
			"map[credential:face person:3 raw:map[state:break_in verify:face] redacted:[face_template] state:break_in]"},
	} {
		got, err := Punch(tc.in, nil)
		if err != nil || fmt.Sprint(got) != tc.want {
			t.Errorf("Punch(%v) = %v, %v\n want %s", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []map[string]any{{}, {"user": ""}, {"verify": "card"}, {"user": string(make([]byte, 65))}} {
		if _, err := Punch(bad, nil); err == nil {
			t.Errorf("Punch(%v) accepted", bad)
		}
	}
}

func TestPunchCard(t *testing.T) {
	key := []byte("0123456789abcdef")
	body := func(card any) map[string]any { return map[string]any{"user": "7", "verify": "card", "card": card} }
	for _, tc := range []struct {
		card any
		key  []byte
		want string
	}{
		{"12:4660", nil, "card=12:4660"},
		{uint64(4660), nil, "card=4660"},
		{"12:4660", key, "card_hash=" + devices.KeyedHash(key, "12:4660")},
		{uint64(0), nil, ""},           // "no card"
		{"A1B2", nil, "raw.card=A1B2"}, // not a number: audit only
		{"A1B2", key, "card_hash=" + devices.KeyedHash(key, "A1B2")},
	} {
		p, err := Punch(body(tc.card), tc.key)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := p["raw"].(map[string]any)
		got := ""
		switch {
		case p["card"] != nil:
			got = fmt.Sprint("card=", p["card"])
		case p["card_hash"] != nil:
			got = fmt.Sprint("card_hash=", p["card_hash"])
		case raw["card"] != nil:
			got = fmt.Sprint("raw.card=", raw["card"])
		}
		if got != tc.want {
			t.Errorf("card %v key %v: got %q, want %q", tc.card, tc.key != nil, got, tc.want)
		}
		if tc.key != nil && (p["card"] != nil || raw["card"] != nil) {
			t.Errorf("card %v sent in clear with a site key: %v", tc.card, p)
		}
	}
}

func FuzzPunch(f *testing.F) {
	f.Add("10042", "finger", uint64(0), "A1")
	f.Fuzz(func(t *testing.T, user, verify string, state uint64, wc string) {
		out, err := Punch(map[string]any{"user": user, "verify": verify, "state": state, "work_code": wc, "card": wc}, []byte("0123456789abcdef"))
		if err != nil {
			return
		}
		if out["person"] != user || out["credential"] == "" || out["state"] == "" {
			t.Fatalf("Punch gave %v", out)
		}
		if raw, _ := out["raw"].(map[string]any); out["card"] != nil || raw["card"] != nil {
			t.Fatalf("card in clear with a site key: %v", out)
		}
	})
}
