package frame

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"
)

func seedWires(f *testing.F) {
	for _, v := range loadVectors(f) {
		if v.Get("kind") != "frame" {
			continue
		}
		w, err := v.Hex("wire")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(w)
	}
}

func sameFrame(a, b Frame) bool {
	return a.Version == b.Version && a.Type == b.Type && a.Flags == b.Flags && a.Seq == b.Seq && a.Ack == b.Ack &&
		bytes.Equal(a.Body, b.Body) && a.KeyEpoch == b.KeyEpoch && a.Tag == b.Tag
}

// FuzzDecode: decoding never panics, and a frame that decodes re-encodes
// to a frame that decodes to the same thing.
func FuzzDecode(f *testing.F) {
	seedWires(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := Decode(b)
		if err != nil {
			if ReasonOf(err) == ReasonNone {
				t.Fatalf("error without a reason: %v", err)
			}
			return
		}
		w, err := Append(nil, fr, nil)
		if err != nil {
			t.Fatalf("re-encode of %v: %v", fr, err)
		}
		g, err := Decode(w)
		if err != nil {
			t.Fatalf("decode of re-encoding: %v", err)
		}
		if !sameFrame(fr, g) {
			t.Fatalf("round trip: %v became %v", fr, g)
		}
		_ = fr.Verify(&testAuth) // must not panic either
	})
}

// FuzzReader: the splitter never panics, never holds more than one
// maximal frame, accounts for every delimited chunk, and returns only
// frames that decode on their own.
func FuzzReader(f *testing.F) {
	var all []byte
	for _, v := range loadVectors(f) {
		if w, err := v.Hex("wire"); err == nil && v.Get("kind") == "frame" {
			all = append(all, w...)
		}
	}
	f.Add(all)
	f.Add(append([]byte("noise"), all...))
	seedWires(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, rd := range []io.Reader{bytes.NewReader(b), iotest.OneByteReader(bytes.NewReader(b))} {
			r := NewReader(rd, &ReaderOptions{ReadSize: 7})
			var frames []Frame
			for {
				fr, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("Next: %v", err)
				}
				frames = append(frames, fr)
				if cap(r.acc) != MaxWireLen-1 {
					t.Fatalf("buffer grew to %d", cap(r.acc))
				}
			}
			s := r.Stats()
			if s.Frames != uint64(len(frames)) || s.Bytes != uint64(len(b)) {
				t.Fatalf("stats %+v for %d frames of %d bytes", s, len(frames), len(b))
			}
			// Every delimiter ends exactly one good, empty or dropped frame,
			// except those ending a run already dropped as oversize.
			delims := uint64(bytes.Count(b, []byte{0}))
			if accounted := s.Frames + s.Empty + s.Dropped(); accounted > delims+1 || accounted+s.Drops[ReasonOversize] < delims {
				t.Fatalf("%d delimiters, %d accounted (%+v)", delims, accounted, s)
			}
			for _, fr := range frames {
				w, err := Append(nil, fr, nil)
				if err != nil {
					t.Fatal(err)
				}
				if g, err := Decode(w); err != nil || !sameFrame(fr, g) {
					t.Fatalf("frame %v does not round-trip: %v", fr, err)
				}
			}
		}
		// ReadFrames splits the same stream into the same frames, whatever
		// the read size, and never returns an empty batch without an error.
		for _, size := range []int{7, DefaultReadSize} {
			var want []Frame
			nr := NewReader(bytes.NewReader(b), &ReaderOptions{ReadSize: size})
			for {
				fr, err := nr.Next()
				if err != nil {
					break
				}
				want = append(want, fr)
			}
			r := NewReader(bytes.NewReader(b), &ReaderOptions{ReadSize: size})
			var got []Frame
			for {
				n := len(got)
				var err error
				got, err = r.ReadFrames(got)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("ReadFrames: %v", err)
				}
				if len(got) == n {
					t.Fatal("ReadFrames returned no frame and no error")
				}
			}
			if len(got) != len(want) {
				t.Fatalf("read size %d: ReadFrames gave %d frames, Next %d", size, len(got), len(want))
			}
			for i := range got {
				if !sameFrame(got[i], want[i]) {
					t.Fatalf("read size %d: frame %d is %v by ReadFrames, %v by Next", size, i, got[i], want[i])
				}
			}
			if s, ns := r.Stats(), nr.Stats(); s != ns {
				t.Fatalf("read size %d: stats %+v by ReadFrames, %+v by Next", size, s, ns)
			}
		}
	})
}
