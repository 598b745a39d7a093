package webhook_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/gateway/sinks/sinkstest"
	"github.com/officegate/officegate/gateway/sinks/webhook"
)

// bodyTopics has what a JSON string escapes in its root.
var bodyTopics = envelope.Topics{Root: "a<b>&\"c\"\\é", Gateway: "gw1"}

// A request's body is the same bytes whether its envelopes are rendered
// from their journal records into it or were rendered before (the JSON
// payload the runner gives other sinks, as the sink had it before): for
// events, results, an event with a clear card number (removed either way)
// and a topic that JSON escapes. An event with no record is still checked
// to be JSON.
func TestBodyFromRecord(t *testing.T) {
	var outs []envelope.Outbound
	for i := range 3 {
		outs = append(outs, sinkstest.Outbound("t1", i))
	}
	card := sinkstest.Outbound("t2", 0)
	data, err := envelope.EncodeData(map[string]any{"person": "7", "card": "12:4660", "card_hash": "ab", "note": "<&>"})
	if err != nil {
		t.Fatal(err)
	}
	card.Event.Data = data
	outs = append(outs, card)
	res, err := envelope.EncodeData(map[string]any{"applied": 3})
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, envelope.Outbound{Result: &envelope.Result{V: 1, ID: "cmd-1", Gateway: "gw1", Device: "t1",
		Command: "user.upsert", Status: envelope.StatusOK, Data: res}},
		envelope.Outbound{Result: &envelope.Result{V: 1, ID: "cmd-2", Gateway: "gw1", Command: "device.approve",
			Status: envelope.StatusError, Error: "no such unit"}})
	var fromRecord, fromPayload []sinks.Event
	for _, o := range outs {
		o := o
		topic, payload, err := o.Message(bodyTopics, envelope.JSON)
		if err != nil {
			t.Fatal(err)
		}
		ev := sinks.Event{ID: "x", Topic: topic, Record: &o}
		fromRecord = append(fromRecord, ev)
		ev.Record, ev.Payload = nil, payload
		fromPayload = append(fromPayload, ev)
	}
	got, err := webhook.Body(fromRecord)
	if err != nil {
		t.Fatal(err)
	}
	want, err := webhook.Body(fromPayload)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("body from records:\n%s\nfrom payloads:\n%s", got, want)
	}
	var body struct {
		Events []struct {
			Topic   string
			Message map[string]any
		}
	}
	if err := json.Unmarshal(got, &body); err != nil || len(body.Events) != len(outs) {
		t.Fatalf("%d events, %v", len(body.Events), err)
	}
	for i, e := range body.Events {
		if e.Topic != fromPayload[i].Topic {
			t.Errorf("event %d: topic %q, want %q", i, e.Topic, fromPayload[i].Topic)
		}
		if d, _ := e.Message["data"].(map[string]any); d["card"] != nil {
			t.Errorf("event %d: a clear card number sent: %v", i, d)
		}
	}
	if bytes.Contains(got, []byte("12:4660")) {
		t.Fatal("a clear card number in the body")
	}
	if _, err := webhook.Body([]sinks.Event{{ID: "bad", Topic: "t", Payload: []byte(`{"v":1,`)}}); err == nil {
		t.Fatal("an envelope that is not JSON was sent")
	}
}

// BenchmarkBody: a request's body for 100 punches rendered from their
// records, as the runner hands them over.
func BenchmarkBody(b *testing.B) {
	evs := make([]sinks.Event, 100)
	for i := range evs {
		o := sinkstest.Outbound("t-01", i)
		evs[i] = sinks.Event{ID: o.Event.ID, Topic: o.Topic(sinkstest.Topics), Record: &o}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := webhook.Body(evs); err != nil {
			b.Fatal(err)
		}
	}
}
