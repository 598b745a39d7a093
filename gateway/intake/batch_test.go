package intake

import (
	"context"
	"testing"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/zkteco"
	"github.com/officegate/officegate/gateway/envelope"
)

// TestEmitBatch: a batch is journaled whole and in order, under the keyed
// ids; a batch holding one refused event journals nothing.
func TestEmitBatch(t *testing.T) {
	j, in := openIntake(t)
	ev := func(pin string) devices.Event {
		return devices.Event{Device: "zk-1", Type: "attendance.punch", Time: time.Unix(1764000000, 0), Clock: devices.ClockSynced,
			Data: map[string]any{"person": pin}, Source: zkteco.PunchKey("CQZ1", pin, "2026-01-05 08:00:00", 0, 1)}
	}
	bad := ev("x")
	bad.Type = "Bad Type"
	if err := in.EmitBatch(context.Background(), []devices.Event{ev("0"), bad}); err == nil {
		t.Fatal("a batch with a refused event was taken")
	}
	batch := []devices.Event{ev("1"), ev("2"), ev("3")}
	if err := in.EmitBatch(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	got := readEvents(t, j, StreamRecords, 3)
	for i, e := range got {
		want := envelope.KeyID("CQZ1", batch[i].Source.Key)
		if e.ID != want {
			t.Errorf("event %d: id %s, want %s (the first journaled event must be the batch's first)", i, e.ID, want)
		}
	}
}
