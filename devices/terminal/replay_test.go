package terminal_test

import (
	"strings"
	"testing"

	"github.com/officegate/officegate/devices/terminal"
)

// TestReplayOf: the replay rule is the terminal's: a replayed punch names an
// earlier event of the same device by boot and seq, and an unusable reference
// is explained without quoting what the terminal sent.
func TestReplayOf(t *testing.T) {
	ref := func(b, q uint64) map[string]any { return map[string]any{"boot": b, "seq": q} }
	for _, tc := range []struct {
		name     string
		v        any
		boot     uint32
		seq      uint32
		wantBoot uint32
		wantSeq  uint32
		wantErr  string
	}{
		{"earlier boot", ref(1, 900), 2, 5, 1, 900, ""},
		{"earlier seq", ref(2, 4), 2, 5, 2, 4, ""},
		{"itself", ref(2, 5), 2, 5, 0, 0, "not before the replay itself"},
		{"later", ref(3, 1), 2, 5, 0, 0, "not before the replay itself"},
		{"zero seq", ref(1, 0), 2, 5, 0, 0, "not 0"},
		{"beyond 32 bits", ref(1<<32, 1), 2, 5, 0, 0, "unsigned 32-bit"},
		{"text", "12:4660 secret", 2, 5, 0, 0, "replay is a text"},
		{"array", []any{"12:4660"}, 2, 5, 0, 0, "replay is a array"},
	} {
		b, q, err := terminal.ReplayOf(tc.v, tc.boot, tc.seq)
		if tc.wantErr == "" {
			if err != nil || b != tc.wantBoot || q != tc.wantSeq {
				t.Errorf("%s: ReplayOf = %d %d %v, want %d %d", tc.name, b, q, err, tc.wantBoot, tc.wantSeq)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: ReplayOf error %v, want one containing %q", tc.name, err, tc.wantErr)
		}
		if err != nil && (strings.Contains(err.Error(), "4660") || strings.Contains(err.Error(), "secret")) {
			t.Errorf("%s: the error quotes the terminal's record: %v", tc.name, err)
		}
	}
}
