package sinks

import (
	"fmt"
	"slices"
	"sort"
)

// Settings are a sink's own configuration keys (a [[sink]] table's keys
// besides name, kind and streams), as text.
type Settings map[string]string

// Only rejects a key outside known, quoting it.
func (s Settings) Only(known ...string) error {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(known, k) {
			return fmt.Errorf("unknown setting %q (known: %v)", k, known)
		}
	}
	return nil
}
