package connect

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/intake"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/internal/cbormode"
)

// Record is what connect journals for one message it took from the
// backbone: the message as the gateway published it, and what the sinks and
// the deduplication need of it. CBOR in the local journal (doc.go, "Local
// journal").
type Record struct {
	Topic   string `cbor:"1,keyasint"`           // the MQTT topic, '/'-separated, with the topic root
	Payload []byte `cbor:"2,keyasint"`           // the envelope or result, JSON (a CBOR one is turned into JSON)
	ID      string `cbor:"3,keyasint,omitempty"` // the envelope's id
	Device  string `cbor:"4,keyasint,omitempty"`
	Type    string `cbor:"5,keyasint,omitempty"` // the event type, or "result"
	Gateway string `cbor:"6,keyasint,omitempty"`
	Boot    uint32 `cbor:"7,keyasint,omitempty"`
	Seq     uint64 `cbor:"8,keyasint,omitempty"`
	// Bad is why the message cannot be delivered (no id, not an envelope):
	// the sinks' runners dead-letter it, visibly, rather than connect
	// dropping it.
	Bad string `cbor:"9,keyasint,omitempty"`
}

// Message is a message of the backbone, parsed.
type Message struct {
	Record
	Stream string   // the local journal stream: the gateway's stream for its type (intake.StreamFor)
	Key    [16]byte // the deduplication key (Key); zero for a Bad one
	// Ack acknowledges the message to the backbone; Keep asks the backbone
	// to wait longer for that (a JetStream InProgress). Set by the source;
	// nil: nothing to do.
	Ack, Keep func()
}

// ErrNotSinkMessage marks a message of the contract no sink takes (a
// retained status, the enrollment message, a command): acknowledged and
// dropped.
var ErrNotSinkMessage = errors.New("connect: not a message for the sinks")

// Parse reads a message published on topic (MQTT form) under root. A
// message that is for the sinks but cannot be read comes back with Bad set
// and a nil error; ErrNotSinkMessage for the rest.
func Parse(root, topic string, payload []byte) (Message, error) {
	rest, ok := strings.CutPrefix(topic, root+"/")
	if !ok {
		return Message{}, fmt.Errorf("%w: topic %q is outside the root %q", ErrNotSinkMessage, topic, root)
	}
	lv := strings.Split(rest, "/")
	var m Message
	m.Topic, m.Gateway = topic, lv[0]
	switch {
	case len(lv) == 5 && lv[1] == "devices" && lv[3] == "events":
		m.Device, m.Type = lv[2], lv[4]
	case len(lv) == 4 && lv[1] == "devices" && lv[3] == "results":
		m.Device, m.Type = lv[2], "result"
	case len(lv) == 2 && lv[1] == "results":
		m.Type = "result"
	default:
		return Message{}, fmt.Errorf("%w: topic %q", ErrNotSinkMessage, topic)
	}
	// Every level is one a gateway can publish (ids are topic levels,
	// MQTT.md): a topic of other bytes is no gateway's.
	for _, l := range lv {
		if err := envelope.CheckLevel("topic level", l); err != nil {
			return Message{}, fmt.Errorf("%w: %w", ErrNotSinkMessage, err)
		}
	}
	m.Stream = intake.StreamFor(m.Type)
	if m.Type == "result" {
		m.Stream = intake.StreamResults
	}
	p, err := asJSON(payload)
	if err != nil {
		m.Payload, m.Bad = payload, err.Error()
		return m, nil
	}
	m.Payload = p
	var w struct {
		ID      string `json:"id"`
		Type    string `json:"type"`
		Gateway string `json:"gateway"`
		Device  string `json:"device"`
		Boot    uint32 `json:"boot"`
		Seq     uint64 `json:"seq"`
	}
	switch err := json.Unmarshal(p, &w); {
	case err != nil:
		m.Bad = "not an envelope: " + err.Error()
	case w.ID == "":
		m.Bad = "the envelope has no id"
	case w.Gateway != "" && w.Gateway != m.Gateway:
		m.Bad = fmt.Sprintf("the envelope's gateway %q is not its topic's %q", w.Gateway, m.Gateway)
	case m.Type != "result" && (w.Device != m.Device || w.Type != m.Type):
		m.Bad = fmt.Sprintf("the envelope's device and type %q/%q are not its topic's %q/%q", w.Device, w.Type, m.Device, m.Type)
	}
	if m.Bad != "" {
		return m, nil
	}
	m.ID, m.Boot, m.Seq = w.ID, w.Boot, w.Seq
	m.Key = Key(m.Type, m.Gateway, m.ID)
	return m, nil
}

// Key is the deduplication key of a message: an event by its id (unique
// across gateways: MQTT.md), a command result by its gateway and id (the
// command's id, chosen by whoever sent it). SHA-256, first 16 bytes.
func Key(typ, gateway, id string) [16]byte {
	var s string
	if typ == "result" {
		s = "r\x00" + gateway + "\x00" + id
	} else {
		s = "e\x00" + id
	}
	sum := sha256.Sum256([]byte(s))
	return [16]byte(sum[:16])
}

// cborToJSON decodes a CBOR envelope (mqtt.format = "cbor") into values
// encoding/json can write.
var cborToJSON = cbormode.MustHostile(cbormode.Limits{MaxNestedLevels: 16, MaxMapPairs: 4096, MaxArrayElements: 4096})

// recEnc and recDec are the local journal's record codec: raw journal
// records (journal.AppendEntries), deterministic CBOR.
var (
	recEnc = cbormode.Enc
	recDec = cbormode.MustHostile(cbormode.Limits{MaxNestedLevels: 4, MaxMapPairs: 16})
)

// EncodeRecord is the journaled form of r.
func EncodeRecord(r *Record) ([]byte, error) { return recEnc.Marshal(r) }

// asJSON returns a JSON payload as it is and turns a CBOR one (the
// contract's other format, same fields) into JSON: the sinks read JSON.
func asJSON(p []byte) ([]byte, error) {
	t := bytes.TrimLeft(p, " \t\r\n")
	if len(t) > 0 && t[0] == '{' {
		return p, nil
	}
	var v map[string]any
	if err := cborToJSON.Unmarshal(p, &v); err != nil {
		return nil, fmt.Errorf("neither a JSON nor a CBOR envelope: %w", err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("a CBOR envelope JSON cannot hold: %w", err)
	}
	return out, nil
}

// Decode reads a journaled Record as the event a sink receives
// (sinks.Options.Decode).
func Decode(rec journal.Record) (sinks.Event, bool, error) {
	var r Record
	if err := recDec.Unmarshal(rec.Body, &r); err != nil {
		return sinks.Event{}, false, fmt.Errorf("connect: journaled record: %w", err)
	}
	ev := sinks.Event{ID: r.ID, Device: r.Device, Type: r.Type, Topic: r.Topic, Payload: r.Payload}
	if r.Bad != "" {
		return ev, false, sinks.Permanent(fmt.Errorf("connect: message on %q: %s", r.Topic, r.Bad))
	}
	return ev, false, nil
}
