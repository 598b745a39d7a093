package zk4370

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecodeFrame: any bytes decode to a packet or an error, never a panic;
// a decoded packet re-encodes to the bytes it came from, and ReadFrame agrees
// with DecodeFrame.
func FuzzDecodeFrame(f *testing.F) {
	for name, b := range loadVectors(f, "testdata/frames.txt") {
		if name == "capture-options" || name == "capture-ack" {
			b = AppendFrame(nil, Packet{Cmd: uint16(b[0]) | uint16(b[1])<<8, Data: b[8:]})
		}
		f.Add(b)
	}
	f.Add([]byte{0x50, 0x50, 0x82, 0x7d, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, n, err := DecodeFrame(b)
		rp, _, rerr := ReadFrame(bytes.NewReader(b), nil)
		if err != nil {
			if !errors.Is(err, ErrShort) && rerr == nil {
				t.Fatalf("DecodeFrame: %v, ReadFrame accepted %v", err, rp)
			}
			return
		}
		if rerr != nil || !bytes.Equal(rp.Data, p.Data) || rp.Cmd != p.Cmd {
			t.Fatalf("ReadFrame %v, %v; DecodeFrame %v", rp, rerr, p)
		}
		if got := AppendFrame(nil, p); !bytes.Equal(got, b[:n]) {
			t.Fatalf("re-encoded % x, from % x", got, b[:n])
		}
	})
}

// FuzzDecodePayload: the UDP form.
func FuzzDecodePayload(f *testing.F) {
	for _, b := range loadVectors(f, "testdata/frames.txt") {
		if len(b) > PrefixLen && bytes.Equal(b[:4], magic[:]) {
			b = b[PrefixLen:]
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodePayload(b)
		if err != nil {
			return
		}
		if got := AppendPayload(nil, p); !bytes.Equal(got, b) {
			t.Fatalf("re-encoded % x, from % x", got, b)
		}
	})
}

// FuzzDecodeAttLog: a log in any layout decodes or fails with a value; what
// decodes re-encodes to the same bytes, except the 40-byte layout's reserved
// bytes and PIN padding, which the decoder ignores (then it decodes again to
// the same records).
func FuzzDecodeAttLog(f *testing.F) {
	vec := loadVectors(f, "testdata/records.txt")
	for _, name := range []string{"log-8", "log-16", "log-40"} {
		b := vec[name]
		f.Add(AppendTable(nil, append(bytes.Clone(b), b...)), len(b))
	}
	f.Add([]byte{0, 0, 0, 0}, 40)
	f.Fuzz(func(t *testing.T, b []byte, size int) {
		recs, err := DecodeAttLog(b, size)
		if err != nil {
			return
		}
		var body []byte
		for _, r := range recs {
			if body, err = AppendAttRecord(body, r, size); err != nil {
				t.Fatalf("decoded %+v does not re-encode: %v", r, err)
			}
		}
		again, err := DecodeAttLog(AppendTable(nil, body), size)
		if err != nil || len(again) != len(recs) {
			t.Fatalf("re-decoded %d records, %v; want %d", len(again), err, len(recs))
		}
		for i := range recs {
			if again[i] != recs[i] {
				t.Fatalf("record %d: %+v became %+v", i, recs[i], again[i])
			}
		}
	})
}

// FuzzDecodeRealtime: real-time punches decode or fail with a value.
func FuzzDecodeRealtime(f *testing.F) {
	vec := loadVectors(f, "testdata/records.txt")
	f.Add(vec["rt-10"])
	f.Add(vec["rt-12"])
	fv := loadVectors(f, "testdata/frames.txt")["rt-punch-32"][PrefixLen+HeaderLen:]
	f.Add(fv)
	f.Add(append(append(bytes.Clone(fv), make([]byte, 20)...), fv...))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := DecodeRealtime(b)
		if err != nil {
			return
		}
		for _, r := range recs {
			if _, err := AppendRealtime(nil, r, RTSize32); err != nil {
				t.Fatalf("decoded %+v does not re-encode: %v", r, err)
			}
		}
	})
}

// FuzzDecodeUsers: a user table decodes or fails with a value.
func FuzzDecodeUsers(f *testing.F) {
	u, _ := AppendUser(nil, User{SN: 3, Name: "Li Wei", PIN: "10042", Group: "1"})
	f.Add(AppendTable(nil, u))
	f.Fuzz(func(t *testing.T, b []byte) {
		us, err := DecodeUsers(b)
		if err != nil {
			return
		}
		for _, u := range us {
			if u.SN == 0 {
				continue // the terminal's data, not ours to refuse on read
			}
			if _, err := AppendUser(nil, u); err != nil && !errors.Is(err, ErrRecord) {
				t.Fatalf("%+v: %v", u, err)
			}
		}
	})
}
