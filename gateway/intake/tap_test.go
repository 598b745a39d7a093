package intake

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/journal"
)

// TestTap: the tap sees each durable event of every path (a link batch, a
// driver's event, a gateway note) in its journal form, never a mark; a
// console.audit note goes to the control stream.
func TestTap(t *testing.T) {
	dir := t.TempDir()
	j, err := journal.Open(filepath.Join(dir, "journal"), &journal.Options{Streams: streams(), SyncWindow: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var types []string
	in, err := New(j, dir, Options{Gateway: "gw-1", Tap: func(bodies [][]byte) {
		for _, b := range bodies {
			o, err := envelope.DecodeOutbound(b)
			if err != nil || o.Event == nil {
				t.Errorf("tapped a body that is no event: %v", err)
				continue
			}
			types = append(types, o.Event.Device+" "+o.Event.Type)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	commitPunches(t, in, "HW-1", 1, 1, 2)
	if err := in.Emit(context.Background(), devices.Event{Device: "r1", Type: "credential.read", Time: time.Now(), Clock: devices.ClockSynced, Data: map[string]any{"card_hash": "ab"}}); err != nil {
		t.Fatal(err)
	}
	if err := in.Note(context.Background(), "console", "console.audit", map[string]any{"action": "login", "outcome": "ok"}); err != nil {
		t.Fatal(err)
	}
	want := []string{"t attendance.punch", "t attendance.punch", "r1 credential.read", "console console.audit"}
	if len(types) != len(want) {
		t.Fatalf("tapped %q, want %q", types, want)
	}
	for i := range want {
		if types[i] != want[i] {
			t.Fatalf("tapped %q, want %q", types, want)
		}
	}
	if StreamFor("console.audit") != StreamControl {
		t.Fatalf("console.audit in %s", StreamFor("console.audit"))
	}
}
