package contract

import (
	"errors"
	"strings"
	"testing"

	"github.com/officegate/officegate/gateway/envelope"
)

func TestParseTopic(t *testing.T) {
	for _, c := range []struct {
		topic string
		want  Topic
	}{
		{"og/hq/status", Topic{Kind: GatewayStatus}},
		{"og/hq/enrollment", Topic{Kind: Enrollment}},
		{"og/hq/results", Topic{Kind: Result}},
		{"og/hq/commands/devices.list", Topic{Kind: Command, Command: "devices.list"}},
		{"og/hq/devices/t-1/status", Topic{Kind: DeviceStatus, Device: "t-1"}},
		{"og/hq/devices/t-1/results", Topic{Kind: Result, Device: "t-1"}},
		{"og/hq/devices/t-1/events/attendance.punch", Topic{Kind: Event, Device: "t-1", Type: "attendance.punch"}},
		{"og/hq/devices/t-1/commands/ping", Topic{Kind: Command, Device: "t-1", Command: "ping"}},
	} {
		got, err := ParseTopic("og", "hq", c.topic)
		if err != nil || got != c.want {
			t.Errorf("ParseTopic(%q) = %+v, %v; want %+v", c.topic, got, err, c.want)
		}
	}
	for _, bad := range []string{
		"og/other/status", "og/hq", "og/hq/", "og/hq/devices/t-1", "og/hq/devices/t-1/events", "og/hq/devices/t-1/events/",
		"og/hq/devices/t-1/events/a/b", "og/hq/devices//status", "og/hq/devices/t-1/state", "og/hq/commands", "og/hq/status/x",
	} {
		if _, err := ParseTopic("og", "hq", bad); !errors.Is(err, ErrTopic) {
			t.Errorf("ParseTopic(%q) = %v, want ErrTopic", bad, err)
		}
	}
}

// TestCheckPublished: a message is held to the schema its topic selects:
// an event of a type without a schema fails, however valid its envelope;
// an event whose type or device is not its topic's fails.
func TestCheckPublished(t *testing.T) {
	punch, err := punchEvent(t).Payload(envelope.JSON)
	if err != nil {
		t.Fatal(err)
	}
	const root, gw = "og", "hq-3f"
	if err := CheckPublished(root, gw, "og/hq-3f/devices/term-lobby-1/events/attendance.punch", punch); err != nil {
		t.Fatalf("a punch on its topic: %v", err)
	}
	unspecified := deviceEvent(t, "room.temperature", "panel-a", 3, 9, map[string]any{"celsius": 21})
	p, err := unspecified.Payload(envelope.JSON)
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(Event, p); err != nil {
		t.Fatalf("the envelope alone is valid: %v", err)
	}
	for _, c := range []struct {
		topic   string
		payload []byte
		want    string
	}{
		{"og/hq-3f/devices/panel-a/events/room.temperature", p, `event type "room.temperature"`},
		{"og/hq-3f/devices/term-lobby-1/events/room.occupancy", punch, `/type: "attendance.punch", but the topic's type level is "room.occupancy"`},
		{"og/hq-3f/devices/term-lobby-2/events/attendance.punch", punch, `/device: "term-lobby-1"`},
		{"og/other/devices/term-lobby-1/events/attendance.punch", punch, "not under og/hq-3f/"},
		{"og/hq-3f/devices/term-lobby-1/status", punch, "device-status"},
		{"og/hq-3f/devices/term-lobby-1/elsewhere", punch, "not a topic"},
	} {
		err := CheckPublished(root, gw, c.topic, c.payload)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %s", c.topic, err, c.want)
		}
	}
	if !HasEventSchema("room.button") || HasEventSchema("room.temperature") || HasEventSchema("../event") || HasEventSchema("") {
		t.Error("HasEventSchema")
	}
}
