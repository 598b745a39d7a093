package contract

import (
	"encoding/json"
	"io/fs"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/officegate/officegate/gateway/envelope"
)

func readDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../MQTT.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// example is one ```json block of MQTT.md and the schema its comment names.
type example struct {
	line    int
	kind    Kind
	invalid bool
	body    string
}

var marker = regexp.MustCompile(`^<!-- schema: ([a-z-]+)( invalid)? -->$`)

func docExamples(t *testing.T, doc string) []example {
	t.Helper()
	lines := strings.Split(doc, "\n")
	var out []example
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```json" {
			continue
		}
		j := i - 1
		for j >= 0 && strings.TrimSpace(lines[j]) == "" {
			j--
		}
		var m []string
		if j >= 0 {
			m = marker.FindStringSubmatch(strings.TrimSpace(lines[j]))
		}
		if m == nil {
			t.Errorf("MQTT.md:%d: json example without a <!-- schema: KIND --> comment above it", i+1)
			continue
		}
		end := i + 1
		for end < len(lines) && strings.TrimSpace(lines[end]) != "```" {
			end++
		}
		out = append(out, example{line: i + 1, kind: Kind(m[1]), invalid: m[2] != "", body: strings.Join(lines[i+1:end], "\n")})
		i = end
	}
	return out
}

// TestDocExamplesValidate: every example payload in MQTT.md passes its schema
// strictly (or, marked invalid, fails it), so the document cannot drift from
// the schemas.
func TestDocExamplesValidate(t *testing.T) {
	examples := docExamples(t, readDoc(t))
	seen := map[Kind]bool{}
	for _, ex := range examples {
		err := Strict(ex.kind, []byte(ex.body))
		switch {
		case ex.invalid && err == nil:
			t.Errorf("MQTT.md:%d: example marked invalid passes the %s schema", ex.line, ex.kind)
		case !ex.invalid && err != nil:
			t.Errorf("MQTT.md:%d: %v", ex.line, err)
		}
		if !ex.invalid {
			seen[ex.kind] = true
		}
		if ex.kind == Command {
			_, perr := envelope.ParseCommand([]byte(ex.body), t0)
			if (perr == nil) == ex.invalid {
				t.Errorf("MQTT.md:%d: the gateway's ParseCommand disagrees with the example: %v", ex.line, perr)
			}
		}
	}
	for _, k := range Kinds() {
		if !seen[k] {
			t.Errorf("MQTT.md has no valid example of a %s payload", k)
		}
	}
}

// TestDocNamesEveryTopic: the topic table names exactly the topics the
// envelope package builds.
func TestDocNamesEveryTopic(t *testing.T) {
	doc := readDoc(t)
	tp := envelope.Topics{Root: "{root}", Gateway: "{gw}"}
	topics := []string{
		tp.GatewayStatus(), tp.DeviceStatus("{device}"), tp.Event("{device}", "{type}"),
		"{root}/{gw}/devices/{device}/commands/{name}", tp.DeviceResults("{device}"),
		"{root}/{gw}/commands/{name}", tp.GatewayResults(),
	}
	for _, f := range tp.CommandFilters() {
		topics = append(topics, f)
	}
	for _, topic := range topics {
		if !strings.Contains(doc, "`"+topic+"`") {
			t.Errorf("MQTT.md does not name topic %s", topic)
		}
	}
	for _, topic := range topics[:7] {
		if !strings.Contains(doc, "| `"+topic+"` |") {
			t.Errorf("MQTT.md's topic table has no row for %s", topic)
		}
	}
	names, err := fs.Glob(Schemas(), "*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if name != "common.json" && !strings.Contains(doc, "(contract/schemas/"+name+")") {
			t.Errorf("MQTT.md does not link schema %s", name)
		}
	}
}

// TestDocPunchIsWhatTheGatewayRenders: the first example is not hand-made but
// exactly what the envelope package renders for that punch, and the duplicate
// after a reconnect (§12.2) is the same again: a journaled event renders the
// same bytes on every publish.
func TestDocPunchIsWhatTheGatewayRenders(t *testing.T) {
	examples := docExamples(t, readDoc(t))
	if len(examples) < 2 || examples[0].kind != Event || examples[1].body != examples[0].body {
		t.Fatal("MQTT.md §12.1 and §12.2 must be the same event, first in the document")
	}
	e := punchEvent(t)
	first, err := e.Payload(envelope.JSON)
	if err != nil {
		t.Fatal(err)
	}
	var doc, rendered any
	if err := json.Unmarshal([]byte(examples[0].body), &doc); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(first, &rendered); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(doc, rendered) {
		t.Errorf("MQTT.md §12.1 is not what the gateway renders:\n%s", first)
	}
	for _, f := range []envelope.Format{envelope.JSON, envelope.CBOR} {
		want, err := e.Payload(f)
		if err != nil {
			t.Fatal(err)
		}
		stored, err := (&envelope.Outbound{Event: e}).Encode()
		if err != nil {
			t.Fatal(err)
		}
		back, err := envelope.DecodeOutbound(stored)
		if err != nil {
			t.Fatal(err)
		}
		topic, again, err := back.Message(envelope.Topics{Root: "officegate", Gateway: "hq-3f"}, f)
		if err != nil {
			t.Fatal(err)
		}
		if string(again) != string(want) {
			t.Errorf("%v: a replay from the journal renders different bytes:\n%q\n%q", f, want, again)
		}
		if topic != "officegate/hq-3f/devices/term-lobby-1/events/attendance.punch" {
			t.Errorf("topic %s", topic)
		}
	}
}
