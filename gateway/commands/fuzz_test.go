package commands

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/uplink"
)

// fuzzRouter takes door.pulse on door-1 and devices.list on the gateway, and
// records every execution.
type fuzzRouter struct {
	mu  sync.Mutex
	ran map[string]int // executions by command id
}

func (r *fuzzRouter) Check(dev, name string) error {
	switch {
	case dev == "" && name == "devices.list", dev == "door-1" && name == "door.pulse":
		return nil
	case dev == "" || dev == "door-1":
		return ErrUnsupported
	}
	return ErrUnknownDevice
}

func (r *fuzzRouter) Execute(_ context.Context, req Request) Outcome {
	if r.Check(req.Device, req.Name) != nil {
		panic("executed a command Check refuses: " + req.Device + " " + req.Name)
	}
	r.mu.Lock()
	r.ran[req.ID]++
	r.mu.Unlock()
	return Outcome{Status: envelope.StatusOK, Data: map[string]any{"n": 1}}
}

func (r *fuzzRouter) runs(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ran[id]
}

// FuzzCommandPath drives the whole command path, from an MQTT message (topic,
// payload, retain flag) as the uplink hands it on to the result in the
// journal: every input gets exactly one result, under the id it carried, or
// one counted refusal, never both and never neither; nothing panics; a
// command is executed only if it is valid, live (not retained), for a device
// and name the router takes, and its id was never seen before.
func FuzzCommandPath(f *testing.F) {
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC) // the processor's clock: expiry is decided alike
	clock := func() time.Time { return now }
	exp := now.Add(time.Hour).Format(time.RFC3339)
	for _, s := range []struct {
		topic, payload string
		retained       bool
	}{
		{"officegate/gw/devices/door-1/commands/door.pulse", `{"id":"c-1","expires_at":"` + exp + `","args":{"duration_ms":500}}`, false},
		{"officegate/gw/devices/door-1/commands/door.pulse", `{"id":"c-2"}`, true},
		{"officegate/gw/devices/door-1/commands/door_pulse", `{"id":"c-3"}`, false},
		{"officegate/gw/devices/door-1/commands/set_time", `{"id":"c-4","args":{"ms":1}}`, false},
		{"officegate/gw/commands/devices.list", `{"id":"c-5"}`, false},
		{"officegate/gw/commands/firmware.rollout", `{"id":"c-6","args":{"firmware":"/dev/zero"}}`, false},
		{"officegate/gw/devices/ghost/commands/door.pulse", `{"id":"c-7"}`, false},
		{"officegate/gw/devices/Door 1/commands/door.pulse", `{"id":"c-8"}`, false},
		{"officegate/gw/devices/door-1/commands/Door.Pulse", `{"id":"c-9"}`, false},
		{"officegate/gw/devices/door-1/commands/door.pulse", `{"ID":"c-10"}`, false},
		{"officegate/gw/devices/door-1/commands/door.pulse", `{"id":"c-11"}}`, false},
		{"officegate/gw/devices/door-1/commands/door.pulse", `{"id":"c-12","args":` + strings.Repeat("[", 100) + `}`, false},
		{"officegate/gw/devices/door-1/commands/door.pulse", `{"id":"` + strings.Repeat("x", 100) + `"}`, false},
		{"officegate/gw/devices/door-1/commands/door.pulse", `{"id":"c-13","expires_at":"2001-01-01T00:00:00Z"}`, false},
		{"officegate/gw/devices/door-1/commands/door.pulse", ``, true},
		{"officegate/other/devices/door-1/commands/door.pulse", `{"id":"c-14"}`, false},
	} {
		f.Add(s.topic, []byte(s.payload), s.retained)
	}
	j, err := journal.Open(f.TempDir(), &journal.Options{Streams: []journal.Stream{Stream}, SyncWindow: time.Millisecond})
	if err != nil {
		f.Fatal(err)
	}
	defer j.Close()
	rt := &fuzzRouter{ran: map[string]int{}}
	var refused atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	p, err := New(ctx, j, rt, Options{Gateway: "gw", Now: clock, OnMalformed: func() { refused.Add(1) }})
	if err != nil {
		f.Fatal(err)
	}
	// Run's loop, unrolled: dispatch is called directly so that the input
	// has been dispatched, and counted if refused, when it returns.
	answered := make(chan struct{})
	go func() { defer close(answered); p.answerer() }()
	defer func() { cancel(); p.wg.Wait(); close(p.answers); <-answered }()
	rd, err := j.Reader(Stream.Name)
	if err != nil {
		f.Fatal(err)
	}
	defer rd.Close()
	topics := envelope.Topics{Root: "officegate", Gateway: "gw"}
	seen := map[string]bool{}
	f.Fuzz(func(t *testing.T, topic string, payload []byte, retained bool) {
		msg := uplink.NewInbound(topics, topic, payload, retained)
		before := refused.Load()
		p.dispatch(ctx, msg)
		counted := refused.Load() - before
		cmd, perr := envelope.ParseCommand(payload, now)
		id := envelope.AnswerableID(payload)
		if perr == nil {
			id = cmd.ID
		}
		switch counted {
		case 1: // a counted refusal, and no result
			if id != "" && msg.Err == nil {
				t.Fatalf("refused unanswered, though id %q is readable on a valid topic", id)
			}
			return
		case 0:
		default:
			t.Fatalf("counted %d times", counted)
		}
		rctx, rcancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer rcancel()
		var res *envelope.Result
		for res == nil {
			rec, err := rd.Next(rctx)
			if err != nil {
				t.Fatalf("no result and no counted refusal for id %q: %v", id, err)
			}
			rd.Ack(rec.Seq)
			ob, err := envelope.DecodeOutbound(rec.Body)
			if err != nil {
				t.Fatal(err)
			}
			res = ob.Result
		}
		if res.ID != id {
			t.Fatalf("result for %q, want one for %q (an extra or a missing result)", res.ID, id)
		}
		if _, err := res.Payload(envelope.JSON); err != nil || res.Command == "" || (res.Status != envelope.StatusOK && res.Error == "") {
			t.Fatalf("result %+v does not render as result.json wants: %v", res, err)
		}
		valid := perr == nil && msg.Err == nil && !retained && cmd.ExpiresAt.After(now) &&
			rt.Check(msg.Device, msg.Name) == nil && !seen[id]
		runs := rt.runs(id)
		switch {
		case runs > 1:
			t.Fatalf("%q executed %d times", id, runs)
		case valid && runs != 1:
			t.Fatalf("valid command %q not executed: %+v", id, res)
		case !valid && runs == 1 && !seen[id]:
			t.Fatalf("refused command %q executed (retained %v, topic %v, parse %v)", id, retained, msg.Err, perr)
		}
		seen[id] = true
	})
}
