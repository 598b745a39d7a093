package commands

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/contract"
	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/uplink"
)

// doors is a router with one device whose "door.pulse" counts executions.
type doors struct {
	pulses atomic.Int64
	block  chan struct{} // if set, Execute waits on it
}

func (d *doors) Check(dev, name string) error {
	switch {
	case dev == "":
		return fmt.Errorf("%w: the gateway has no command %q", ErrUnsupported, name)
	case dev != "door-1":
		return fmt.Errorf("%w %q", ErrUnknownDevice, dev)
	case name != "door.pulse":
		return fmt.Errorf("%w %q", ErrUnsupported, name)
	}
	return nil
}
func (d *doors) Execute(ctx context.Context, req Request) Outcome {
	name := req.Name
	if d.block != nil {
		select {
		case <-d.block:
		case <-ctx.Done():
			return Outcome{Status: envelope.StatusError, Error: ctx.Err().Error()}
		}
	}
	if name != "door.pulse" {
		return Outcome{Status: envelope.StatusUnsupported, Error: "no such command"}
	}
	return Outcome{Status: envelope.StatusOK, Data: map[string]any{"pulses": d.pulses.Add(1)}}
}

type rig struct {
	dir    string
	j      *journal.Journal
	p      *Processor
	r      *journal.Reader
	cancel context.CancelFunc
	done   chan struct{}
	in     chan uplink.Inbound
}

func open(t *testing.T, dir string, router Router, now func() time.Time) *rig {
	t.Helper()
	j, err := journal.Open(dir, &journal.Options{
		Streams:    []journal.Stream{Stream, {Name: "attendance", Priority: journal.PriorityRecord}},
		SyncWindow: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p, err := New(ctx, j, router, Options{Gateway: "gw", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := j.Reader(Stream.Name)
	rg := &rig{dir: dir, j: j, p: p, r: r, cancel: cancel, done: make(chan struct{}), in: make(chan uplink.Inbound)}
	go func() { p.Run(ctx, rg.in); close(rg.done) }()
	t.Cleanup(rg.close)
	return rg
}

func (rg *rig) close() {
	if rg.cancel == nil {
		return
	}
	rg.cancel()
	<-rg.done
	rg.r.Close()
	rg.j.Close()
	rg.cancel = nil
}

func (rg *rig) send(dev, name, payload string) {
	rg.in <- uplink.Inbound{Device: dev, Name: name, Payload: []byte(payload),
		Topic: "officegate/gw/devices/" + dev + "/commands/" + name}
}

// results reads the published results (markers are skipped, as the uplink does).
func (rg *rig) results(t *testing.T, n int) []*envelope.Result {
	t.Helper()
	var out []*envelope.Result
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for len(out) < n {
		rec, err := rg.r.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for result %d of %d: %v", len(out)+1, n, err)
		}
		rg.r.Ack(rec.Seq)
		ob, err := envelope.DecodeOutbound(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		if ob.Result != nil {
			out = append(out, ob.Result)
		}
	}
	return out
}

func (rg *rig) noMoreResults(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	for {
		rec, err := rg.r.Next(ctx)
		if err != nil {
			return
		}
		ob, _ := envelope.DecodeOutbound(rec.Body)
		if ob != nil && ob.Result != nil {
			t.Fatalf("unexpected extra result %+v", ob.Result)
		}
	}
}

func TestExecutedOnceAnsweredAgain(t *testing.T) {
	d := &doors{}
	rg := open(t, t.TempDir(), d, time.Now)
	cmd := `{"id":"c-1","args":{"ms":3000}}`
	rg.send("door-1", "door.pulse", cmd)
	first := rg.results(t, 1)[0]
	rg.send("door-1", "door.pulse", cmd) // QoS 1 redelivery
	again := rg.results(t, 1)[0]
	if first.Status != "ok" || d.pulses.Load() != 1 {
		t.Fatalf("first %+v, pulses %d", first, d.pulses.Load())
	}
	if fmt.Sprint(first) != fmt.Sprint(again) {
		t.Fatalf("repeat got a different result:\n%+v\n%+v", first, again)
	}
	// Across a restart: the same answer, still one pulse.
	dir := rg.dir
	rg.close()
	rg = open(t, dir, d, time.Now)
	rg.send("door-1", "door.pulse", cmd)
	if r := rg.results(t, 1)[0]; fmt.Sprint(r) != fmt.Sprint(first) || d.pulses.Load() != 1 {
		t.Fatalf("after restart: %+v, pulses %d", r, d.pulses.Load())
	}
}

func TestRestartMidExecutionNeverExecutesAgain(t *testing.T) {
	d := &doors{block: make(chan struct{})}
	rg := open(t, t.TempDir(), d, time.Now)
	rg.send("door-1", "door.pulse", `{"id":"c-9"}`)
	// Wait until the marker is durable, then "crash" mid-execution.
	waitFor(t, func() bool {
		n := 0
		rg.j.Replay(context.Background(), Stream.Name, func(journal.Record) error { n++; return nil })
		return n == 1
	})
	dir := rg.dir
	rg.close() // the execution's context ends; no result is journaled
	d.block = nil
	rg = open(t, dir, d, time.Now)
	r := rg.results(t, 1)[0]
	if r.ID != "c-9" || r.Status != "error" || !strings.Contains(r.Error, "outcome unknown") {
		t.Fatalf("interrupted command answered %+v", r)
	}
	rg.send("door-1", "door.pulse", `{"id":"c-9"}`)
	if again := rg.results(t, 1)[0]; fmt.Sprint(again) != fmt.Sprint(r) || d.pulses.Load() != 0 {
		t.Fatalf("repeat after restart: %+v, pulses %d", again, d.pulses.Load())
	}
}

func TestRefusals(t *testing.T) {
	d := &doors{}
	rg := open(t, t.TempDir(), d, time.Now)
	past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	rg.send("door-1", "door.pulse", `{"id":"late","expires_at":"`+past+`"}`)
	rg.send("ghost", "door.pulse", `{"id":"who"}`)
	rg.send("door-1", "door.fly", `{"id":"fly"}`)
	rg.send("door-1", "door.pulse", `{"id":"typo","expire_at":"2030-01-01T00:00:00Z"}`)
	rg.send("door-1", "door.pulse", `{"id":"far","expires_at":"2099-01-01T00:00:00Z"}`)
	rg.send("", "reboot", `{"id":"gw-cmd"}`)
	want := map[string]string{"late": "expired", "who": "error", "fly": "unsupported", "typo": "error", "far": "error", "gw-cmd": "unsupported"}
	for _, r := range rg.results(t, len(want)) {
		if want[r.ID] != r.Status {
			t.Errorf("%s: status %s (%s), want %s", r.ID, r.Status, r.Error, want[r.ID])
		}
		delete(want, r.ID)
	}
	if d.pulses.Load() != 0 {
		t.Fatalf("refused commands executed %d times", d.pulses.Load())
	}
}

// TestTenThousandMalformed: hostile payloads and topics get an error result or
// a log line each; nothing crashes and event traffic does not stall.
func TestTenThousandMalformed(t *testing.T) {
	d := &doors{}
	rg := open(t, t.TempDir(), d, time.Now)
	var malformed atomic.Int64
	rg.p.opt.OnMalformed = func() { malformed.Add(1) }
	stop := make(chan struct{})
	var events sync.WaitGroup
	var appended atomic.Int64
	events.Add(1)
	go func() { // event traffic alongside
		defer events.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := rg.j.Append(context.Background(), "attendance", []byte("punch")); err != nil {
				t.Error(err)
				return
			}
			appended.Add(1)
		}
	}()
	rng := rand.New(rand.NewPCG(1, 2))
	valid := []byte(`{"id":"x-0","expires_at":"2030-01-01T00:00:00Z","args":{"ms":100}}`)
	withID := 0
	const n = 10000
	for i := 0; i < n; i++ {
		p := mutate(rng, valid, i)
		topicBad := i%7 == 0
		in := uplink.Inbound{Device: "door-1", Name: "door.pulse", Payload: p, Topic: "t"}
		if topicBad {
			in.Err = fmt.Errorf("envelope: %q is not a command topic", "officegate/gw/devices/+/x")
		}
		if envelope.AnswerableID(p) != "" {
			withID++
		}
		rg.in <- in
	}
	results := rg.results(t, 1) // at least one result arrives; now count all
	count := len(results)
	// Until every input is answered or logged: a log line wakes no reader,
	// so each read waits a short while and the sum is looked at again.
	deadline := time.Now().Add(60 * time.Second)
	for int(malformed.Load())+count < n && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		rec, err := rg.r.Next(ctx)
		cancel()
		if err != nil {
			continue
		}
		rg.r.Ack(rec.Seq)
		if ob, _ := envelope.DecodeOutbound(rec.Body); ob != nil && ob.Result != nil {
			count++
		}
	}
	close(stop)
	events.Wait()
	// Exactly one answer each: a result (repeats of an id included) or a log line.
	if int(malformed.Load())+count != n || malformed.Load() == 0 || count < withID {
		t.Fatalf("%d malformed (log lines) + %d results for %d inputs (%d with a usable id)", malformed.Load(), count, n, withID)
	}
	if appended.Load() == 0 {
		t.Fatal("event traffic stalled")
	}
	t.Logf("%d inputs: %d answered, %d logged; %d events appended meanwhile; door pulsed %d times", n, count, malformed.Load(), appended.Load(), d.pulses.Load())
}

// mutate makes hostile variants of a valid command: byte flips, truncations,
// huge or odd ids, wrong types, deep nesting, garbage.
func mutate(rng *rand.Rand, valid []byte, i int) []byte {
	b := append([]byte(nil), valid...)
	switch i % 9 {
	case 0:
		for k := 0; k < 1+rng.IntN(4); k++ {
			b[rng.IntN(len(b))] ^= byte(1 << rng.IntN(8))
		}
	case 1:
		b = b[:rng.IntN(len(b))]
	case 2:
		b = []byte(`{"id":"` + strings.Repeat("z", 200+rng.IntN(100)) + `"}`)
	case 3:
		b = []byte(`{"id":17,"args":[]}`)
	case 4:
		b = []byte(`{"id":"n-` + fmt.Sprint(i) + `","args":` + strings.Repeat("[", 5000) + `}`)
	case 5:
		b = make([]byte, rng.IntN(512))
		for k := range b {
			b[k] = byte(rng.Uint32())
		}
	case 6:
		b = []byte(`{"id":"s-` + fmt.Sprint(i) + `","args":"not an object"}`)
	case 7:
		b = []byte(`{"id":"u-` + fmt.Sprint(i) + `","expires_at":"tomorrow"}`)
	case 8:
		b = []byte(strings.Repeat(" ", 70<<10))
	}
	return b
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestRestartAfterDeviceAnsweredPublishesTheDevicesAnswer(t *testing.T) {
	d := &doors{block: make(chan struct{})}
	rg := open(t, t.TempDir(), d, time.Now)
	rg.send("door-1", "door.pulse", `{"id":"c-5"}`)
	waitFor(t, func() bool {
		n := 0
		rg.j.Replay(context.Background(), Stream.Name, func(journal.Record) error { n++; return nil })
		return n == 1
	})
	// The device's answer reached the journal (the intake does this when the
	// link receives a RESULT), then the gateway died before publishing it.
	data, _ := envelope.EncodeData(map[string]any{"pulses": 1})
	b, _ := (&envelope.Outbound{Marker: &envelope.Marker{Command: "c-5", Device: "door-1", Result: &envelope.Result{
		V: 1, ID: "c-5", Device: "door-1", Status: "ok", Data: data}}}).Encode()
	if _, err := rg.j.Append(context.Background(), Stream.Name, b); err != nil {
		t.Fatal(err)
	}
	dir := rg.dir
	rg.close()
	d.block = nil
	rg = open(t, dir, d, time.Now)
	r := rg.results(t, 1)[0]
	if r.ID != "c-5" || r.Status != "ok" || r.Command != "door.pulse" || r.Gateway != "gw" || d.pulses.Load() != 0 {
		t.Fatalf("after restart: %+v (pulses %d)", r, d.pulses.Load())
	}
	rg.noMoreResults(t)
}

// nilData answers every command with an error and a nil map for data, as a
// device result without data arrives.
type nilData struct{}

func (nilData) Check(dev, _ string) error {
	if dev != "door-1" {
		return ErrUnknownDevice
	}
	return nil
}
func (nilData) Execute(context.Context, Request) Outcome {
	return Outcome{Status: envelope.StatusError, Error: "jammed", Data: map[string]any(nil)}
}

// TestResultsKeepTheSchema: every result, also for a malformed topic or a
// device answering without data, is valid under result.json (no
// "command":"", no "data":null); a command whose topic names no valid
// command is counted, not answered.
func TestResultsKeepTheSchema(t *testing.T) {
	rg := open(t, t.TempDir(), nilData{}, time.Now)
	var malformed atomic.Int64
	rg.p.opt.OnMalformed = func() { malformed.Add(1) }
	rg.send("door-1", "door.pulse", `{"id":"ok-topic"}`)
	long := strings.Repeat("L", 100) // MQTT.md §6: over 64, up to 128: answered error under it
	rg.send("door-1", "door.pulse", `{"id":"`+long+`"}`)
	bad := func(topic, id string) {
		_, _, err := envelope.Topics{Root: "officegate", Gateway: "gw"}.ParseCommand(topic)
		if err == nil {
			t.Fatalf("%s parses", topic)
		}
		rg.in <- uplink.Inbound{Topic: topic, Err: err, Payload: []byte(`{"id":"` + id + `"}`)}
	}
	bad("officegate/gw/devices/Door 1/commands/door.pulse", "bad-device")
	bad("officegate/gw/devices/"+strings.Repeat("d", 5000)+"/commands/door.pulse", "long-device")
	bad("officegate/gw/devices/door-1/commands/Door.Pulse", "bad-name")
	bad("officegate/gw/commands/", "no-name")
	got := map[string]*envelope.Result{}
	for _, r := range rg.results(t, 4) {
		got[r.ID] = r
		p, err := r.Payload(envelope.JSON)
		if err != nil {
			t.Fatal(err)
		}
		if err := contract.Strict(contract.Result, p); err != nil {
			t.Errorf("result breaks result.json: %v\n%s", err, p)
		}
	}
	for _, id := range []string{"ok-topic", "bad-device", "long-device"} {
		if got[id] == nil {
			t.Errorf("no result for %s", id)
		}
	}
	if r := got[long]; r == nil || r.Status != envelope.StatusError || !strings.Contains(r.Error, "at most 64") {
		t.Errorf("a 100-character id answered %+v, want an error naming the limit", r)
	}
	if r := got["bad-device"]; r != nil && (r.Device != "" || r.Command != "door.pulse" || r.Status != envelope.StatusError) {
		t.Errorf("malformed topic answered %+v, want an error on the gateway's results for door.pulse", r)
	}
	waitFor(t, func() bool { return malformed.Load() == 2 })
	rg.noMoreResults(t)
}
