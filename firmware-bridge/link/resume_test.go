package link_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/officegate/officegate/devices/serialport"
	"github.com/officegate/officegate/firmware-bridge/fwemu"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/link/linktest"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/internal/testkit"
)

// waitEvents waits until the journal holds at least n distinct events.
func waitEvents(t *testing.T, ctx context.Context, j *linktest.Journal, n int) {
	t.Helper()
	seen := map[msg.EventID]bool{}
	i := 0
	distinct := func(r []link.Record) bool {
		for ; i < len(r); i++ {
			if r[i].Kind == link.RecordEvent {
				seen[r[i].Event.ID] = true
			}
		}
		return len(seen) >= n
	}
	if err := j.WaitFor(ctx, distinct); err != nil {
		t.Fatalf("waiting for %d events: %v", n, err)
	}
}

// sender sends commands in the background and records each outcome.
type sender struct {
	mu   sync.Mutex
	res  map[string]msg.Result
	wg   sync.WaitGroup
	errs []error
}

func sendAll(ctx context.Context, g *link.Gateway, cmds []msg.Command) *sender {
	s := &sender{res: map[string]msg.Result{}}
	for w := 0; w < 3; w++ {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for i := w; i < len(cmds); i += 3 {
				r, err := g.Send(ctx, cmds[i])
				s.mu.Lock()
				if err != nil {
					s.errs = append(s.errs, err)
				} else {
					s.res[cmds[i].ID] = r
				}
				s.mu.Unlock()
			}
		}()
	}
	return s
}

// TestUnplugResume pulls the cable five times mid-stream (the device end of
// the PTY closes, the gateway's serial port sees the hang-up) and plugs a
// new one in: the session resumes each time, and nothing is lost,
// duplicated or reordered, with commands in flight both ways.
func TestUnplugResume(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 40*time.Second)
	j := new(linktest.Journal)
	g := newGateway(t, j, nil)
	e := newEmu(t, emuOpts(t, t.TempDir()))
	var cmds []msg.Command
	for i := 0; i < 300; i++ {
		cmds = append(cmds, ping(i))
	}
	snd := sendAll(ctx, g, cmds)
	var want []msg.EventID
	for round := 0; round < 6; round++ {
		ids, err := e.EmitN(500)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, ids...)
		l := newLine(t)
		port := openGateway(t, l)
		stopG, gdone := run(t, func(ctx context.Context) error { return g.Run(ctx, port) })
		stopE, edone := run(t, func(ctx context.Context) error { return e.Run(ctx, l.dev) })
		if round == 5 {
			waitEvents(t, ctx, j, len(want))
			snd.wg.Wait()
			stopG()
			stopE()
			break
		}
		waitEvents(t, ctx, j, len(want)-250) // mid-stream
		l.dev.Close()                        // unplug
		if err := <-gdone; !errors.Is(err, serialport.ErrUnplugged) {
			t.Errorf("round %d: gateway Run: %v, want unplugged", round, err)
		}
		if err := <-edone; err == nil {
			t.Errorf("round %d: device Run returned nil after unplug", round)
		}
		stopG()
		stopE()
	}
	checkEvents(t, j.Events(), want)
	if len(snd.errs) > 0 || len(snd.res) != len(cmds) {
		t.Fatalf("%d results, errors %v", len(snd.res), snd.errs)
	}
	for _, c := range cmds {
		if r := snd.res[c.ID]; r.Status != msg.StatusOK {
			t.Fatalf("%s: %+v", c.ID, r)
		}
	}
	if n := len(j.Results()); n != len(cmds) {
		t.Fatalf("%d results committed, want %d", n, len(cmds))
	}
	st := g.Stats()
	if st.Sessions != 1 || st.Resumes < 5 {
		t.Fatalf("sessions %d, resumes %d: want one session resumed at every plug", st.Sessions, st.Resumes)
	}
}

// TestDeviceRestart kills the emulated firmware mid-stream five times (its
// goroutines stop, its object is dropped without Close, so deletions of
// acknowledged records are not in its state file) and boots it again from
// the state file: new boot id, new session, the WELCOME high-water mark
// drops what the gateway has, the rest is sent once, in order. Commands
// the device had without answering are answered by the gateway, once.
func TestDeviceRestart(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 40*time.Second)
	j := new(linktest.Journal)
	g := newGateway(t, j, nil)
	opts := emuOpts(t, t.TempDir())
	l := newLine(t)
	port := openGateway(t, l)
	run(t, func(ctx context.Context) error { return g.Run(ctx, port) })
	var cmds []msg.Command
	for i := 0; i < 300; i++ {
		cmds = append(cmds, ping(i))
	}
	snd := sendAll(ctx, g, cmds)
	var want []msg.EventID
	boots := map[uint32]bool{}
	for round := 0; round < 6; round++ {
		e := newEmu(t, opts)
		if boots[e.Boot()] {
			t.Fatalf("boot id %d reused", e.Boot())
		}
		boots[e.Boot()] = true
		ids, err := e.EmitN(500)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, ids...)
		dev := newKeepOpen(l.dev)
		stopE, _ := run(t, func(ctx context.Context) error { return e.Run(ctx, dev) })
		if round == 5 {
			waitEvents(t, ctx, j, len(want))
			snd.wg.Wait()
			stopE()
			break
		}
		waitEvents(t, ctx, j, len(want)-250)
		stopE() // killed: no Close
	}
	checkEvents(t, j.Events(), want)
	if len(snd.errs) > 0 || len(snd.res) != len(cmds) {
		t.Fatalf("%d results, errors %v", len(snd.res), snd.errs)
	}
	unknown := 0
	for _, c := range cmds {
		switch r := snd.res[c.ID]; {
		case r.Status == msg.StatusOK:
		case r.Status == msg.StatusError && r.Error == "device restarted, outcome unknown":
			unknown++
		default:
			t.Fatalf("%s: %+v", c.ID, r)
		}
	}
	if n := len(j.Results()); n != len(cmds) {
		t.Fatalf("%d results committed, want %d", n, len(cmds))
	}
	t.Logf("%d boots, %d commands with unknown outcome, gateway %d sessions", len(boots), unknown, g.Stats().Sessions)
}

// keepOpen is the device end of a line that stays open when the device
// restarts, as a UART does: Close only wakes a blocked Read (a read
// deadline on the pollable PTY master), and the next keepOpen clears it.
type keepOpen struct{ f *os.File }

func newKeepOpen(f *os.File) *keepOpen {
	f.SetReadDeadline(time.Time{})
	return &keepOpen{f}
}

func (k *keepOpen) Read(b []byte) (int, error)  { return k.f.Read(b) }
func (k *keepOpen) Write(b []byte) (int, error) { return k.f.Write(b) }
func (k *keepOpen) Close() error                { return k.f.SetReadDeadline(time.Now()) }

// TestGatewayRestart stops the gateway mid-stream and starts a fresh one
// (new session id, high-water mark from the Store) on the same port, five
// times. With an exact mark the journal holds every event once; with a
// mark that lags (persisted lazily) it holds some twice, with the same
// ids, and deduplicating by id leaves every event once, in order. Commands
// are re-sent by id after each restart, as the gateway's router does; the
// device executes each once.
func TestGatewayRestart(t *testing.T) {
	for _, lag := range []uint32{0, 40} {
		t.Run(fmt.Sprintf("lag=%d", lag), func(t *testing.T) { testGatewayRestart(t, lag) })
	}
}

func testGatewayRestart(t *testing.T, lag uint32) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 40*time.Second)
	j := &linktest.Journal{Lag: lag}
	var mu sync.Mutex
	executed := map[string]int{}
	opts := emuOpts(t, t.TempDir())
	opts.Commands = map[string]fwemu.CommandFunc{"count": func(ctx context.Context, args map[string]any) (map[string]any, error) {
		mu.Lock()
		defer mu.Unlock()
		executed[args["id"].(string)]++
		return nil, nil
	}}
	e := newEmu(t, opts)
	l := newLine(t)
	run(t, func(ctx context.Context) error { return e.Run(ctx, l.dev) })
	var cmds []msg.Command
	for i := 0; i < 200; i++ {
		id := fmt.Sprintf("count-%04d", i)
		cmds = append(cmds, msg.Command{ID: id, Name: "count", Args: map[string]any{"id": id}})
	}
	var want []msg.EventID
	answered := map[string]msg.Result{}
	for round := 0; round < 6; round++ {
		g := newGateway(t, j, nil)
		port := openGateway(t, l)
		stopG, _ := run(t, func(ctx context.Context) error { return g.Run(ctx, port) })
		gctx, cancelSends := context.WithCancel(ctx)
		var todo []msg.Command
		for _, c := range cmds {
			if _, ok := answered[c.ID]; !ok {
				todo = append(todo, c)
			}
		}
		snd := sendAll(gctx, g, todo)
		ids, err := e.EmitN(500)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, ids...)
		if round == 5 {
			waitEvents(t, ctx, j, len(want))
			snd.wg.Wait()
		} else {
			waitEvents(t, ctx, j, len(want)-250)
		}
		cancelSends()
		snd.wg.Wait()
		for id, r := range snd.res {
			answered[id] = r
		}
		stopG()
		port.Close()
	}
	got := j.Events()
	if lag == 0 {
		checkEvents(t, got, want)
	} else {
		var dedup []msg.Event
		seen := map[msg.EventID]bool{}
		for _, ev := range got {
			if !seen[ev.ID] {
				seen[ev.ID] = true
				dedup = append(dedup, ev)
			}
		}
		if len(dedup) != len(want) {
			have := map[msg.EventID]bool{}
			for _, ev := range dedup {
				have[ev.ID] = true
			}
			var missing []msg.EventID
			for _, id := range want {
				if !have[id] {
					missing = append(missing, id)
				}
			}
			t.Logf("missing %v", missing)
		}
		checkEvents(t, dedup, want)
		t.Logf("lagging mark: %d events committed for %d distinct", len(got), len(dedup))
	}
	if len(answered) != len(cmds) {
		t.Fatalf("%d of %d commands answered", len(answered), len(cmds))
	}
	for _, c := range cmds {
		if r := answered[c.ID]; r.Status != msg.StatusOK {
			t.Fatalf("%s: %+v", c.ID, r)
		}
		if n := executed[c.ID]; n != 1 {
			t.Fatalf("%s executed %d times", c.ID, n)
		}
	}
}

// TestSendCancelledSendsNothing: a Send whose context has already ended
// returns its error and sends nothing. It once queued the command first and
// looked at the context after, so the gateway could send a command whose
// caller had been told it was cancelled; a retry of it after more than 32
// other commands (the device's table, PROTOCOL.md §9.2) ran it twice.
func TestSendCancelledSendsNothing(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 20*time.Second)
	var mu sync.Mutex
	var executed []string
	opts := emuOpts(t, t.TempDir())
	opts.Commands = map[string]fwemu.CommandFunc{"count": func(ctx context.Context, args map[string]any) (map[string]any, error) {
		mu.Lock()
		defer mu.Unlock()
		executed = append(executed, args["id"].(string))
		return nil, nil
	}}
	e := newEmu(t, opts)
	l := newLine(t)
	run(t, func(ctx context.Context) error { return e.Run(ctx, l.dev) })
	g := newGateway(t, &linktest.Journal{}, nil)
	port := openGateway(t, l)
	run(t, func(ctx context.Context) error { return g.Run(ctx, port) })
	count := func(id string) msg.Command {
		return msg.Command{ID: id, Name: "count", Args: map[string]any{"id": id}}
	}
	if r, err := g.Send(ctx, count("first")); err != nil || r.Status != msg.StatusOK {
		t.Fatalf("first: %+v, %v", r, err)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	for i := range 500 {
		if _, err := g.Send(done, count(fmt.Sprintf("cancelled-%03d", i))); !errors.Is(err, context.Canceled) {
			t.Fatalf("Send with a cancelled context: %v, want context.Canceled", err)
		}
	}
	// Commands go in order: once the last one is answered, the device has
	// had every frame sent before it.
	if r, err := g.Send(ctx, count("last")); err != nil || r.Status != msg.StatusOK {
		t.Fatalf("last: %+v, %v", r, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(executed, []string{"first", "last"}) {
		t.Fatalf("the device ran %v, want [first last]: commands cancelled before Send were sent", executed)
	}
}

// TestSendUnanswered: a Send whose context ends while the device runs the
// command says so (ErrUnanswered: the device may have run it), and a Send
// of the same id gets the device's result; one whose context ends while
// the command waits unsent (the device offline) takes it back, and the
// device never gets it.
func TestSendUnanswered(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 20*time.Second)
	var mu sync.Mutex
	var executed []string
	started, release := make(chan struct{}, 1), make(chan struct{})
	opts := emuOpts(t, t.TempDir())
	opts.Commands = map[string]fwemu.CommandFunc{"slow": func(ctx context.Context, args map[string]any) (map[string]any, error) {
		mu.Lock()
		executed = append(executed, args["id"].(string))
		mu.Unlock()
		started <- struct{}{}
		<-release
		return map[string]any{"done": true}, nil
	}}
	e := newEmu(t, opts)
	l := newLine(t)
	g := newGateway(t, &linktest.Journal{}, nil)
	port := openGateway(t, l)
	run(t, func(ctx context.Context) error { return g.Run(ctx, port) })
	slow := func(id string) msg.Command {
		return msg.Command{ID: id, Name: "slow", Args: map[string]any{"id": id}}
	}

	// The device is not there yet: the command waits unsent.
	wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err := g.Send(wctx, slow("never"))
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, link.ErrUnanswered) {
		t.Fatalf("Send to an absent device: %v, want the deadline and not ErrUnanswered", err)
	}
	run(t, func(ctx context.Context) error { return e.Run(ctx, l.dev) })

	sctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { _, err := g.Send(sctx, slow("door")); errc <- err }()
	select {
	case <-started:
	case <-ctx.Done():
		t.Fatal("the device never ran the command")
	}
	cancel()
	if err := <-errc; !errors.Is(err, link.ErrUnanswered) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Send cancelled while the device runs it: %v, want ErrUnanswered and context.Canceled", err)
	}
	close(release)
	r, err := g.Send(ctx, slow("door"))
	if err != nil || r.Status != msg.StatusOK || r.Data["done"] != true {
		t.Fatalf("Send of the same id: %+v, %v; want the device's ok", r, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(executed, []string{"door"}) {
		t.Fatalf("the device ran %v, want [door]", executed)
	}
}
