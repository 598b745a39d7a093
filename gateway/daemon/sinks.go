package daemon

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/intake"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/gateway/sinks/all"
)

// Sink is a destination the gateway delivers events to besides the MQTT
// uplink, from a journal cursor of its own (gateway/sinks).
type Sink struct {
	Name     string         // its journal consumer, metrics label and log field
	Kind     string         // a kind of gateway/sinks/all
	Streams  []string       // the journal streams it delivers; none: every published one
	Settings sinks.Settings // its kind's own settings
}

// topics are the uplink's topics, which sinks render events for too.
func (w *wiring) topics() envelope.Topics {
	t := w.o.Uplink.Topics
	t.Gateway = w.o.Gateway
	if t.Root == "" {
		t.Root = "officegate"
	}
	return t
}

// published lists the streams the uplink publishes: every stream but the
// intake's marks and the dead letters.
func published(streams []journal.Stream) []string {
	var out []string
	for _, s := range streams {
		if s.Name != intake.StreamMarks && s.Name != sinks.DeadLetterStream.Name {
			out = append(out, s.Name)
		}
	}
	return out
}

// sinkConsumers adds the dead-letter stream (the uplink's too: it is the
// first sink) and a journal consumer per sink to jo, whose Streams are set.
func (w *wiring) sinkConsumers(jo *journal.Options) error {
	pub := published(jo.Streams)
	jo.Streams = append(jo.Streams, sinks.DeadLetterStream)
	for _, s := range w.o.Sinks {
		streams := s.Streams
		if len(streams) == 0 {
			streams = pub
		}
		for _, st := range streams {
			if !slices.Contains(pub, st) {
				return fmt.Errorf("daemon: sink %q: stream %q is not one the gateway publishes (%v)", s.Name, st, pub)
			}
		}
		jo.Consumers = append(jo.Consumers, journal.Consumer{Name: s.Name, Streams: streams})
	}
	w.consumers = jo.Consumers
	return nil
}

// startSinks runs every configured sink from its journal consumer.
func (w *wiring) startSinks(_ context.Context, g *group) error {
	var (
		runners []*sinks.Runner
		stops   []func() // each runner's person-directory watch
	)
	closeAll := func() {
		for i, r := range runners {
			r.Close()
			stops[i]()
		}
	}
	for i, c := range w.consumers {
		cfg := w.o.Sinks[i]
		sk, err := all.NewWith(cfg.Name, cfg.Kind, cfg.Settings, all.Deps{People: w.people})
		if err != nil {
			closeAll()
			return fmt.Errorf("daemon: %w", err)
		}
		sl := w.log.With().Str("part", "sinks").Logger()
		retry, stopWatch := w.people.Watch()
		r, err := sinks.New(w.j, sk, sinks.Options{Name: c.Name, Streams: c.Streams, Topics: w.topics(),
			Log: &sl, Metrics: w.m, Alarm: w.deadLetterAlarm,
			HeldDir: filepath.Join(w.o.StateDir, HeldDir), Retry: retry, HoldAlarm: w.heldAlarm,
			BacklogAlarm: w.backlogAlarm})
		if err != nil {
			stopWatch()
			closeAll()
			return err
		}
		runners, stops = append(runners, r), append(stops, stopWatch)
	}
	w.runners = runners
	log := w.log
	for i, r := range runners {
		g.Go(func(ctx context.Context) {
			defer stops[i]() // the watch feeds Run: it ends with it
			if err := r.Run(ctx); err != nil {
				log.Error().Err(err).Str("sink", r.Name()).Msg("sink stopped")
			}
		})
	}
	return nil
}

// SinksDevice is the device id the sinks' backlog alarms are published
// under: {root}/{gw}/devices/sinks/events/device.alarm (MQTT.md §5.5), a
// name no device may take while sinks are configured.
const SinksDevice = "sinks"

// backlogAlarm raises a device.alarm (other) on SinksDevice when a sink's
// backlog rises to half the journal's cap (MQTT.md §5.5): once per rise;
// its fall is in the log and officegate_sink_backlog_alarm.
func (w *wiring) backlogAlarm(ctx context.Context, st sinks.Status) error {
	detail := fmt.Sprintf("sink %q backlog keeps %d of the journal's %d bytes (%d records undelivered): fix its destination, or the journal will shed telemetry and then refuse punches",
		st.Name, st.Bytes, w.j.Stats().MaxBytes, st.Backlog)
	return w.in.Note(ctx, SinksDevice, "device.alarm", map[string]any{"alarm": "other", "detail": truncate(detail, 256)})
}

// deadLetterAlarm raises a device.alarm (other) on the device whose event a
// sink can never deliver (MQTT.md §5.5). A refused result of a gateway
// command has no device, and a refused alarm raises none (it would loop):
// both are in the log, the metric and the dead-letter stream.
func (w *wiring) deadLetterAlarm(ctx context.Context, dl sinks.DeadLetter) error {
	detail, ok := dl.AlarmDetail()
	if !ok {
		return nil
	}
	return w.in.Note(ctx, dl.Device, "device.alarm", map[string]any{"alarm": "other", "detail": detail})
}
