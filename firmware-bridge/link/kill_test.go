package link_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/officegate/officegate/devices/serialport"
	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/internal/testkit"
)

// The child process of TestKillBetweenReadAndCommit is this test binary,
// told by these variables what to run.
const (
	killEnvPort    = "LINK_KILL_TEST_PORT"    // the PTY slave to open
	killEnvJournal = "LINK_KILL_TEST_JOURNAL" // the journal file
	killEnvStall   = "LINK_KILL_TEST_STALL"   // commits holding an event seq ≥ this never end (0: none)
	killEnvRead    = "LINK_KILL_TEST_READ"    // report once this many frames are read during the stall
)

// fileJournal is a durable Sink and Store for the child process: one line
// per event ("boot seq"), fsync'd before a commit returns, and a mark read
// back from the file. A commit holding an event at or after stall never
// ends: the fsync that a SIGKILL interrupts.
type fileJournal struct {
	stall   uint32
	stalled atomic.Bool

	mu sync.Mutex
	f  *os.File // guarded by mu
}

func (j *fileJournal) Commit(ctx context.Context, rec link.Record) error {
	if rec.Kind != link.RecordEvent {
		return nil
	}
	return j.CommitBatch(ctx, []link.Record{rec})
}

func (j *fileJournal) CommitBatch(ctx context.Context, recs []link.Record) error {
	for _, r := range recs {
		if j.stall != 0 && r.Event.ID.Seq >= j.stall {
			j.stalled.Store(true)
			<-ctx.Done()
			return ctx.Err()
		}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	var b []byte
	for _, r := range recs {
		b = fmt.Appendf(b, "%d %d\n", r.Event.ID.Boot, r.Event.ID.Seq)
	}
	if _, err := j.f.Write(b); err != nil {
		return err
	}
	return j.f.Sync()
}

func (j *fileJournal) Mark(ctx context.Context, hw string) (link.Mark, error) {
	ids, err := readEventIDs(j.f.Name())
	if err != nil || len(ids) == 0 {
		return link.Mark{}, err
	}
	last := ids[len(ids)-1]
	return link.Mark{Boot: last.Boot, HighWater: last}, nil
}

func (j *fileJournal) SaveBoot(context.Context, string, uint32) error { return nil }

func readEventIDs(path string) ([]msg.EventID, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ids []msg.EventID
	for _, line := range strings.Fields(strings.ReplaceAll(string(b), " ", ":")) {
		boot, seq, _ := strings.Cut(line, ":")
		bn, err1 := strconv.ParseUint(boot, 10, 32)
		sn, err2 := strconv.ParseUint(seq, 10, 32)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("journal line %q", line)
		}
		ids = append(ids, msg.EventID{Boot: uint32(bn), Seq: uint32(sn)})
	}
	return ids, nil
}

// killChild is the gateway process: it runs the link on the port until it
// is killed, printing "killchild: up" and, with a stall, "killchild: read"
// once the stalled commit is waiting and every frame of the burst was read.
func killChild() error {
	f, err := os.OpenFile(os.Getenv(killEnvJournal), os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	stall, _ := strconv.ParseUint(os.Getenv(killEnvStall), 10, 32)
	want, _ := strconv.ParseUint(os.Getenv(killEnvRead), 10, 64)
	j := &fileJournal{f: f, stall: uint32(stall)}
	timing := fastTiming
	timing.Heartbeat = 10 * time.Second // the test's device sends none
	g, err := link.NewGateway(link.GatewayConfig{Sink: j, Store: j, Timing: timing})
	if err != nil {
		return err
	}
	p, err := serialport.Open(serialport.Config{Name: os.Getenv(killEnvPort)})
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- g.Run(context.Background(), p) }()
	fmt.Println("killchild: up")
	if stall != 0 {
		for !j.stalled.Load() || g.Stats().FramesIn < want {
			select {
			case err := <-errc:
				return err
			case <-time.After(time.Millisecond):
			}
		}
		fmt.Println("killchild: read")
	}
	return <-errc // until killed
}

// startKillChild runs the gateway process on the line and waits for it to
// say what (up, read).
func startKillChild(t *testing.T, ctx context.Context, slave, journal string, stall, read uint32) (*exec.Cmd, func(what string)) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillBetweenReadAndCommit$")
	cmd.Env = append(os.Environ(), killEnvPort+"="+slave, killEnvJournal+"="+journal,
		killEnvStall+"="+strconv.Itoa(int(stall)), killEnvRead+"="+strconv.Itoa(int(read)))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if s, ok := strings.CutPrefix(sc.Text(), "killchild: "); ok {
				lines <- s
			}
		}
		io.Copy(io.Discard, out)
	}()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	wait := func(what string) {
		t.Helper()
		for {
			select {
			case s, ok := <-lines:
				if !ok {
					t.Fatalf("gateway process ended before saying %q", what)
				}
				if s == what {
					return
				}
			case <-ctx.Done():
				t.Fatalf("waiting for the gateway process to say %q: %v", what, ctx.Err())
			}
		}
	}
	wait("up")
	return cmd, wait
}

// TestKillBetweenReadAndCommit kills the gateway process (SIGKILL) after it
// has read a burst of events from a real PTY but before their commit ended:
// no acknowledgement it sent covered any of them, and a new gateway process
// on the same journal tells the device exactly what is durable, takes the
// rest again, and the journal ends with every event once, in order.
func TestKillBetweenReadAndCommit(t *testing.T) {
	if os.Getenv(killEnvPort) != "" {
		if err := killChild(); err != nil {
			fmt.Fprintln(os.Stderr, "killchild:", err)
			os.Exit(1)
		}
		return
	}
	if testing.Short() {
		t.Skip("runs the gateway in child processes")
	}
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 30*time.Second)
	journal := filepath.Join(t.TempDir(), "journal")
	l := newLine(t)
	d := newRawPeer(t, l.dev, true)
	event := func(seq uint32) *msg.Event {
		return &msg.Event{ID: msg.EventID{Boot: 3, Seq: seq}, Kind: "button", Time: 1}
	}
	burst := func(first, last, seq uint32) {
		var b []byte
		for n := first; n <= last; n, seq = n+1, seq+1 {
			body, err := msg.Marshal(event(n))
			if err != nil {
				t.Fatal(err)
			}
			if b, err = frame.Append(b, frame.Frame{Type: frame.TypeEvent, Flags: frame.FlagFromDevice, Seq: seq, Body: body}, nil); err != nil {
				t.Fatal(err)
			}
		}
		d.raw(b)
	}
	// maxAck follows every frame from the gateway until ack reaches want
	// (or, with want 0, until none is waiting), returning the highest ack.
	maxAck := func(want uint32) uint32 {
		var top uint32
		for {
			var f frame.Frame
			if want == 0 {
				select {
				case f = <-d.in:
				default:
					return top
				}
			} else {
				f = d.expect(ctx, "ack "+itoa(want), func(frame.Frame) bool { return true })
			}
			if !f.Type.Handshake() {
				top = max(top, f.Ack)
			}
			if want != 0 && top >= want {
				return top
			}
		}
	}

	// Gateway 1 commits events 1..4, then stalls in the commit of 5..12,
	// which it reads in one burst.
	gw1, wait1 := startKillChild(t, ctx, l.slave, journal, 5, 1+12)
	d.send(testHello("RAW-KILL"), 0, 0)
	d.expectMsg(ctx, frame.TypeWelcome)
	burst(1, 4, 1)
	maxAck(4)
	burst(5, 12, 5)
	wait1("read")
	// Ask where the gateway stands: a duplicate is answered with an ACK at
	// once (PROTOCOL.md §5.3), carrying its cumulative ack.
	burst(4, 4, 4)
	if f := d.expect(ctx, "ACK", func(f frame.Frame) bool { return f.Type == frame.TypeAck }); f.Ack != 4 {
		t.Fatalf("with 5..12 read and their commit pending the gateway acknowledges %d; only 1..4 are committed", f.Ack)
	}
	if err := gw1.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	gw1.Wait()
	if top := maxAck(0); top > 4 {
		t.Fatalf("the killed gateway acknowledged up to %d; only 1..4 were committed", top)
	}
	// The killed process cannot clear the exclusive mode it set on the
	// slave; a non-root gateway could not open the port again.
	if err := unix.IoctlSetInt(int(l.hold.Fd()), unix.TIOCNXCL, 0); err != nil {
		t.Fatal(err)
	}

	// Gateway 2, a new process on the same journal: the device says HELLO
	// again, learns that 1..4 are durable, and sends 5..12 again.
	startKillChild(t, ctx, l.slave, journal, 0, 0)
	d.send(testHello("RAW-KILL"), 0, 0)
	_, m := d.expectMsg(ctx, frame.TypeWelcome)
	if w := m.(*msg.Welcome); w.EventAck == nil || *w.EventAck != (msg.EventID{Boot: 3, Seq: 4}) {
		t.Fatalf("WELCOME after the kill says %v is durable, want 3/4", w.EventAck)
	}
	burst(5, 12, 1)
	maxAck(8)
	ids, err := readEventIDs(journal)
	if err != nil {
		t.Fatal(err)
	}
	var want []msg.EventID
	for n := uint32(1); n <= 12; n++ {
		want = append(want, msg.EventID{Boot: 3, Seq: n})
	}
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Fatalf("journal holds %v, want %v: lost, doubled or reordered", ids, want)
	}
}
