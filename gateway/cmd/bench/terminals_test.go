package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/intake"
	"github.com/officegate/officegate/gateway/journal"
)

// TestTerminalsSmoke runs the terminals command's own path with two
// terminals and a few punches each: the gateway child (this test binary,
// through TestMain) must report every punch, checked once and in order in
// its journal (runTerminals fails otherwise), and the output must parse. It
// asserts no timing.
func TestTerminalsSmoke(t *testing.T) {
	cfg := terminalsConfig{Fleets: []int{2}, Punches: 50, Batch: 7, SyncWindow: 10 * time.Millisecond, Dir: diskTempDir(t)}
	r, err := runTerminals(t.Context(), cfg, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back terminalsResult
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("result does not round-trip through JSON: %v\n%s", err, b)
	}
	t.Logf("%s", b)
	if len(back.Runs) != 1 {
		t.Fatalf("%d runs, want 1: %s", len(back.Runs), b)
	}
	run := back.Runs[0]
	if run.Terminals != 2 || run.Punches != 100 {
		t.Errorf("%d terminals, %d punches; want 2 and 100", run.Terminals, run.Punches)
	}
	if run.PunchesPerS <= 0 || run.PerTerminalPerS <= 0 || run.RSSMB <= 0 || run.Commits == 0 || run.Fsyncs == 0 {
		t.Errorf("figures missing: %+v", run)
	}
	if back.WireBytesPerPunch < 40 || back.WireBytesPerPunch > 120 {
		t.Errorf("a punch is %.1f bytes on the wire: the frame encoding is not what it was", back.WireBytesPerPunch)
	}
	var out bytes.Buffer
	printTerminals(&out, back)
	if !bytes.Contains(out.Bytes(), []byte("punches/s")) {
		t.Errorf("table without its header:\n%s", out.String())
	}
}

func TestTerminalsConfigRefused(t *testing.T) {
	good := terminalsConfig{Fleets: []int{1, 16}, Punches: 2000, Batch: 50, SyncWindow: 10 * time.Millisecond}
	if err := good.validate(); err != nil {
		t.Fatalf("defaults refused: %v", err)
	}
	for _, bad := range []func(*terminalsConfig){
		func(c *terminalsConfig) { c.Fleets = []int{0} },
		func(c *terminalsConfig) { c.Punches = maxPunches + 1 },
		func(c *terminalsConfig) { c.Batch = 0 },
		func(c *terminalsConfig) { c.Batch = c.Punches + 1 },
		func(c *terminalsConfig) { c.SyncWindow = 0 },
		func(c *terminalsConfig) { c.Child = true },
	} {
		c := good
		c.Fleets = append([]int(nil), good.Fleets...)
		bad(&c)
		if err := c.validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

// TestCheckJournalFails feeds checkJournal journals with a punch lost,
// repeated, swapped or for the wrong person: each must fail.
func TestCheckJournalFails(t *testing.T) {
	ports := []*terminalPort{{id: "term-00", boot: 3}, {id: "term-01", boot: 5}}
	punch := func(dev int, seq uint64, user string) []byte {
		data, err := envelope.EncodeData(map[string]any{"person": user})
		if err != nil {
			t.Fatal(err)
		}
		b, err := (&envelope.Outbound{Event: &envelope.Event{V: envelope.Version, ID: fmt.Sprint(dev, seq), Type: "attendance.punch",
			Device: ports[dev].id, Boot: ports[dev].boot, Seq: seq, Data: data}}).Encode()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	const p = 3
	for name, order := range map[string][][2]uint64{
		"complete": {{0, 1}, {1, 1}, {0, 2}, {1, 2}, {1, 3}, {0, 3}},
		"lost":     {{0, 1}, {1, 1}, {0, 2}, {1, 2}, {1, 3}},
		"repeated": {{0, 1}, {1, 1}, {0, 2}, {1, 2}, {1, 3}, {0, 3}, {0, 3}},
		"swapped":  {{0, 1}, {1, 1}, {0, 3}, {1, 2}, {1, 3}, {0, 2}},
		"person":   {{0, 1}, {1, 1}, {0, 2}, {1, 2}, {1, 3}, {0, 3}, {9, 9}},
	} {
		t.Run(name, func(t *testing.T) {
			j, err := journal.Open(t.TempDir(), &journal.Options{Streams: intake.Streams()})
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			var bodies [][]byte
			for _, o := range order {
				if o[0] == 9 { // term-00's punch 1 again, for someone else
					bodies[0] = punch(0, 1, "99999")
					continue
				}
				bodies = append(bodies, punch(int(o[0]), o[1], userOf(int(o[0]), o[1])))
			}
			if _, err := j.AppendBatch(t.Context(), intake.StreamRecords, bodies); err != nil {
				t.Fatal(err)
			}
			err = checkJournal(t.Context(), j, ports, p)
			if name == "complete" && err != nil {
				t.Errorf("complete journal refused: %v", err)
			}
			if name != "complete" && err == nil {
				t.Error("accepted")
			}
			t.Log(err)
		})
	}
}
