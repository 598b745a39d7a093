package terminal

import (
	"fmt"
	"testing"
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
		got, err := Punch(tc.in)
		if err != nil || fmt.Sprint(got) != tc.want {
			t.Errorf("Punch(%v) = %v, %v\n want %s", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []map[string]any{{}, {"user": ""}, {"verify": "card"}, {"user": string(make([]byte, 65))}} {
		if _, err := Punch(bad); err == nil {
			t.Errorf("Punch(%v) accepted", bad)
		}
	}
}

func FuzzPunch(f *testing.F) {
	f.Add("10042", "finger", uint64(0), "A1")
	f.Fuzz(func(t *testing.T, user, verify string, state uint64, wc string) {
		out, err := Punch(map[string]any{"user": user, "verify": verify, "state": state, "work_code": wc})
		if err != nil {
			return
		}
		if out["person"] != user || out["credential"] == "" || out["state"] == "" {
			t.Fatalf("Punch gave %v", out)
		}
	})
}
