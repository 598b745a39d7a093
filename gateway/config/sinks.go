package config

import (
	"fmt"
	"regexp"
	"sync"
)

// sinkName is a sink's name: its journal cursor's and its metrics label.
// Compiled at its first use, not when the package initialises.
var sinkName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9_-]{1,32}$`) })

// uplinkSinkName is the MQTT uplink's label among the sinks in /metrics.
const uplinkSinkName = "mqtt"

func (v *validator) sinks(fs []fileSink) {
	names := map[string]string{} // name → key of its first entry
	for i, f := range fs {
		key := fmt.Sprintf("sinks[%d]", i)
		s := Sink{Line: v.p.pos.lineOf(key), Streams: f.Streams, Settings: f.Settings}
		switch {
		case f.Name == nil:
			v.p.at(key+".name", nil, "required")
		case !sinkName().MatchString(*f.Name):
			v.p.at(key+".name", *f.Name, "want 1..32 of a-z, 0-9, '-', '_'")
		case *f.Name == uplinkSinkName:
			v.p.at(key+".name", *f.Name, "reserved for the MQTT uplink")
		default:
			if first, dup := names[*f.Name]; dup {
				v.p.at(key+".name", *f.Name, "duplicate: already used by %s (line %d)", first, v.p.pos.lineOf(first))
			} else {
				names[*f.Name] = key + ".name"
			}
			s.Name = *f.Name
		}
		if f.Kind == nil || *f.Kind == "" {
			v.p.at(key+".kind", nil, "required")
		} else {
			s.Kind = *f.Kind
		}
		seen := map[string]bool{}
		for j, st := range f.Streams {
			if seen[st] {
				v.p.at(fmt.Sprintf("%s.streams[%d]", key, j), st, "listed twice")
			}
			seen[st] = true
		}
		v.c.Sinks = append(v.c.Sinks, s)
	}
}
