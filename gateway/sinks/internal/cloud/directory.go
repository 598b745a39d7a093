package cloud

import (
	"errors"
	"fmt"
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

// ErrUnmapped is a punch or message whose person has no user id on the
// platform: it is never sent with a guessed id.
var ErrUnmapped = errors.New("cloud: person has no user id on the platform")

// UserID maps key through d for platform, or returns an error wrapping
// ErrUnmapped naming the key (a person id or a card hash, neither a
// secret) and the platform.
func UserID(d Directory, platform, key string) (Person, error) {
	if key == "" {
		return Person{}, fmt.Errorf("%w: the event names no person id or card hash (%s)", ErrUnmapped, platform)
	}
	if d == nil {
		return Person{}, fmt.Errorf("%w: no person directory (%s)", ErrUnmapped, platform)
	}
	p, ok := d.Find(key)
	if !ok || p.UserID == "" {
		return Person{}, fmt.Errorf("%w: %q on %s", ErrUnmapped, key, platform)
	}
	return p, nil
}

// MapDirectory is a Directory held in a map (tests, and a sink given its
// people inline).
type MapDirectory map[string]Person

// Find implements Directory.
func (m MapDirectory) Find(key string) (Person, bool) {
	p, ok := m[key]
	return p, ok
}
