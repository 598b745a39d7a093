package main

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// TestZKPushSmoke runs the zkpush command's own path with two terminals, a
// few punches each, in Realtime and backlog shapes, and the link terminals
// as the peer: the gateway child (this test binary, through TestMain) must
// report every punch, checked once, in order, under its id in its journal
// (runZKPush fails otherwise), every run must carry its ratios, and the
// output must parse. It asserts no timing.
func TestZKPushSmoke(t *testing.T) {
	cfg := zkpushConfig{Fleets: []int{2}, Batches: []int{1, 7}, Punches: 50, SyncWindow: 10 * time.Millisecond, Dir: diskTempDir(t)}
	r, err := runZKPush(t.Context(), cfg, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back zkpushResult
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("result does not round-trip through JSON: %v\n%s", err, b)
	}
	t.Logf("%s", b)
	if len(back.Runs) != 2 || len(back.Link) != 1 {
		t.Fatalf("%d runs and %d link runs, want 2 and 1: %s", len(back.Runs), len(back.Link), b)
	}
	for _, run := range back.Runs {
		if run.Terminals != 2 || run.Punches != 100 {
			t.Errorf("%d terminals, %d punches; want 2 and 100", run.Terminals, run.Punches)
		}
		if run.PunchesPerS <= 0 || run.CPUUsPerPunch < 0 || run.Commits == 0 || run.VsLinkPunchesPerS <= 0 || run.VsRealTerminal <= 0 {
			t.Errorf("figures missing: %+v", run)
		}
	}
	// Realtime: a POST per punch; a backlog of 50 in 7s: 8 POSTs a terminal.
	if u := back.Runs[0].Uploads; u != 100 {
		t.Errorf("batch 1: %d uploads, want 100", u)
	}
	if u := back.Runs[1].Uploads; u != 16 {
		t.Errorf("batch 7: %d uploads, want 16", u)
	}
	var out bytes.Buffer
	printZKPush(&out, back)
	if !bytes.Contains(out.Bytes(), []byte("× link punches/s")) || !bytes.Contains(out.Bytes(), []byte("the peer, in this run")) {
		t.Errorf("table without its header or its peer:\n%s", out.String())
	}
}

func TestZKPushConfigRefused(t *testing.T) {
	good := zkpushConfig{Fleets: []int{1, 32}, Batches: []int{1, 100}, Punches: 500, SyncWindow: 10 * time.Millisecond}
	if err := good.validate(); err != nil {
		t.Fatalf("defaults refused: %v", err)
	}
	for _, bad := range []func(*zkpushConfig){
		func(c *zkpushConfig) { c.Fleets = []int{0} },
		func(c *zkpushConfig) { c.Batches = []int{0} },
		func(c *zkpushConfig) { c.Punches = maxPunches + 1 },
		func(c *zkpushConfig) { c.SyncWindow = 0 },
		func(c *zkpushConfig) { c.Child = true },
	} {
		c := good
		bad(&c)
		if err := c.validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
