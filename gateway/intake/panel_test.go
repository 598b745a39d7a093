package intake

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/gateway/contract"
	"github.com/officegate/officegate/gateway/envelope"
)

// TestPanelEventsKeepTheContract: a meeting-room panel's events are
// published in the bodies of PROTOCOL.md §9.4, which pass the contract's
// strict schemas; a body that breaks §9.4 becomes an alarm saying so.
func TestPanelEventsKeepTheContract(t *testing.T) {
	j, in := openIntake(t)
	var recs []link.Record
	for i, e := range []struct {
		kind string
		data map[string]any
	}{
		{"button", map[string]any{"button": uint64(1), "held_ms": uint64(80)}}, // an unknown key is left out
		{"occupancy", map[string]any{"state": "occupied"}},
		{"occupancy", map[string]any{"occupied": false}}, // not §9.4
		{"button", map[string]any{"button": uint64(0)}},
	} {
		recs = append(recs, link.Record{Kind: link.RecordEvent, HardwareID: "HW-P", DeviceKind: msg.KindRoomPanel, DeviceID: "panel-1", Received: time.Now(),
			Event: &msg.Event{ID: msg.EventID{Boot: 1, Seq: uint32(i + 1)}, Kind: e.kind,
				Time: uint64(time.Now().UnixMilli()), Clock: msg.ClockSet, Data: e.data}})
	}
	if err := in.CommitBatch(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, stream := range []string{StreamTelemetry, StreamControl} {
		r, _ := j.Reader(stream)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		for {
			rec, err := r.Next(ctx)
			if err != nil {
				break
			}
			ob, _ := envelope.DecodeOutbound(rec.Body)
			p, _ := ob.Event.Payload(envelope.JSON)
			if err := contract.Strict(contract.Event, p); err != nil {
				t.Errorf("%v\n%s", err, p)
			}
			got = append(got, string(p))
		}
		cancel()
		r.Close()
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{
		`"type":"room.button"`, `"data":{"button":1}`,
		`"type":"room.occupancy"`, `"data":{"state":"occupied"}`,
		`unusable occupancy event (boot 1, seq 3): roomdrv: panel event body: room.occupancy state missing`,
		`unusable button event (boot 1, seq 4): roomdrv: panel event body: room.button button 0`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("published events lack %s:\n%s", want, all)
		}
	}
	if len(got) != 4 {
		t.Errorf("%d events published, want 4:\n%s", len(got), all)
	}
}
