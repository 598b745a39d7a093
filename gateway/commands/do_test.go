package commands

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A command issued on the gateway (Do) runs as one from MQTT: executed
// once, its result journaled (published) under its id, returned to the
// caller; an MQTT repeat of that id gets the same result without a second
// execution; a refusal is journaled too; a processor that stopped refuses.
func TestDo(t *testing.T) {
	d := &doors{}
	rg := open(t, t.TempDir(), d, time.Now)
	ctx := context.Background()
	// Run sets itself up on its own goroutine: Do waits for it.
	waitFor(t, func() bool {
		_, err := rg.p.Do(ctx, Request{ID: "console-probe", Device: "door-1", Name: "time.set"}, time.Now().Add(time.Minute))
		return !errors.Is(err, ErrNotRunning)
	})
	if r := rg.results(t, 1)[0]; r.ID != "console-probe" || r.Status != "unsupported" || r.Device != "door-1" {
		t.Fatalf("the refusal's result %+v", r)
	}

	out, err := rg.p.Do(ctx, Request{ID: "console-1", Device: "door-1", Name: "door.pulse"}, time.Now().Add(time.Minute))
	if err != nil || out.Status != "ok" || d.pulses.Load() != 1 {
		t.Fatalf("Do: %+v, %v; pulses %d", out, err, d.pulses.Load())
	}
	r := rg.results(t, 1)[0]
	if r.ID != "console-1" || r.Device != "door-1" || r.Command != "door.pulse" || r.Status != "ok" || string(r.Data) == "" {
		t.Fatalf("the published result %+v", r)
	}
	rg.send("door-1", "door.pulse", `{"id":"console-1"}`) // the id again, over MQTT
	if again := rg.results(t, 1)[0]; again.ID != "console-1" || again.Status != "ok" || d.pulses.Load() != 1 {
		t.Fatalf("repeat over MQTT: %+v, pulses %d", again, d.pulses.Load())
	}
	if _, err := rg.p.Do(ctx, Request{ID: "console-1", Device: "door-1", Name: "door.pulse"}, time.Now().Add(time.Minute)); err == nil {
		t.Fatal("Do with a used id: no error")
	}
	if out, _ := rg.p.Do(ctx, Request{ID: "console-2", Device: "door-1", Name: "door.pulse"}, time.Now().Add(-time.Second)); out.Status != "expired" {
		t.Fatalf("Do expired: %+v", out)
	}
	if r := rg.results(t, 1)[0]; r.ID != "console-2" || r.Status != "expired" {
		t.Fatalf("the expired result %+v", r)
	}
	rg.noMoreResults(t)
	rg.close()
	if _, err := rg.p.Do(ctx, Request{ID: "console-3", Device: "door-1", Name: "door.pulse"}, time.Now().Add(time.Minute)); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Do after Run: %v", err)
	}
}
