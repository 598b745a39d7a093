// Package all is the registry of sink kinds: adding a sink is its package and one line here.
package all

import (
	"fmt"
	"maps"
	"slices"

	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/gateway/sinks/filesink"
	"github.com/officegate/officegate/gateway/sinks/webhook"
)

// kinds builds each kind of sink from its settings.
var kinds = map[string]func(sinks.Settings) (sinks.Sink, error){
	"file":    filesink.FromSettings,
	"webhook": webhook.FromSettings,
}

// New builds a sink of a kind from its settings; name is for the error.
func New(name, kind string, s sinks.Settings) (sinks.Sink, error) {
	f, ok := kinds[kind]
	if !ok {
		return nil, fmt.Errorf("configuration invalid for sink %q: unknown kind %q (known: %v)", name, kind, Kinds())
	}
	sk, err := f(s)
	if err != nil {
		return nil, fmt.Errorf("configuration invalid for sink %q: %w", name, err)
	}
	return sk, nil
}

// Kinds lists the kinds of sink, sorted.
func Kinds() []string { return slices.Sorted(maps.Keys(kinds)) }
