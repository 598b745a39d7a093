package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/officegate/officegate/gateway/envelope"
)

// The fleet's events: every publisher and the consumer derive them from the
// same numbers, so the consumer knows which ids a phase must deliver and
// every publisher sends the same topics and payload sizes.

// fleetRoot is the contract's topic root the OFFICEGATE stream captures.
const fleetRoot = "officegate"

// fleetTopics are gateway g's topics.
func fleetTopics(g int) envelope.Topics {
	return envelope.Topics{Root: fleetRoot, Gateway: fmt.Sprintf("gw-%04d", g)}
}

// fleetEvent is event k (from 0) of gateway g in phase p: a punch from
// device k mod devices, its seq k div devices + 1, due at due. Its data
// carries the due time (t_us) for the latency figures, as the e2e command's
// paced devices do.
func fleetEvent(g, k, devices, phase int, due time.Time) (envelope.Outbound, error) {
	dev := fmt.Sprintf("t-%03d", k%devices)
	seq := uint64(k/devices + 1)
	data, err := envelope.EncodeData(map[string]any{"person": fmt.Sprintf("E-%05d", (g*devices+k)%100000),
		"credential": "card", "state": "in", "t_us": due.UnixMicro()})
	if err != nil {
		return envelope.Outbound{}, err
	}
	t := fleetTopics(g)
	return envelope.Outbound{Event: &envelope.Event{
		V: envelope.Version, ID: fleetID(g, k, devices, phase), Type: "attendance.punch",
		Gateway: t.Gateway, Device: dev, Boot: uint32(phase), Seq: seq,
		Time: envelope.StampOf(due), TimeRaw: due.Format("2006-01-02T15:04:05"), Clock: envelope.ClockSynced,
		Received: envelope.StampOf(due.UTC()), Data: data,
	}}, nil
}

// fleetID is fleetEvent's id: the device's hardware id, the phase as its
// boot, so that no phase delivers another's ids.
func fleetID(g, k, devices, phase int) string {
	return envelope.EventID(fmt.Sprintf("fleet-%04d-%03d", g, k%devices), uint32(phase), uint64(k/devices+1))
}

// natsSubject is the subject NATS's MQTT listener publishes an MQTT topic
// on: levels joined by '.', a '.' inside a level written "//"
// (docs/nats/README.md).
func natsSubject(topic string) string {
	levels := strings.Split(topic, "/")
	for i, l := range levels {
		levels[i] = strings.ReplaceAll(l, ".", "//")
	}
	return strings.Join(levels, ".")
}

// fleetEventsFilter is the stream's subjects of the contract's events: the
// consumer counts these, not the gateways' retained statuses.
const fleetEventsFilter = fleetRoot + ".*.devices.*.events.>"
