package escpos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

var (
	// ErrNoAnswer is wrapped by the error for a status request nothing answered in time:
	// the printer is off, unplugged at its end, or on another baud rate.
	ErrNoAnswer = errors.New("escpos: printer did not answer")
	// ErrNotReady is wrapped by the error Print returns when it refuses a badge because the
	// printer reports paper end, an open cover, an error or offline.
	ErrNotReady = errors.New("escpos: printer not ready")
	// ErrClosed is wrapped by the error for a call on a closed Client, and by the error of a
	// write that outlived its deadline (which closes the Client: see Client).
	ErrClosed = errors.New("escpos: client closed")
)

// Conn is what a Client needs of a serial port: *serialport.Port is one. Read may block
// until data arrives; Close must wake a blocked Read or Write.
type Conn interface {
	io.ReadWriteCloser
}

// Defaults for ClientOptions.
const (
	// DefaultAnswerTimeout bounds the wait for the four status answers: a printer answers
	// DLE EOT in real time, within a few ms, at any baud rate from 9600 up.
	DefaultAnswerTimeout = 500 * time.Millisecond
	// DefaultWriteTimeout bounds writing a badge: under 1 KB, about 1 s at 9600 baud, with
	// room for the printer holding the line (flow control) while it prints.
	DefaultWriteTimeout = 10 * time.Second
)

// maxPending caps bytes the printer sent that no poll has asked for yet.
const maxPending = 64

// ClientOptions configure a Client; a nil *ClientOptions means the defaults.
type ClientOptions struct {
	AnswerTimeout time.Duration // 0 means DefaultAnswerTimeout
	WriteTimeout  time.Duration // 0 means DefaultWriteTimeout
	Badge         *Options      // how badges are encoded; nil means the defaults
}

// Client talks to one ESC/POS printer over a Conn: polls its status and prints badges.
// One call at a time talks to the printer; others wait their turn, bounded by their ctx.
//
// No call blocks for longer than its ctx and its timeout allow. A read that finds nothing
// gives up. A write that outlives its deadline (the printer holds the line and never
// releases it) cannot be abandoned without leaving it in the Conn: the Client then
// closes the Conn, which wakes the write, and is unusable after; the caller opens the
// port again and makes a new Client.
type Client struct {
	// Immutable.
	conn   Conn
	opts   ClientOptions
	badge  Options
	turn   chan struct{} // holds a token while a call talks to the printer
	notify chan struct{} // a token after the reader appended to pending
	done   chan struct{} // closed when the reader has returned

	closeOnce sync.Once
	closeErr  error // written once inside closeOnce

	mu sync.Mutex
	// Guarded by mu.
	pending []byte // bytes read and not yet taken
	readErr error  // why the reader stopped, once it has
}

// NewClient starts a Client on conn; its reader goroutine runs until Close.
func NewClient(conn Conn, opts *ClientOptions) (*Client, error) {
	var o ClientOptions
	if opts != nil {
		o = *opts
	}
	if o.AnswerTimeout == 0 {
		o.AnswerTimeout = DefaultAnswerTimeout
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.AnswerTimeout < 0 || o.WriteTimeout < 0 {
		return nil, fmt.Errorf("%w: timeouts %v and %v must be positive", ErrBadOptions, o.AnswerTimeout, o.WriteTimeout)
	}
	badge, err := o.Badge.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Client{
		conn: conn, opts: o, badge: badge,
		turn:   make(chan struct{}, 1),
		notify: make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	go c.read()
	return c, nil
}

// Close closes the Conn and waits for the reader to return. It is safe to call more than
// once and from any goroutine.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		if err := c.conn.Close(); err != nil {
			c.closeErr = fmt.Errorf("escpos: close: %w", err)
		}
	})
	<-c.done
	return c.closeErr
}

// read moves what the printer sends into pending, keeping the newest maxPending bytes:
// nothing the printer says can block it.
func (c *Client) read() {
	defer close(c.done)
	buf := make([]byte, 64)
	for {
		n, err := c.conn.Read(buf)
		c.mu.Lock()
		c.pending = append(c.pending, buf[:n]...)
		if over := len(c.pending) - maxPending; over > 0 {
			c.pending = append(c.pending[:0], c.pending[over:]...)
		}
		if err != nil {
			c.readErr = err
		}
		c.mu.Unlock()
		select {
		case c.notify <- struct{}{}:
		default: // a token is already waiting
		}
		if err != nil {
			return
		}
	}
}

// acquire waits for the turn to talk to the printer.
func (c *Client) acquire(ctx context.Context) error {
	select {
	case <-c.done: // a dead line first: the turn may be free too
		return c.lineErr()
	default:
	}
	select {
	case c.turn <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return c.lineErr()
	}
}

func (c *Client) release() { <-c.turn }

// lineErr is the error of a Conn whose reader has stopped.
func (c *Client) lineErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.readErr == nil || errors.Is(c.readErr, io.EOF) {
		return fmt.Errorf("%w: %w", ErrClosed, c.readErr)
	}
	return fmt.Errorf("escpos: printer line: %w", c.readErr)
}

// Poll asks the printer for its status. Nothing answering within the answer timeout is
// an error wrapping ErrNoAnswer; a wrong answer byte wraps ErrBadStatus.
func (c *Client) Poll(ctx context.Context) (Status, error) {
	if err := c.acquire(ctx); err != nil {
		return Status{}, err
	}
	defer c.release()
	return c.poll(ctx)
}

func (c *Client) poll(ctx context.Context) (Status, error) {
	// A late answer to an earlier poll must not pass for this one's.
	c.mu.Lock()
	c.pending = c.pending[:0]
	c.mu.Unlock()
	if err := c.write(ctx, StatusRequest); err != nil {
		return Status{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.AnswerTimeout)
	defer cancel()
	down := false
	for {
		c.mu.Lock()
		var ans [4]byte
		got := copy(ans[:], c.pending)
		if got == 4 {
			c.pending = c.pending[:0]
		}
		c.mu.Unlock()
		switch {
		case got == 4:
			return DecodeStatus(ans)
		case down:
			return Status{}, c.lineErr()
		}
		select {
		case <-c.notify:
		case <-c.done:
			down = true // the last bytes read may still complete the answers
		case <-ctx.Done():
			switch {
			case got > 0:
				return Status{}, fmt.Errorf("%w: %d of 4 answers within %v: % X", ErrBadStatus, got, c.opts.AnswerTimeout, ans[:got])
			case errors.Is(ctx.Err(), context.DeadlineExceeded):
				return Status{}, fmt.Errorf("%w within %v", ErrNoAnswer, c.opts.AnswerTimeout)
			}
			return Status{}, ctx.Err()
		}
	}
}

// write writes b within the write timeout and ctx; past them it closes the Conn, which
// is the only way to wake a write the line does not take.
func (c *Client) write(ctx context.Context, b []byte) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.WriteTimeout)
	defer cancel()
	closed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(closed)
		c.Close()
	})
	_, err := c.conn.Write(b)
	if !stop() {
		<-closed
		return fmt.Errorf("%w: write of %d bytes abandoned: %w", ErrClosed, len(b), context.Cause(ctx))
	}
	if err != nil {
		select {
		case <-c.done: // closed or unplugged meanwhile: say which
			return c.lineErr()
		default:
		}
		return fmt.Errorf("escpos: write: %w", err)
	}
	return nil
}

// Print prints b unless the printer is not ready, and says how it went. It polls first
// and refuses, with that outcome and an error wrapping ErrNotReady, a printer that reports
// paper end, an open cover, an error or offline; Offline with ErrNoAnswer when nothing
// answers. After writing it polls again: Printed means the printer took the whole job and
// reported no fault after it. The printer does not confirm the cut, so a fault that comes
// later in the job, after that poll, shows in the next Poll.
//
// Every failure has a non-nil error: Failed for an invalid badge (nothing sent) or a
// broken line, the outcome the status names if the second poll finds a fault.
func (c *Client) Print(ctx context.Context, b Badge) (Outcome, error) {
	job, err := AppendBadge(nil, b, &c.badge)
	if err != nil {
		return Failed, err
	}
	if err := c.acquire(ctx); err != nil {
		return Failed, err
	}
	defer c.release()
	st, err := c.poll(ctx)
	if err != nil {
		return pollOutcome(err), err
	}
	if o := Classify(st); o != Printed {
		return o, fmt.Errorf("%w: %s (status % X)", ErrNotReady, o, st.Raw)
	}
	if err := c.write(ctx, job); err != nil {
		return Failed, err
	}
	st, err = c.poll(ctx)
	if err != nil {
		// The job went out and then the printer fell silent or the line broke: whether
		// it printed is unknown, which is a failure, not offline.
		return Failed, fmt.Errorf("escpos: after the job: %w", err)
	}
	if o := Classify(st); o != Printed {
		return o, fmt.Errorf("escpos: after the job: %w: %s (status % X)", ErrNotReady, o, st.Raw)
	}
	return Printed, nil
}

// pollOutcome is the outcome of a print refused because the poll before it failed.
func pollOutcome(err error) Outcome {
	if errors.Is(err, ErrNoAnswer) {
		return Offline
	}
	return Failed
}
