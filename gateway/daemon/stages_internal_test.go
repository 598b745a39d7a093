package daemon

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/internal/testkit"
)

// TestRunnerPaths: the runner's own paths, on stages that only record what
// happens to them. A start that fails after starting goroutines has them
// stopped and waited for (its halt and close are not called: it released
// what it opened); a panic while starting, in a goroutine, or in a
// goroutine while the gateway stops is returned, never lost.
func TestRunnerPaths(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name     string
		failAt   string // stage whose start fails after starting a goroutine
		panicAt  string // stage whose start panics
		goPanic  string // stage whose goroutine panics once all started
		endPanic string // stage whose goroutine panics once stopped
		want     []string
		wantErr  string
	}{
		{name: "ok", want: []string{"start a", "start b", "start c", "halt c", "close c", "halt b", "close b", "halt a", "close a"}},
		{name: "failed start", failAt: "b", wantErr: "boom",
			want: []string{"start a", "start b", "halt a", "close a"}},
		{name: "panic while starting", panicAt: "c", wantErr: "stage c: panic while starting: at start",
			want: []string{"start a", "start b", "start c", "halt b", "close b", "halt a", "close a"}},
		{name: "panic in a goroutine", goPanic: "b", wantErr: "stage b: panic: in the goroutine",
			want: []string{"start a", "start b", "start c", "halt c", "close c", "halt b", "close b", "halt a", "close a"}},
		{name: "panic while stopping", endPanic: "a", wantErr: "stage a: panic: at the end",
			want: []string{"start a", "start b", "start c", "halt c", "close c", "halt b", "close b", "halt a", "close a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testkit.NoLeaks(t)
			var got []string               // appended by the runner's goroutine only
			running := make(chan struct{}) // closed once every stage started
			var stages []stage
			for _, name := range []string{"a", "b", "c"} {
				stages = append(stages, stage{name: name,
					start: func(ctx context.Context, g *group) error {
						got = append(got, "start "+name)
						if name == tc.panicAt {
							panic("at start")
						}
						g.Go(func(ctx context.Context) {
							if name == tc.goPanic {
								<-running
								panic("in the goroutine")
							}
							<-ctx.Done()
							if name == tc.endPanic {
								panic("at the end")
							}
						})
						if name == tc.failAt {
							return boom
						}
						return nil
					},
					halt:  func() { got = append(got, "halt "+name) },
					close: func() error { got = append(got, "close "+name); return nil },
				})
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			r := newRunner(zerolog.Nop(), nil)
			ready := func() {
				close(running)
				if tc.goPanic == "" {
					cancel() // a signal once everything runs
				}
			}
			err := r.run(ctx, stages, ready)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("run: %v, want %q", err, tc.wantErr)
			}
			if tc.failAt != "" && !errors.Is(err, boom) {
				t.Errorf("run: %v does not wrap the start's error", err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}
