package link_test

import (
	"context"
	"testing"
	"time"

	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/link/linktest"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/internal/testkit"
)

// TestRecordsCarryDeviceKind: the kind a device declares in its HELLO
// travels with every record the link commits, events and results alike, so
// the store names events without a side channel from the directory.
func TestRecordsCarryDeviceKind(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 40*time.Second)
	j := new(linktest.Journal)
	g := newGateway(t, j, nil)
	o := emuOpts(t, t.TempDir())
	o.Kind = msg.KindRoomPanel
	e := newEmu(t, o)
	l := newLine(t)
	port := openGateway(t, l)
	run(t, func(ctx context.Context) error { return g.Run(ctx, port) })
	run(t, func(ctx context.Context) error { return e.Run(ctx, l.dev) })

	if _, err := e.EmitN(3); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Send(ctx, ping(1)); err != nil {
		t.Fatal(err)
	}
	if err := j.WaitFor(ctx, func(r []link.Record) bool { return linktest.CountEvents(r) >= 3 && len(j.Results()) >= 1 }); err != nil {
		t.Fatal(err)
	}
	for _, r := range j.Records() {
		if r.DeviceKind != msg.KindRoomPanel {
			t.Errorf("record %d of %q: DeviceKind %v, want %v", r.Kind, r.HardwareID, r.DeviceKind, msg.KindRoomPanel)
		}
	}
}
