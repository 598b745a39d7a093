package daemon

import (
	"context"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// goroutineBlocks is the goroutine profile (debug=1): one block per set of
// goroutines with the same stack and labels.
func goroutineBlocks(t *testing.T) []string {
	t.Helper()
	var b strings.Builder
	if err := pprof.Lookup("goroutine").WriteTo(&b, 1); err != nil {
		t.Fatal(err)
	}
	return strings.Split(b.String(), "\n\n")
}

// labelOf returns the labels line of the block whose stack holds fn.
func labelOf(blocks []string, fn string) (string, bool) {
	for _, b := range blocks {
		if !strings.Contains(b, fn) {
			continue
		}
		for line := range strings.Lines(b) {
			if l, ok := strings.CutPrefix(line, "# labels: "); ok {
				return strings.TrimSpace(l), true
			}
		}
		return "", true
	}
	return "", false
}

func waitInGroup(ctx context.Context)       { <-ctx.Done() }
func waitStartedByStart(stop chan struct{}) { <-stop }
func waitStartedLater(ctx context.Context)  { <-ctx.Done() }

// Every goroutine of a stage carries the label stage=<its name> for the CPU
// profiler: those its group runs (also when Go is called later from a
// goroutine without labels) and those its start starts itself; the
// goroutine that runs the stages does not keep it.
func TestStageLabels(t *testing.T) {
	r := newRunner(zerolog.Nop(), nil)
	stop := make(chan struct{})
	var grp *group
	err := r.start(context.Background(), stage{name: "alpha", start: func(ctx context.Context, g *group) error {
		grp = g
		g.Go(waitInGroup)
		go waitStartedByStart(stop)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { close(stop); r.stopAll() }()
	later := make(chan struct{})
	go func() { grp.Go(waitStartedLater); close(later) }()
	<-later
	// The goroutines may not have reached their functions yet: wait for it.
	want := `{"stage":"alpha"}`
	for _, fn := range []string{"daemon.waitInGroup", "daemon.waitStartedByStart", "daemon.waitStartedLater"} {
		var got string
		for found := false; !found; runtime.Gosched() {
			got, found = labelOf(goroutineBlocks(t), fn)
		}
		if got != want {
			t.Errorf("%s runs with labels %q, want %s", fn, got, want)
		}
	}
	if got, _ := labelOf(goroutineBlocks(t), "daemon.TestStageLabels("); got != "" {
		t.Errorf("the goroutine that started the stage kept labels %q", got)
	}
}
