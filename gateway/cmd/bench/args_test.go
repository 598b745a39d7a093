package main

import "testing"

// TestCommandArgs: every command prints its flags and exits 0 on -h, and
// refuses an argument left over before it starts anything.
func TestCommandArgs(t *testing.T) {
	for _, c := range commands {
		if code := mainWith([]string{c.name, "-h"}); code != 0 {
			t.Fatalf("bench %s -h: exit %d, want 0", c.name, code)
		}
		if code := mainWith([]string{c.name, "-no-such-flag"}); code != 2 {
			t.Fatalf("bench %s -no-such-flag: exit %d, want 2", c.name, code)
		}
		if code := mainWith([]string{c.name, "stray"}); code != 1 {
			t.Fatalf("bench %s stray: exit %d, want 1", c.name, code)
		}
	}
}
