package sinks

import (
	"fmt"
	"slices"
	"time"

	"github.com/officegate/officegate/gateway/journal"
)

// Remains says what forgetting a person leaves behind with a journal of
// these streams (a gateway's, or officegate connect's): the journal keeps
// the events that name a person (punches, visits, alarms) until each
// stream's retention passes, and the dead letters for their week. naming
// are the streams whose events name people (the intake's control, records
// and visitors); the others (telemetry, diagnostics, results, marks) are
// left out. The admin service's forget report lists it
// (provisioning/admin, Forgetter).
func Remains(streams []journal.Stream, naming ...string) []string {
	var out []string
	for _, s := range streams {
		if s.Name != DeadLetterStream.Name && !slices.Contains(naming, s.Name) {
			continue
		}
		switch {
		case s.Name == DeadLetterStream.Name:
			out = append(out, fmt.Sprintf("journal stream %q (records sinks could not deliver): until %s after each was written", s.Name, age(s.MaxAge)))
		case s.MaxAge > 0:
			out = append(out, fmt.Sprintf("journal stream %q: events naming them until %s after each was written (or sooner, once every consumer has passed them and the segment is reclaimed)", s.Name, age(s.MaxAge)))
		default:
			out = append(out, fmt.Sprintf("journal stream %q: events naming them until every consumer has delivered them and their segment is reclaimed (no retention limit configured)", s.Name))
		}
	}
	out = append(out, "copies already delivered (the MQTT broker's consumers, databases, webhooks, DingTalk/WeCom/Feishu) are outside officegate: erase them there")
	return out
}

func age(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}
