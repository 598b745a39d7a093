// Package escpossim simulates an ESC/POS badge printer on a real PTY, for tests
// and the demo. The printer is on the device end of the PTY; the code under
// test, or the demo's kiosk, opens the other end as its serial port.
package escpossim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/creack/pty"
	"github.com/officegate/officegate/firmware-bridge/fwemu"
	"golang.org/x/sys/unix"
)

// State is what the emulated printer reports. The zero State is a ready printer.
type State struct {
	Silent       bool // answers nothing, as a printer that is off or on another baud rate
	CoverOpen    bool
	PaperEnd     bool // also reported as near end, as the sensors of a real roll do
	PaperNearEnd bool
	CutterError  bool
}

// Printer is an emulated printer. It answers the real-time status requests DLE EOT 1–4
// at once, wherever they appear in the stream, as a real printer does, and collects every
// other byte into jobs, each ending at a cut (GS V). It does not interpret the jobs.
type Printer struct {
	// Immutable.
	path string   // the tty a client opens
	dev  *os.File // the PTY master, non-blocking under Go's poller so Close wakes a Read
	hold *os.File // a slave descriptor held open so the PTY lives between client opens
	done chan struct{}

	closeOnce sync.Once

	mu sync.Mutex
	// Guarded by mu.
	state     State
	jobs      [][]byte
	cur       []byte // the job in progress
	requests  int    // status requests seen
	unplugAt  int    // hang up when cur reaches this many bytes; 0: never
	unplugged bool
	changed   chan struct{} // closed and replaced on every change
}

// New starts an emulated printer on a new PTY; Close stops it.
func New() (*Printer, error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("escpossim: open a pty: %w", err)
	}
	// The slave must be raw: with the default line discipline it would echo the job
	// back and take 0x04 (EOT), part of every status request, as end of file.
	err = fwemu.MakeRaw(s) // raw 8N1, as a printer's serial line
	var dev *os.File
	if err == nil {
		dev, err = pollable(m)
	}
	m.Close()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("escpossim: set up the pty: %w", err)
	}
	p := &Printer{path: s.Name(), dev: dev, hold: s, done: make(chan struct{}), changed: make(chan struct{})}
	go p.run()
	return p, nil
}

// Path is the tty to open as the printer's serial port.
func (p *Printer) Path() string { return p.path }

// SetState sets what the printer reports from now on.
func (p *Printer) SetState(s State) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.state = s
}

// Jobs returns a copy of every complete job received, in order.
func (p *Printer) Jobs() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([][]byte, len(p.jobs))
	for i, j := range p.jobs {
		out[i] = bytes.Clone(j)
	}
	return out
}

// Partial returns a copy of the bytes of the job in progress.
func (p *Printer) Partial() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Clone(p.cur)
}

// Requests returns how many status requests the printer has seen, answered or not.
func (p *Printer) Requests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests
}

// UnplugAfter makes the printer hang up, as a pulled USB cable does, once the job in
// progress holds n bytes (n > 0).
func (p *Printer) UnplugAfter(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.unplugAt = n
}

// Unplug hangs up now: the client's end reads and writes fail from then on.
func (p *Printer) Unplug() {
	p.mu.Lock()
	p.unplugged = true
	p.mu.Unlock()
	p.dev.Close()
}

// Wait waits until cond, called under the printer's lock with the jobs so far and whether
// it has hung up, holds, or ctx ends.
func (p *Printer) Wait(ctx context.Context, cond func(jobs [][]byte, unplugged bool) bool) error {
	for {
		p.mu.Lock()
		ok, ch := cond(p.jobs, p.unplugged), p.changed
		p.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("escpossim: wait: %w", ctx.Err())
		}
	}
}

// Close hangs up, stops the printer and waits for it.
func (p *Printer) Close() error {
	var err error
	p.closeOnce.Do(func() {
		p.dev.Close()
		<-p.done
		err = p.hold.Close()
	})
	return err
}

// run reads what the client sends until the PTY closes.
func (p *Printer) run() {
	defer close(p.done)
	buf := make([]byte, 256)
	var carry []byte // the start of a status request split across reads
	for {
		n, err := p.dev.Read(buf)
		in := append(carry, buf[:n]...)
		carry = nil
		// The requests read together are answered from one state, as a
		// printer answers them back to back within microseconds: a state
		// set meanwhile must not tear one poll's four answers (offline from
		// the paper end, then no paper end, would read as "offline").
		var snap *State
		for i := 0; i < len(in); i++ {
			if in[i] == 0x10 && (i+1 == len(in) || in[i+1] == 0x04) {
				if i+2 >= len(in) {
					carry = append(carry, in[i:]...)
					break
				}
				if snap == nil {
					p.mu.Lock()
					snap = &State{}
					*snap = p.state
					p.mu.Unlock()
				}
				p.status(in[i+2], *snap)
				i += 2
				continue
			}
			if p.take(in[i]) {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, os.ErrClosed) {
				p.mu.Lock()
				p.unplugged = true
				p.mu.Unlock()
			}
			p.broadcast()
			return
		}
	}
}

// take adds b to the job in progress; it reports whether the printer has hung up.
func (p *Printer) take(b byte) bool {
	p.mu.Lock()
	p.cur = append(p.cur, b)
	if isCut(p.cur) {
		p.jobs = append(p.jobs, p.cur)
		p.cur = nil
	}
	unplug := p.unplugAt > 0 && len(p.cur) >= p.unplugAt
	if unplug {
		p.unplugged = true
	}
	p.mu.Unlock()
	p.broadcast()
	if unplug {
		p.dev.Close()
	}
	return unplug
}

// isCut reports whether job ends with GS V m (m = 0, 1, 48, 49) or GS V m n (m = 65, 66).
func isCut(job []byte) bool {
	n := len(job)
	if n >= 3 && job[n-3] == 0x1D && job[n-2] == 0x56 {
		switch job[n-1] {
		case 0, 1, 48, 49:
			return true
		}
	}
	return n >= 4 && job[n-4] == 0x1D && job[n-3] == 0x56 && (job[n-2] == 65 || job[n-2] == 66)
}

// status answers DLE EOT n with the byte the Epson reference gives for state s: fixed
// bits 0x12, then the bits for n. Out-of-range n is ignored, as the printer does.
func (p *Printer) status(n byte, s State) {
	p.mu.Lock()
	p.requests++
	p.mu.Unlock()
	p.broadcast()
	if s.Silent || n < 1 || n > 4 {
		return
	}
	b := byte(0x12)
	switch n {
	case 1:
		if s.CoverOpen || s.PaperEnd || s.CutterError {
			b |= 0x08 // offline
		}
	case 2:
		if s.CoverOpen {
			b |= 0x04
		}
		if s.PaperEnd {
			b |= 0x20 // printing stopped by paper end
		}
		if s.CutterError {
			b |= 0x40 // an error occurred
		}
	case 3:
		if s.CutterError {
			b |= 0x08
		}
	case 4:
		if s.PaperNearEnd || s.PaperEnd {
			b |= 0x0C
		}
		if s.PaperEnd {
			b |= 0x60
		}
	}
	p.dev.Write([]byte{b}) // fails only once hung up, which the client sees anyway
}

func (p *Printer) broadcast() {
	p.mu.Lock()
	defer p.mu.Unlock()
	close(p.changed)
	p.changed = make(chan struct{})
}

// pollable returns a non-blocking duplicate of f under Go's poller: a creack/pty master
// otherwise ignores Close while a Read is blocked.
func pollable(f *os.File) (*os.File, error) {
	fd, err := unix.Dup(int(f.Fd()))
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), "ptmx"), nil
}
