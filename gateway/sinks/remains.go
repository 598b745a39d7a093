package sinks

import (
	"fmt"
	"time"

	"github.com/officegate/officegate/gateway/intake"
	"github.com/officegate/officegate/gateway/journal"
)

// Remains says what forgetting a person leaves behind with a journal of
// these streams (a gateway's, or officegate connect's): the journal keeps
// the events that name a person (punches, visits, alarms) until each
// stream's retention passes, and the dead letters for their week. The
// admin service's forget report lists it (provisioning/admin, Forgetter).
func Remains(streams []journal.Stream) []string {
	var out []string
	for _, s := range streams {
		switch s.Name {
		case intake.StreamControl, intake.StreamRecords, intake.StreamVisitors, DeadLetterStream.Name:
		default:
			continue // no person in them: telemetry, diagnostics, results, marks
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
