package commands

import (
	"time"

	"github.com/officegate/officegate/gateway/uplink"
)

// unreadableEvery is how often an unreadable command is logged at most: a
// flood of garbage on the command topics must not flood the log (the
// metric counts every one).
const unreadableEvery = time.Minute

// logLimit lets one log line through per period and counts the rest.
type logLimit struct {
	last       time.Time // when a line was last let through
	suppressed int       // lines held back since
}

// allow reports whether to log at now, and how many lines were held back
// before this one.
func (l *logLimit) allow(now time.Time) (bool, int) {
	if !l.last.IsZero() && now.Sub(l.last) < unreadableEvery {
		l.suppressed++
		return false, 0
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	return true, n
}

// unreadable counts and (rate-limited) logs a command that cannot be
// answered (MQTT.md §6 rule 1).
func (p *Processor) unreadable(in uplink.Inbound, reason error) {
	if p.opt.OnMalformed != nil {
		p.opt.OnMalformed()
	}
	p.mu.Lock()
	ok, n := p.quiet.allow(p.opt.Now())
	p.mu.Unlock()
	if !ok {
		return
	}
	topic := in.Topic
	if len(topic) > 256 {
		topic = topic[:256] + "…"
	}
	p.log.Warn().Err(reason).Str("topic", topic).Int("bytes", len(in.Payload)).Bool("retained", in.Retained).
		Int("suppressed", n).Msg("commands: command without a usable id or name: not answered (counted)")
}

// unreadableSummary logs how many unreadable commands were held back, once
// the period has passed without another one to carry the count.
func (p *Processor) unreadableSummary() {
	p.mu.Lock()
	n := p.quiet.suppressed
	due := n > 0 && p.opt.Now().Sub(p.quiet.last) >= unreadableEvery
	if due {
		p.quiet.last, p.quiet.suppressed = p.opt.Now(), 0
	}
	p.mu.Unlock()
	if due {
		p.log.Warn().Int("suppressed", n).Msg("commands: more commands without a usable id or name were not answered (counted)")
	}
}
