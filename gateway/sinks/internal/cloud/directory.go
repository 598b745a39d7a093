package cloud

import (
	"errors"
	"fmt"

	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/provisioning/people"
)

// Person is what a platform sink reads of a person directory record.
type Person struct {
	UserID string // the person's id on this sink's platform; "" when they have none there
	Name   string // display name (messages only)
	Lang   string // "zh-CN", "en" or "" (the sink's default)
}

// Directory finds the person behind what a device reported (a person id or
// a card hash) for one platform.
type Directory interface {
	Find(key string) (Person, bool)
}

// ErrNoKey is a punch that names neither a person id nor a card hash (a
// reader whose site sends card numbers in clear): the directory cannot
// know who it is, now or later.
var ErrNoKey = errors.New("cloud: the event names no person id or card hash; the person directory maps only those (hash card numbers: MQTT.md §11)")

// UserID maps key through d, or returns sinks.Unmapped(key, platform) —
// the runner holds the record until the directory maps the person — or,
// for an empty key, a permanent error wrapping ErrNoKey.
func UserID(d Directory, platform, key string) (Person, error) {
	if key == "" {
		return Person{}, sinks.Permanent(fmt.Errorf("%w (%s)", ErrNoKey, platform))
	}
	var p Person
	ok := false
	if d != nil {
		p, ok = d.Find(key)
	}
	if !ok || p.UserID == "" {
		return Person{}, sinks.Unmapped(key, platform)
	}
	return p, nil
}

// MapDirectory is a Directory held in a map (tests).
type MapDirectory map[string]Person

// Find implements Directory.
func (m MapDirectory) Find(key string) (Person, bool) {
	p, ok := m[key]
	return p, ok
}

// People is the person directory (provisioning/people) seen by a sink of
// platform pl.
func People(d *people.Directory, pl people.Platform) Directory {
	if d == nil {
		return nil
	}
	return peopleDir{d: d, pl: pl}
}

type peopleDir struct {
	d  *people.Directory
	pl people.Platform
}

func (p peopleDir) Find(key string) (Person, bool) {
	r, ok := p.d.Lookup(key)
	if !ok {
		return Person{}, false
	}
	return Person{UserID: r.UserID(p.pl), Name: r.Name, Lang: r.Lang}, true
}
