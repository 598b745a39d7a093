package contract

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// ErrTopic marks a topic that is not one of the contract's (MQTT.md §3).
var ErrTopic = errors.New("contract: not a topic of the contract")

// Topic is a topic of the contract, parsed: what its payload is, and the
// device, event type or command name its levels name.
type Topic struct {
	Kind    Kind
	Device  string // "" for the gateway's own topics
	Type    string // for an Event: the {type} level
	Command string // for a Command: the {name} level
}

// ParseTopic reads topic, published under root/gw (MQTT.md §3), into the
// payload kind its place selects. Any other topic is an error wrapping
// ErrTopic.
func ParseTopic(root, gw, topic string) (Topic, error) {
	rest, ok := strings.CutPrefix(topic, root+"/"+gw+"/")
	if !ok {
		return Topic{}, fmt.Errorf("%w: %q is not under %s/%s/", ErrTopic, topic, root, gw)
	}
	l := strings.Split(rest, "/")
	switch {
	case len(l) == 1 && l[0] == "status":
		return Topic{Kind: GatewayStatus}, nil
	case len(l) == 1 && l[0] == "enrollment":
		return Topic{Kind: Enrollment}, nil
	case len(l) == 1 && l[0] == "results":
		return Topic{Kind: Result}, nil
	case len(l) == 2 && l[0] == "commands" && l[1] != "":
		return Topic{Kind: Command, Command: l[1]}, nil
	case len(l) >= 3 && l[0] == "devices" && l[1] != "":
		dev := l[1]
		switch {
		case len(l) == 3 && l[2] == "status":
			return Topic{Kind: DeviceStatus, Device: dev}, nil
		case len(l) == 3 && l[2] == "results":
			return Topic{Kind: Result, Device: dev}, nil
		case len(l) == 4 && l[2] == "events" && l[3] != "":
			return Topic{Kind: Event, Device: dev, Type: l[3]}, nil
		case len(l) == 4 && l[2] == "commands" && l[3] != "":
			return Topic{Kind: Command, Device: dev, Command: l[3]}, nil
		}
	}
	return Topic{}, fmt.Errorf("%w: %q", ErrTopic, topic)
}

// HasEventSchema reports whether the contract specifies the data of event
// type typ: whether there is an event-{typ}.json.
func HasEventSchema(typ string) bool {
	if strings.ContainsAny(typ, "/\\") || typ == "" {
		return false
	}
	_, err := fs.Stat(Schemas(), "event-"+typ+".json")
	return err == nil
}

// CheckPublished checks a message the gateway published on topic under
// root/gw against the schema its topic selects, as strictly as Strict: an
// event against event.json with the data schema of the {type} level, which
// the payload's type and device must repeat, and which must exist — an
// event type the contract does not specify is an error. A command (which
// services publish, not the gateway) is held to Validate.
func CheckPublished(root, gw, topic string, payload []byte) error {
	tp, err := ParseTopic(root, gw, topic)
	if err != nil {
		return err
	}
	if tp.Kind == Command {
		return Validate(Command, payload)
	}
	if tp.Kind == Event && !HasEventSchema(tp.Type) {
		return &Error{Kind: Event, Violations: []string{fmt.Sprintf("/type: event type %q on %s has no schema (no event-%s.json)", tp.Type, topic, tp.Type)}}
	}
	if err := Strict(tp.Kind, payload); err != nil {
		return err
	}
	v, err := decode(payload)
	if err != nil {
		return &Error{Kind: tp.Kind, Violations: []string{err.Error()}}
	}
	obj, _ := v.(map[string]any)
	var bad []string
	if g, ok := obj["gateway"]; ok && g != gw {
		bad = append(bad, fmt.Sprintf("/gateway: %v, but the topic's gateway level is %q", g, gw))
	}
	if tp.Kind == Event {
		if typ, _ := obj["type"].(string); typ != tp.Type {
			bad = append(bad, fmt.Sprintf("/type: %q, but the topic's type level is %q", typ, tp.Type))
		}
	}
	if dev, _ := obj["device"].(string); (tp.Device != "" || tp.Kind == Result) && dev != tp.Device {
		bad = append(bad, fmt.Sprintf("/device: %q, but the topic's device level is %q", dev, tp.Device))
	}
	if len(bad) > 0 {
		return &Error{Kind: tp.Kind, Violations: bad}
	}
	return nil
}
