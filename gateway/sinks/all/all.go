// Package all is the registry of sink kinds: adding a sink is its package and one line here.
package all

import (
	"fmt"
	"maps"
	"slices"

	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/gateway/sinks/dingtalk"
	"github.com/officegate/officegate/gateway/sinks/feishu"
	"github.com/officegate/officegate/gateway/sinks/filesink"
	"github.com/officegate/officegate/gateway/sinks/internal/cloud"
	"github.com/officegate/officegate/gateway/sinks/postgres"
	"github.com/officegate/officegate/gateway/sinks/webhook"
	"github.com/officegate/officegate/gateway/sinks/wecom"
	"github.com/officegate/officegate/provisioning/people"
)

// Deps are what the gateway gives a sink besides its settings.
type Deps struct {
	// People is the person directory; nil: none, and every punch a
	// platform sink is given waits for a mapping (held).
	People *people.Directory
}

// kinds builds each kind of sink from its settings.
var kinds = map[string]func(sinks.Settings, Deps) (sinks.Sink, error){
	"file":    func(s sinks.Settings, _ Deps) (sinks.Sink, error) { return filesink.FromSettings(s) },
	"webhook": func(s sinks.Settings, _ Deps) (sinks.Sink, error) { return webhook.FromSettings(s) },
	"postgres": func(s sinks.Settings, _ Deps) (sinks.Sink, error) {
		return postgres.FromSettings(s)
	},
	"dingtalk": func(s sinks.Settings, d Deps) (sinks.Sink, error) {
		return dingtalk.FromSettings(s, cloud.People(d.People, people.DingTalk))
	},
	"dingtalk_notify": func(s sinks.Settings, d Deps) (sinks.Sink, error) {
		return dingtalk.NotifierFromSettings(s, cloud.People(d.People, people.DingTalk))
	},
	"feishu": func(s sinks.Settings, d Deps) (sinks.Sink, error) {
		return feishu.FromSettings(s, cloud.People(d.People, people.Feishu))
	},
	"feishu_notify": func(s sinks.Settings, d Deps) (sinks.Sink, error) {
		return feishu.NotifierFromSettings(s, cloud.People(d.People, people.Feishu))
	},
	"wecom": func(s sinks.Settings, d Deps) (sinks.Sink, error) {
		return wecom.FromSettings(s, cloud.People(d.People, people.WeCom))
	},
	"wecom_notify": func(s sinks.Settings, d Deps) (sinks.Sink, error) {
		return wecom.NotifierFromSettings(s, cloud.People(d.People, people.WeCom))
	},
}

// New builds a sink of a kind from its settings, without a person
// directory; name is for the error.
func New(name, kind string, s sinks.Settings) (sinks.Sink, error) {
	return NewWith(name, kind, s, Deps{})
}

// NewWith builds a sink of a kind from its settings and d.
func NewWith(name, kind string, s sinks.Settings, d Deps) (sinks.Sink, error) {
	f, ok := kinds[kind]
	if !ok {
		return nil, fmt.Errorf("configuration invalid for sink %q: unknown kind %q (known: %v)", name, kind, Kinds())
	}
	sk, err := f(s, d)
	if err != nil {
		return nil, fmt.Errorf("configuration invalid for sink %q: %w", name, err)
	}
	return sk, nil
}

// Kinds lists the kinds of sink, sorted.
func Kinds() []string { return slices.Sorted(maps.Keys(kinds)) }
