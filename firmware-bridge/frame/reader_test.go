package frame

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func wire(t testing.TB, f Frame, a *Auth) []byte {
	t.Helper()
	w, err := Append(nil, f, a)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func readAll(t *testing.T, r *Reader) []Frame {
	t.Helper()
	var out []Frame
	for {
		f, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, f)
	}
}

func TestReaderResync(t *testing.T) {
	ev := func(n uint32) []byte {
		return wire(t, Frame{Type: TypeEvent, Flags: FlagFromDevice, Seq: n, Body: []byte{0xa1, 0x01, byte(n)}}, nil)
	}
	rawBad, _ := AppendRaw(nil, Frame{Type: TypeEvent, Seq: 99, Body: []byte{0xa0}}, nil)
	rawBad[len(rawBad)-1] ^= 1
	badCRC := append(AppendEncode(nil, rawBad), 0)
	var stream []byte
	stream = append(stream, "line noise before the first frame"...)
	stream = append(stream, 0) // the preamble delimiter a sender emits after opening the port
	stream = append(stream, ev(1)...)
	stream = append(stream, 0, 0) // empty frames are not errors
	stream = append(stream, badCRC...)
	stream = append(stream, 0xFF, 0x01, 0x00) // bad cobs
	stream = append(stream, 0x02, 0x11, 0x00) // short
	stream = append(stream, ev(2)...)
	stream = append(stream, bytes.Repeat([]byte{0x55}, 5000)...) // a stuck line
	stream = append(stream, 0)
	stream = append(stream, ev(3)...)
	stream = append(stream, ev(4)[:10]...) // cut off by the end of the stream

	for _, mode := range []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"whole", func(r io.Reader) io.Reader { return r }},
		{"one byte", iotest.OneByteReader},
		{"half", iotest.HalfReader},
		{"data with eof", iotest.DataErrReader},
	} {
		t.Run(mode.name, func(t *testing.T) {
			var dropped []error
			r := NewReader(mode.wrap(bytes.NewReader(stream)), &ReaderOptions{OnDrop: func(err error) { dropped = append(dropped, err) }})
			got := readAll(t, r)
			if len(got) != 3 || got[0].Seq != 1 || got[1].Seq != 2 || got[2].Seq != 3 {
				t.Fatalf("got %v, want events 1, 2, 3", got)
			}
			s := r.Stats()
			want := [NumReasons]uint64{ReasonBadCRC: 1, ReasonBadCOBS: 2, ReasonShort: 2, ReasonOversize: 1}
			if s.Drops != want || s.Frames != 3 || s.Bytes != uint64(len(stream)) || s.Empty != 2 {
				t.Fatalf("stats %+v, want drops %v", s, want)
			}
			// The noise before the first delimiter counts as one bad frame
			// (bad cobs: 'l' is a code byte running past the delimiter).
			if len(dropped) != int(s.Dropped()) {
				t.Fatalf("OnDrop called %d times for %d drops", len(dropped), s.Dropped())
			}
		})
	}
}

// endless is a line stuck sending one non-zero byte.
type endless struct{ n int }

func (e *endless) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, io.EOF
	}
	if len(p) > e.n {
		p = p[:e.n]
	}
	for i := range p {
		p[i] = 0x42
	}
	e.n -= len(p)
	return len(p), nil
}

func TestReaderMemoryCap(t *testing.T) {
	r := NewReader(&endless{n: 1 << 20}, nil)
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("Next = %v, want EOF", err)
	}
	if cap(r.acc) != MaxWireLen-1 {
		t.Fatalf("buffer grew to %d bytes, cap is %d", cap(r.acc), MaxWireLen-1)
	}
	if s := r.Stats(); s.Drops[ReasonOversize] != 1 || s.Dropped() != 1 {
		t.Fatalf("stats %+v: want one oversize drop", s)
	}
}

func TestReaderLargestFrame(t *testing.T) {
	// The largest legal frame, maximally expanded by COBS, fits exactly.
	w := wire(t, Frame{Type: TypeFwChunk, Seq: 1, Body: bytes.Repeat([]byte{0xFF}, MaxBody)}, nil)
	r := NewReader(bytes.NewReader(append(w, w...)), nil)
	if got := readAll(t, r); len(got) != 2 {
		t.Fatalf("got %d frames, want 2; stats %+v", len(got), r.Stats())
	}
}

func TestReaderAuth(t *testing.T) {
	cmd := Frame{Type: TypeCommand, Seq: 1, Body: []byte{0xa0}}
	var stream []byte
	stream = append(stream, wire(t, cmd, &testAuth)...)
	stream = append(stream, wire(t, cmd, nil)...) // untagged: dropped while a key is in force
	other := testAuth
	other.GatewayBoot = 1
	stream = append(stream, wire(t, cmd, &other)...) // another session: dropped
	newBoot := testAuth
	newBoot.DeviceBoot = 8
	stream = append(stream, wire(t, Frame{Type: TypeHello, Flags: FlagFromDevice, Body: []byte{0xa0}}, &newBoot)...) // passed through

	r := NewReader(bytes.NewReader(stream), nil)
	r.SetAuth(&testAuth)
	got := readAll(t, r)
	if len(got) != 2 || got[0].Type != TypeCommand || got[1].Type != TypeHello {
		t.Fatalf("got %v", got)
	}
	if err := got[1].Verify(&newBoot); err != nil {
		t.Fatalf("session-side hello verify: %v", err)
	}
	if d := r.Stats().Drops[ReasonBadMAC]; d != 2 {
		t.Fatalf("bad mac drops = %d, want 2", d)
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string { return "read timeout" }
func (timeoutErr) Timeout() bool { return true }

// script returns its steps one Read at a time: a []byte or an error.
type script []any

func (s *script) Read(p []byte) (int, error) {
	if len(*s) == 0 {
		return 0, io.EOF
	}
	step := (*s)[0]
	*s = (*s)[1:]
	if err, ok := step.(error); ok {
		return 0, err
	}
	return copy(p, step.([]byte)), nil
}

func TestReaderErrorsAreNotSticky(t *testing.T) {
	w := wire(t, Frame{Type: TypeAck, Ack: 3}, nil)
	s := script{w[:5], timeoutErr{}, w[5:], errors.New("port unplugged")}
	r := NewReader(&s, nil)
	if _, err := r.Next(); !errors.Is(err, timeoutErr{}) {
		t.Fatalf("first Next = %v, want the timeout", err)
	}
	f, err := r.Next()
	if err != nil || f.Type != TypeAck || f.Ack != 3 {
		t.Fatalf("frame split by a timeout: %v, %v", f, err)
	}
	if _, err := r.Next(); err == nil || err.Error() != "port unplugged" {
		t.Fatalf("Next = %v", err)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("Next = %v, want EOF", err)
	}
	if s := r.Stats(); s.Dropped() != 0 || s.Frames != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// countingReader counts the Read calls on the stream under it.
type countingReader struct {
	r     io.Reader
	reads int
}

func (c *countingReader) Read(p []byte) (int, error) { c.reads++; return c.r.Read(p) }

// TestReaderBurst: a window of frames that one Read brings in comes back
// from one ReadFrames call, their bodies intact after later calls (they do
// not alias the read buffer); a frame cut by the end of a read is finished
// by the next.
func TestReaderBurst(t *testing.T) {
	var burst []byte
	for n := uint32(1); n <= 8; n++ {
		burst = append(burst, wire(t, Frame{Type: TypeEvent, Flags: FlagFromDevice, Seq: n, Body: bytes.Repeat([]byte{byte(n)}, 64)}, nil)...)
	}
	if len(burst) > DefaultReadSize {
		t.Fatalf("a burst of %d bytes does not fit a read", len(burst))
	}
	cut := len(burst) - 10
	s := script{burst, burst[:cut], burst[cut:]}
	cr := &countingReader{r: &s}
	r := NewReader(cr, nil)
	first, err := r.ReadFrames(nil)
	if err != nil || len(first) != 8 || cr.reads != 1 {
		t.Fatalf("ReadFrames = %d frames, %v after %d reads; want the 8 of one read", len(first), err, cr.reads)
	}
	second, err := r.ReadFrames(nil)
	if err != nil || len(second) != 7 {
		t.Fatalf("ReadFrames = %d frames, %v; want the 7 complete ones", len(second), err)
	}
	third, err := r.ReadFrames(nil)
	if err != nil || len(third) != 1 || third[0].Seq != 8 {
		t.Fatalf("ReadFrames = %v, %v; want frame 8 finished", third, err)
	}
	for i, f := range append(first, append(second, third...)...) {
		n := byte(i%8 + 1)
		if f.Seq != uint32(n) || !bytes.Equal(f.Body, bytes.Repeat([]byte{n}, 64)) {
			t.Fatalf("frame %d: %v body %x", i, f, f.Body)
		}
	}
	if _, err := r.ReadFrames(nil); err != io.EOF {
		t.Fatalf("ReadFrames at the end = %v, want EOF", err)
	}
}
