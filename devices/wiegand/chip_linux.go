//go:build linux

package wiegand

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Line request flags from the kernel's uAPI (include/uapi/linux/gpio.h, enum
// gpio_v2_line_flag); golang.org/x/sys/unix has the structures but not these.
const (
	lineFlagInput       = 1 << 2
	lineFlagEdgeRising  = 1 << 4
	lineFlagEdgeFalling = 1 << 5
	lineFlagBiasPullUp  = 1 << 8
)

// The kernel caps a request's event buffer at 16 events per line for its 64 lines
// (GPIO_V2_LINES_MAX * 16 in drivers/gpio/gpiolib-cdev.c).
const maxEventBuffer = 64 * 16

// eventSize is sizeof(struct gpio_v2_line_event); a read returns whole events only.
const eventSize = int(unsafe.Sizeof(unix.GPIOV2LineEvent{}))

// ChipOpts configures OpenChip. The zero value of a field means its default.
type ChipOpts struct {
	// Consumer labels the lines in gpioinfo. Default "officegate-wiegand".
	Consumer string
	// EventBuffer is the kernel's queue for both lines, in edges. Default 512: a 37-bit
	// frame is 37 edges, and the kernel's default of 16 per line drops the oldest when
	// the reading process stalls. At most 1024.
	EventBuffer int
	// BothEdges asks for rising edges too, so the decoder knows the line levels exactly
	// (both-low detection without a time window) at twice the interrupt load.
	BothEdges bool
	// PullUp turns on the SoC's pull-up on both lines, for readers with open-collector
	// outputs and no pull-up of their own.
	PullUp bool
}

// Chip is an EdgeSource on a Linux GPIO character device (uAPI v2). Both data lines are
// in one line request, so the kernel puts their edges in one ordered queue with kernel
// timestamps and sequence numbers. No kernel debounce is asked for: it would swallow
// 50 µs pulses.
type Chip struct {
	// Immutable.
	path    string
	offsets [2]uint32
	f       *os.File // the line request; Close from another goroutine ends a Read

	// closed is set by Close, so reads tell a closed source from a failing one
	// (os.File's deadline calls report a close as a bare "use of closed file").
	closed atomic.Bool

	// Mutable, owned by the goroutine calling ReadEdges.
	buf []byte
}

var _ EdgeSource = (*Chip)(nil)

// OpenChip requests lines d0 and d1 of the GPIO chip at path (e.g. /dev/gpiochip0) as
// inputs that report edges. opts may be nil.
func OpenChip(path string, d0, d1 uint32, opts *ChipOpts) (*Chip, error) {
	var o ChipOpts
	if opts != nil {
		o = *opts
	}
	if o.Consumer == "" {
		o.Consumer = "officegate-wiegand"
	}
	if o.EventBuffer == 0 {
		o.EventBuffer = 512
	}
	if o.EventBuffer < 0 || o.EventBuffer > maxEventBuffer {
		return nil, fmt.Errorf("wiegand: event buffer %d is not between 1 and %d", o.EventBuffer, maxEventBuffer)
	}
	if d0 == d1 {
		return nil, fmt.Errorf("wiegand: D0 and D1 are both line %d of %q", d0, path)
	}
	chip, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, openError(path, err)
	}
	defer chip.Close()
	var info unix.GPIOChipInfo
	if err := ioctl(chip, unix.GPIO_GET_CHIPINFO_IOCTL, unsafe.Pointer(&info)); err != nil {
		return nil, fmt.Errorf("wiegand: %q is not a GPIO chip: %w", path, err)
	}
	for _, off := range [2]uint32{d0, d1} {
		if off >= info.Lines {
			return nil, fmt.Errorf("wiegand: line %d out of range: %q has %d lines", off, path, info.Lines)
		}
	}

	var req unix.GPIOV2LineRequest
	req.Offsets[0], req.Offsets[1] = d0, d1
	req.Num_lines = 2
	copy(req.Consumer[:len(req.Consumer)-1], o.Consumer)
	req.Event_buffer_size = uint32(o.EventBuffer)
	req.Config.Flags = lineFlagInput | lineFlagEdgeFalling
	if o.BothEdges {
		req.Config.Flags |= lineFlagEdgeRising
	}
	if o.PullUp {
		req.Config.Flags |= lineFlagBiasPullUp
	}
	if err := ioctl(chip, unix.GPIO_V2_GET_LINE_IOCTL, unsafe.Pointer(&req)); err != nil {
		if errors.Is(err, syscall.EBUSY) {
			return nil, fmt.Errorf("%w: lines %d and %d of %q (held by %s): %w", ErrLineBusy, d0, d1, path, holders(chip, d0, d1), err)
		}
		return nil, fmt.Errorf("wiegand: request lines %d and %d of %q: %w", d0, d1, path, err)
	}
	fd := int(req.Fd)
	// Non-blocking, so the os.File goes through Go's poller: read deadlines work and
	// Close from another goroutine wakes a blocked Read.
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("wiegand: line request on %q: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), path+" lines "+strconv.Itoa(int(d0))+","+strconv.Itoa(int(d1)))
	return newChip(f, path, d0, d1), nil
}

// ErrLineBusy means another process (or this one) already holds a requested line.
var ErrLineBusy = errors.New("wiegand: gpio line busy")

func newChip(f *os.File, path string, d0, d1 uint32) *Chip {
	return &Chip{path: path, offsets: [2]uint32{d0, d1}, f: f, buf: make([]byte, maxEventBuffer*eventSize)}
}

// openError explains why the chip could not be opened.
func openError(path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("wiegand: gpio chip %q not found (is the GPIO character device enabled?): %w", path, err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("wiegand: permission denied on gpio chip %q: add the user to group %q: %w", path, ownerGroup(path), err)
	}
	return fmt.Errorf("wiegand: open gpio chip %q: %w", path, err)
}

// ownerGroup names the group that owns path ("gpio" on Raspberry Pi OS), the one to join.
func ownerGroup(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "gpio"
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "gpio"
	}
	gid := strconv.FormatUint(uint64(st.Gid), 10)
	if g, err := user.LookupGroupId(gid); err == nil {
		return g.Name
	}
	return gid
}

// holders names the consumers of the two lines, for the busy error.
func holders(chip *os.File, d0, d1 uint32) string {
	var s string
	for _, off := range [2]uint32{d0, d1} {
		var li unix.GPIOV2LineInfo
		li.Offset = off
		c := "?"
		if ioctl(chip, unix.GPIO_V2_GET_LINEINFO_IOCTL, unsafe.Pointer(&li)) == nil {
			c = strconv.Quote(unix.ByteSliceToString(li.Consumer[:]))
		}
		if s != "" {
			s += ", "
		}
		s += "line " + strconv.Itoa(int(off)) + ": " + c
	}
	return s
}

func ioctl(f *os.File, req uint, arg unsafe.Pointer) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, uintptr(req), uintptr(arg))
	}); err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	return nil
}

// ReadEdges implements EdgeSource. Many edges come back from one read(). It returns
// ErrClosed once Close was called, also to a read already waiting.
func (c *Chip) ReadEdges(ctx context.Context, dst []Edge, wait time.Duration) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if len(dst) == 0 {
		return 0, nil
	}
	if err := c.f.SetReadDeadline(time.Now().Add(wait)); err != nil {
		return 0, c.readError(err)
	}
	if ctx.Done() != nil {
		// A deadline in the past wakes the read at once when ctx is cancelled.
		stop := context.AfterFunc(ctx, func() { c.f.SetReadDeadline(time.Unix(1, 0)) })
		defer stop()
	}
	want := min(len(dst), len(c.buf)/eventSize) * eventSize
	n, err := c.f.Read(c.buf[:want])
	got := 0
	for off := 0; off+eventSize <= n; off += eventSize {
		if e, ok := c.parse(c.buf[off : off+eventSize]); ok {
			dst[got] = e
			got++
		}
	}
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if ctx.Err() != nil {
				return got, ctx.Err()
			}
			return got, nil
		}
		return got, c.readError(err)
	}
	return got, nil
}

// parse decodes one struct gpio_v2_line_event in the machine's byte order.
func (c *Chip) parse(b []byte) (Edge, bool) {
	ne := binary.NativeEndian
	var e Edge
	switch ne.Uint32(b[12:]) { // offset
	case c.offsets[0]:
		e.Line = D0
	case c.offsets[1]:
		e.Line = D1
	default:
		return e, false // not ours: cannot happen with one request, but costs nothing
	}
	e.Time = time.Duration(ne.Uint64(b[0:]))
	e.Falling = ne.Uint32(b[8:]) == unix.GPIO_V2_LINE_EVENT_FALLING_EDGE
	e.Seq = ne.Uint32(b[16:])
	e.LineSeq = ne.Uint32(b[20:])
	return e, true
}

func (c *Chip) readError(err error) error {
	if c.closed.Load() || errors.Is(err, os.ErrClosed) {
		return ErrClosed
	}
	return fmt.Errorf("wiegand: read lines %d and %d of %q: %w", c.offsets[0], c.offsets[1], c.path, err)
}

// Close releases the lines. A ReadEdges waiting in another goroutine returns ErrClosed.
func (c *Chip) Close() error {
	c.closed.Store(true)
	if err := c.f.Close(); err != nil {
		return fmt.Errorf("wiegand: close lines %d and %d of %q: %w", c.offsets[0], c.offsets[1], c.path, err)
	}
	return nil
}
