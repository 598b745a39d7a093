package escpos

import (
	"errors"
	"testing"
)

func TestDecodeStatusBits(t *testing.T) {
	ready := [4]byte{0x12, 0x12, 0x12, 0x12}
	for _, tc := range []struct {
		n    int  // answer 1–4
		bit  byte // set in that answer
		want Status
	}{
		{1, 0x04, Status{Online: true, DrawerHigh: true}},
		{1, 0x08, Status{}},
		{1, 0x20, Status{Online: true}}, // undefined
		{1, 0x40, Status{Online: true}}, // undefined
		{2, 0x04, Status{Online: true, CoverOpen: true}},
		{2, 0x08, Status{Online: true, FeedButton: true}},
		{2, 0x20, Status{Online: true, PaperStop: true, PaperEnd: true}},
		{2, 0x40, Status{Online: true, Error: true}},
		{3, 0x04, Status{Online: true}}, // undefined on some models
		{3, 0x08, Status{Online: true, CutterError: true, Error: true}},
		{3, 0x20, Status{Online: true, Unrecover: true, Error: true}},
		{3, 0x40, Status{Online: true, AutoRecover: true, Error: true}},
		{4, 0x0C, Status{Online: true, PaperNearEnd: true}},
		{4, 0x04, Status{Online: true}}, // half the near-end field: sensor noise
		{4, 0x60, Status{Online: true, PaperEnd: true}},
		{4, 0x20, Status{Online: true, PaperEnd: true}}, // half the paper-end field: the safe side
	} {
		ans := ready
		ans[tc.n-1] |= tc.bit
		got, err := DecodeStatus(ans)
		if err != nil {
			t.Errorf("% X: %v", ans, err)
			continue
		}
		tc.want.Raw = ans
		if got != tc.want {
			t.Errorf("answer %d bit 0x%02X: got %+v; want %+v", tc.n, tc.bit, got, tc.want)
		}
	}
}

func TestDecodeStatusInvalid(t *testing.T) {
	for n := range 4 {
		for _, bad := range []byte{0x13, 0x92, 0x10, 0x02, 0x00, 0xFF} {
			ans := [4]byte{0x12, 0x12, 0x12, 0x12}
			ans[n] = bad
			if s, err := DecodeStatus(ans); !errors.Is(err, ErrBadStatus) {
				t.Errorf("% X: %+v, %v; want ErrBadStatus", ans, s, err)
			}
		}
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		s    Status
		want Outcome
	}{
		{Status{Online: true}, Printed},
		{Status{Online: true, PaperNearEnd: true, DrawerHigh: true, FeedButton: true}, Printed},
		{Status{}, Offline},
		{Status{PaperEnd: true, CoverOpen: true}, PaperEnd},
		{Status{CoverOpen: true, Error: true}, CoverOpen},
		{Status{Error: true, CutterError: true}, Failed},
		{Status{Online: true, Error: true}, Failed},
	} {
		if got := Classify(tc.s); got != tc.want {
			t.Errorf("Classify(%+v) = %s; want %s", tc.s, got, tc.want)
		}
	}
}

func FuzzDecodeStatus(f *testing.F) {
	for _, s := range [][]byte{{0x12, 0x12, 0x12, 0x12}, {0x1A, 0x32, 0x12, 0x7E}, {0x1A, 0x52, 0x1A, 0x12}, {0, 0, 0, 0}} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, a, b, c, d byte) {
		ans := [4]byte{a, b, c, d}
		s, err := DecodeStatus(ans)
		valid := true
		for _, x := range ans {
			valid = valid && x&0x93 == 0x12
		}
		if valid != (err == nil) {
			t.Fatalf("% X: valid %v, error %v", ans, valid, err)
		}
		if err != nil {
			return
		}
		if s.Raw != ans {
			t.Fatalf("Raw %X; want %X", s.Raw, ans)
		}
		// Printed only for a printer that is online with no fault, whatever else it says.
		if Classify(s) == Printed && (!s.Online || s.PaperEnd || s.CoverOpen || s.Error) {
			t.Fatalf("% X: %+v classified printed", ans, s)
		}
	})
}
