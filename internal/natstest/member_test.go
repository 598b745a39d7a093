package natstest

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TestStartRestartsRaftSilentNode: a node whose raft messages never reach
// the others (member.go: nats-server 2.10's start-up race; here a route
// permission that keeps n2 from sending any $NRG subject, the raft layer's)
// is a healthy follower the meta leader never counts, and every stream
// with replicas 3 fails "no suitable peers for placement". Start restarts
// it, without the fault, and the cluster places streams of replicas 3.
func TestStartRestartsRaftSilentNode(t *testing.T) {
	faultConf = func(name, conf string) string {
		if name != "n2" {
			return ""
		}
		return strings.Replace(conf, "cluster {\n", "cluster {\n  permissions: { export: { deny: [\"$NRG.>\"] } }\n", 1)
	}
	t.Cleanup(func() { faultConf = nil })
	c := Start(t)
	log, err := os.ReadFile(strings.TrimSuffix(c.Nodes[1].conf, ".conf") + ".log")
	if err != nil {
		t.Fatal(err)
	}
	// At least twice: with the fault, then without. The fault-free nodes,
	// or n2 again, may hit the real race this models and be restarted too.
	if n := strings.Count(string(log), "Starting nats-server"); n < 2 {
		t.Errorf("n2 started %d times, want at least 2: with the fault, then without", n)
	}
	placesReplicas3(t, c)
}

// TestStartRestartsTwoRaftSilentNodes: with two nodes raft-silent (as in
// TestStartRestartsRaftSilentNode) the third has no quorum and no meta
// leader is elected; Start restarts the two.
func TestStartRestartsTwoRaftSilentNodes(t *testing.T) {
	faultConf = func(name, conf string) string {
		if name == "n1" {
			return ""
		}
		return strings.Replace(conf, "cluster {\n", "cluster {\n  permissions: { export: { deny: [\"$NRG.>\"] } }\n", 1)
	}
	t.Cleanup(func() { faultConf = nil })
	c := Start(t)
	for _, s := range c.Nodes {
		log, err := os.ReadFile(strings.TrimSuffix(s.conf, ".conf") + ".log")
		if err != nil {
			t.Fatal(err)
		}
		// n2 and n3 at least twice: with the fault, then without. Any node
		// may hit the real race this models and be restarted once more, so
		// n1's count is only logged.
		n := strings.Count(string(log), "Starting nats-server")
		t.Logf("%s started %d times", s.Name, n)
		if s.Name != "n1" && n < 2 {
			t.Errorf("%s started %d times, want at least 2: with the fault, then without", s.Name, n)
		}
	}
	placesReplicas3(t, c)
}

// placesReplicas3 fails t unless the cluster places a stream of replicas 3,
// which needs every node counted in the meta group.
func placesReplicas3(t *testing.T, c *Cluster) {
	t.Helper()
	js := c.Nodes[0].JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "R3", Subjects: []string{"r3.>"}, Replicas: 3, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatalf("stream of replicas 3: %v", err)
	}
}
