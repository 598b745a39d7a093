package fleet_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/officegate/officegate/firmware-bridge/fwemu"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

// terminal is one emulated attendance terminal on a PTY, in the test
// process, and what it recorded.
type terminal struct {
	// Immutable.
	gateway, id string
	pty         *fwemu.PTYDevice

	mu sync.Mutex
	// Guarded by mu.
	at map[msg.EventID]time.Duration // when each punch was recorded, from the load's start
	n  int                           // punches recorded
}

func startTerminal(t *testing.T, dir, gateway, id string, seed uint64) *terminal {
	t.Helper()
	d, err := fwemu.StartPTY(gateway+"-"+id, fwemu.Options{
		StatePath: filepath.Join(dir, gateway+"-"+id+".state"), HardwareID: "EMU-" + gateway + "-" + id,
		Kind: msg.KindAttendance, RTC: true, Seed: seed,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Stop() })
	return &terminal{gateway: gateway, id: id, pty: d, at: map[msg.EventID]time.Duration{}}
}

func (d *terminal) key() string { return d.gateway + "/" + d.id }

// punch records one punch, as a person at the terminal would.
func (d *terminal) punch(since time.Time) error {
	ids, err := d.pty.Emu.EmitN(1)
	if err != nil {
		return fmt.Errorf("terminal %s: %w", d.key(), err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, id := range ids {
		d.at[id] = time.Since(since)
		d.n++
	}
	return nil
}

func (d *terminal) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n
}

// recordedAt is when the terminal recorded a punch, from the load's start.
func (d *terminal) recordedAt(id msg.EventID) (time.Duration, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	at, ok := d.at[id]
	return at, ok
}

// load makes every terminal punch once every tick until stopped, each on
// a goroutine of its own (a terminal's store is written, and fsync'd,
// before the punch is sent).
type load struct {
	start time.Time // the punches' times are from it
	began time.Time
	stop  context.CancelFunc
	wg    sync.WaitGroup
	mu    sync.Mutex
	errs  []error // guarded by mu
}

func startLoad(terms []*terminal, tick time.Duration, start time.Time) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{start: start, began: time.Now(), stop: cancel}
	for _, d := range terms {
		l.wg.Go(func() {
			tk := time.NewTicker(tick)
			defer tk.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tk.C:
				}
				if err := d.punch(l.start); err != nil {
					l.mu.Lock()
					l.errs = append(l.errs, err)
					l.mu.Unlock()
					return
				}
			}
		})
	}
	return l
}

// end stops the punching and waits for it; it returns how long the
// terminals punched.
func (l *load) end() (time.Duration, []error) {
	l.stop()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Since(l.began), l.errs
}

// minCount is the fewest punches any terminal has recorded.
func minCount(terms []*terminal) int {
	n := -1
	for _, d := range terms {
		if c := d.count(); n < 0 || c < n {
			n = c
		}
	}
	return n
}
