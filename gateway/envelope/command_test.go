package envelope

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestParseCommandStrict: the parser is exactly as strict as command.json:
// keys spelt exactly, each once, nothing after the object, args bounded in
// depth, ids as long as the device link carries. Whenever it refuses a
// payload, AnswerableID says what id the refusal can be answered to.
func TestParseCommandStrict(t *testing.T) {
	now := time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC)
	deep := func(n int) string { return strings.Repeat(`{"a":`, n) + `1` + strings.Repeat(`}`, n) }
	for _, c := range []struct {
		payload string
		ok      bool
		id      string // AnswerableID when refused
		why     string // in the error when refused
	}{
		{`{"id":"c-1"}`, true, "", ""},
		{` {"id":"c-1","args":{"a":[1,{"b":2}]}} ` + "\n", true, "", ""},
		{`{"id":"c-1","args":null}`, true, "", ""},
		{`{"id":"c-1","args":` + deep(MaxArgsDepth) + `}`, true, "", ""},
		{`{"id":"` + strings.Repeat("x", MaxCommandID) + `"}`, true, "", ""},
		{`{"ID":"c-1"}`, false, "", "unknown field \"ID\""},
		{`{"id":"c-1","Args":{}}`, false, "c-1", "unknown field \"Args\""},
		{`{"id":"c-1","EXPIRES_AT":"2026-11-24T01:05:00Z"}`, false, "c-1", "unknown field"},
		{`{"id":"c-1"}}`, false, "c-1", "trailing data"},
		{`{"id":"c-1"}]`, false, "c-1", "trailing data"},
		{`{"id":"c-1"} {"id":"c-2"}`, false, "c-1", "trailing data"},
		{`{"id":"c-1","id":"c-2"}`, false, "c-1", "given twice"},
		{`{"id":"c-1","args":` + deep(MaxArgsDepth+1) + `}`, false, "c-1", "nested more than 8 deep"},
		{`{"id":"c-1","args":` + strings.Repeat("[", 5000) + `}`, false, "c-1", "nested more than 8 deep"},
		{`{"id":"c-1","args":{"a":[1,2}}`, false, "c-1", "bad command"},
		{`{"args":` + strings.Repeat("[", 5000) + `,"id":"c-1"}`, false, "", "nested"},
		{`{"id":"` + strings.Repeat("x", MaxCommandID+1) + `"}`, false, strings.Repeat("x", MaxCommandID+1), "65 characters long, at most 64"},
		{`{"id":"` + strings.Repeat("x", MaxAnswerableID) + `"}`, false, strings.Repeat("x", MaxAnswerableID), "at most 64"},
		{`{"id":"` + strings.Repeat("x", MaxAnswerableID+1) + `"}`, false, "", "at most 64"},
		{`{"id":7}`, false, "", "id must be a string"},
		{`{"id":""}`, false, "", "id is empty"},
		{`{"id":"a b"}`, false, "", "printable ASCII"},
		{`{"id":"c-1","expires_at":null}`, false, "c-1", "expires_at"},
		{`{"id":"c-1","expires_at":"tomorrow"}`, false, "c-1", "expires_at"},
		{`{"id":"c-1","args":[]}`, false, "c-1", "args must be a JSON object"},
		{`[{"id":"c-1"}]`, false, "", "not a JSON object"},
		{``, false, "", "not a JSON object"},
		{`{"id":"c-1"`, false, "c-1", "bad command"},
	} {
		cmd, err := ParseCommand([]byte(c.payload), now)
		if c.ok {
			if err != nil {
				t.Errorf("%.80s: %v", c.payload, err)
			} else if cmd.ID != "c-1" && cmd.ID != strings.Repeat("x", MaxCommandID) || cmd.ExpiresAt == nil || cmd.Args[0] != '{' {
				t.Errorf("%.80s: parsed %+v", c.payload, cmd)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrBadCommand) || !strings.Contains(err.Error(), c.why) {
			t.Errorf("%.80s: error %v, want ErrBadCommand saying %q", c.payload, err, c.why)
		}
		if got := AnswerableID([]byte(c.payload)); got != c.id {
			t.Errorf("%.80s: AnswerableID = %.80q, want %.80q", c.payload, got, c.id)
		}
	}
}
