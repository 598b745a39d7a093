package envelope

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestAppendDataJSON: for every golden case, the data body alone, the
// envelope appended in place and the topic are what Message publishes,
// byte for byte; a body the renderer refuses is refused here too.
func TestAppendDataJSON(t *testing.T) {
	topics := Topics{Root: "officegate", Gateway: "gw-3f"}
	for name, o := range goldenCases() {
		topic, payload, err := o.Message(topics, JSON)
		if err != nil {
			t.Fatal(err)
		}
		var env struct{ Data json.RawMessage }
		if err := json.Unmarshal(payload, &env); err != nil {
			t.Fatal(err)
		}
		var raw []byte
		if o.Event != nil {
			raw = o.Event.Data
		} else {
			raw = o.Result.Data
		}
		got, err := AppendDataJSON([]byte("prefix"), raw)
		if err != nil || !bytes.Equal(got, append([]byte("prefix"), env.Data...)) {
			t.Errorf("%s: AppendDataJSON = %s, %v; the envelope's data is %s", name, got, err, env.Data)
		}
		if got, err := o.AppendJSON([]byte("prefix")); err != nil || string(got) != "prefix"+string(payload) {
			t.Errorf("%s: AppendJSON = %s, %v; Message's payload is %s", name, got, err, payload)
		}
		if got := o.Topic(topics); got != topic {
			t.Errorf("%s: Topic = %q, Message's %q", name, got, topic)
		}
	}
	// A tag: the direct path does not take it; the decoding path refuses a
	// map key that is not text.
	for _, raw := range [][]byte{{0xa1, 0x01, 0x02}, {0xa1, 0x61, 'k'}} {
		if got, err := AppendDataJSON([]byte("p"), raw); err == nil || string(got) != "p" {
			t.Errorf("%x: AppendDataJSON = %q, %v; want an error and dst as it was", raw, got, err)
		}
	}
	// The decoding path: a body the direct path does not take (an integer
	// beyond int64) renders the same through both; one it refuses too.
	big := Outbound{Event: &Event{V: Version, ID: "x", Data: []byte{0xa1, 0x61, 'n', 0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}}
	_, want, err := big.Message(topics, JSON)
	if got, err2 := big.AppendJSON([]byte("p")); err != nil || err2 != nil || string(got) != "p"+string(want) {
		t.Errorf("a big integer: AppendJSON = %s, %v; Message = %s, %v", got, err2, want, err)
	}
	bad := Outbound{Result: &Result{ID: "r", Data: []byte{0xa1, 0x01, 0x02}}}
	if got, err := bad.AppendJSON([]byte("p")); err == nil || string(got) != "p" {
		t.Errorf("an unrenderable body: AppendJSON = %q, %v; want an error and dst as it was", got, err)
	}
	marker := &Outbound{Marker: &Marker{}}
	if got, err := marker.AppendJSON([]byte("p")); marker.Topic(topics) != "" || string(got) != "p" || err != nil {
		t.Errorf("a marker has a topic or a payload: %q %v", got, err)
	}
}
