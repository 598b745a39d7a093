package zk4370

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// loadVectors reads a golden file: "= name" starts a vector, "#" a comment,
// the rest is hex.
func loadVectors(t testing.TB, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]byte{}
	var name string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "=") {
			name = strings.TrimSpace(line[1:])
			out[name] = []byte{}
			continue
		}
		b, err := hex.DecodeString(strings.ReplaceAll(line, " ", ""))
		if err != nil || name == "" {
			t.Fatalf("%s: bad line %q: %v", path, line, err)
		}
		out[name] = append(out[name], b...)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

var frameVectors = []struct {
	name string
	tcp  bool
	p    Packet
}{
	{"connect", true, Packet{Cmd: CmdConnect}},
	{"connect-unauth", true, Packet{Cmd: CmdAckUnauth, Session: 0x2c5e}},
	{"auth", true, Packet{Cmd: CmdAuth, Session: 0x2c5e, Reply: 1, Data: []byte{0x26, 0x7f, 0x32, 0xd5}}},
	{"ack-ok", true, Packet{Cmd: CmdAckOK, Session: 0x2c5e, Reply: 1}},
	{"reg-event", true, Packet{Cmd: CmdRegEvent, Session: 0x2c5e, Reply: 2, Data: []byte{1, 0, 0, 0}}},
	{"rt-punch-32", true, Packet{Cmd: CmdRegEvent, Session: EFAttLog, Data: append(append([]byte("10042"), make([]byte, 19)...), 1, 0, 26, 12, 6, 8, 59, 58)}},
	{"rt-ack", true, Packet{Cmd: CmdAckOK, Session: 0x2c5e}},
	{"set-time", true, Packet{Cmd: CmdSetTime, Session: 0x2c5e, Reply: 3,
		Data: binary.LittleEndian.AppendUint32(nil, EncodeTime(Stamp{2026, 12, 6, 9, 0, 0}))}},
	{"prepare-attlog", true, Packet{Cmd: CmdPrepareBuffer, Session: 0x2c5e, Reply: 4,
		Data: AppendPrepareBuffer(nil, PrepareBuffer{Table: CmdAttLogRRQ})}},
	{"capture-options", false, Packet{Cmd: CmdOptionsRRQ, Session: 0x8df3, Reply: 3, Data: []byte("ZKFaceVersion\x00")}},
	{"capture-ack", false, Packet{Cmd: CmdAckOK, Session: 0x8df3, Reply: 10, Data: []byte{9}}},
}

func TestFrameVectors(t *testing.T) {
	vec := loadVectors(t, "testdata/frames.txt")
	if len(vec) != len(frameVectors) {
		t.Errorf("testdata/frames.txt holds %d vectors, the table %d", len(vec), len(frameVectors))
	}
	for _, tc := range frameVectors {
		want, ok := vec[tc.name]
		if !ok {
			t.Errorf("%s: not in testdata", tc.name)
			continue
		}
		var got []byte
		if tc.tcp {
			got = AppendFrame(nil, tc.p)
		} else {
			got = AppendPayload(nil, tc.p)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: encoded\n% x\nwant\n% x", tc.name, got, want)
		}
		var p Packet
		var err error
		if tc.tcp {
			var n int
			p, n, err = DecodeFrame(want)
			if err == nil && n != len(want) {
				t.Errorf("%s: decoded %d bytes of %d", tc.name, n, len(want))
			}
		} else {
			p, err = DecodePayload(want)
		}
		if err != nil {
			t.Errorf("%s: decode: %v", tc.name, err)
			continue
		}
		if len(p.Data) == 0 {
			p.Data = nil
		}
		if !reflect.DeepEqual(p, tc.p) {
			t.Errorf("%s: decoded %+v, want %+v", tc.name, p, tc.p)
		}
	}
}

// TestPublishedCaptures checks the checksum against the two captures the
// community description publishes, as hex strings copied from it.
func TestPublishedCaptures(t *testing.T) {
	for _, s := range []string{"0b005a17f38d03005a4b4661636556657273696f6e00", "d007296af38d0a0009"} {
		b, _ := hex.DecodeString(s)
		if _, err := DecodePayload(b); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
}

func TestDecodeRefusals(t *testing.T) {
	good := AppendFrame(nil, Packet{Cmd: CmdGetTime, Session: 9, Reply: 4, Data: []byte{1, 2, 3}})
	bad := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	huge := binary.LittleEndian.AppendUint32(bytes.Clone(magic[:]), MaxPayload+1)
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"checksum", bad(func(b []byte) []byte { b[10] ^= 1; return b }), ErrChecksum},
		{"data bit", bad(func(b []byte) []byte { b[17] ^= 0x80; return b }), ErrChecksum},
		{"magic", bad(func(b []byte) []byte { b[0] = 0x51; return b }), ErrMagic},
		{"truncated", good[:len(good)-1], ErrShort},
		{"prefix only", good[:PrefixLen], ErrShort},
		{"length below header", bad(func(b []byte) []byte { b[4] = 7; return b }), ErrShort},
		{"huge length", huge, ErrTooLarge},
	} {
		if _, _, err := DecodeFrame(tc.b); !errors.Is(err, tc.want) {
			t.Errorf("%s: DecodeFrame = %v, want %v", tc.name, err, tc.want)
		}
		_, _, err := ReadFrame(bytes.NewReader(tc.b), nil)
		if tc.want == ErrShort && tc.name == "truncated" || tc.name == "prefix only" {
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("%s: ReadFrame = %v, want unexpected EOF", tc.name, err)
			}
		} else if !errors.Is(err, tc.want) {
			t.Errorf("%s: ReadFrame = %v, want %v", tc.name, err, tc.want)
		}
	}
	// A hostile length is refused before anything is allocated for it.
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		ReadFrame(bytes.NewReader(huge), nil)
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
		t.Errorf("10 ReadFrames of a hostile length allocated %d bytes", n)
	}
	if _, _, err := ReadFrame(bytes.NewReader(nil), nil); err != io.EOF {
		t.Errorf("ReadFrame at a clean end = %v, want io.EOF", err)
	}
}

func TestRecordVectors(t *testing.T) {
	vec := loadVectors(t, "testdata/records.txt")
	when := Stamp{2026, 12, 6, 8, 59, 58}
	logs := []struct {
		name string
		r    AttRecord
	}{
		{"log-40", AttRecord{UserSN: 7, PIN: "10042", Time: when, Verify: 1, State: 0}},
		{"log-16", AttRecord{PIN: "10042", Time: when, Verify: 15, State: 1, WorkCode: 3}},
		{"log-8", AttRecord{UserSN: 42, PIN: "42", Time: when, Verify: 2, State: 4}},
	}
	for _, tc := range logs {
		b := vec[tc.name]
		got, err := DecodeAttRecord(b)
		if err != nil || got != tc.r {
			t.Errorf("%s: decoded %+v, %v; want %+v", tc.name, got, err, tc.r)
		}
		enc, err := AppendAttRecord(nil, tc.r, len(b))
		if err != nil || !bytes.Equal(enc, b) {
			t.Errorf("%s: encoded % x, %v; want % x", tc.name, enc, err, b)
		}
		recs, err := DecodeAttLog(AppendTable(nil, append(bytes.Clone(b), b...)), len(b))
		if err != nil || len(recs) != 2 || recs[1] != tc.r {
			t.Errorf("%s: a log of two decoded to %+v, %v", tc.name, recs, err)
		}
	}
	rts := []struct {
		name string
		r    AttRecord
	}{
		{"rt-12", AttRecord{PIN: "10042", Time: when, Verify: 1}},
		{"rt-10", AttRecord{PIN: "42", Time: when, Verify: 2, State: 1}},
	}
	for _, tc := range rts {
		b := vec[tc.name]
		got, err := DecodeRealtime(b)
		if err != nil || len(got) != 1 || got[0] != tc.r {
			t.Errorf("%s: decoded %+v, %v; want %+v", tc.name, got, err, tc.r)
		}
		enc, err := AppendRealtime(nil, tc.r, len(b))
		if err != nil || !bytes.Equal(enc, b) {
			t.Errorf("%s: encoded % x, %v; want % x", tc.name, enc, err, b)
		}
	}
	// The 32-byte layout of the frame vector, and two long punches in one packet.
	fv := frameVectors[5].p.Data
	got, err := DecodeRealtime(fv)
	if err != nil || len(got) != 1 || got[0] != (AttRecord{PIN: "10042", Time: when, Verify: 1}) {
		t.Errorf("rt-32: %+v, %v", got, err)
	}
	long := append(append(bytes.Clone(fv), make([]byte, 20)...), fv...)
	if got, err := DecodeRealtime(long); err != nil || len(got) != 2 {
		t.Errorf("52+32 bytes: %+v, %v", got, err)
	}
}

func TestRecordRefusals(t *testing.T) {
	vec := loadVectors(t, "testdata/records.txt")
	feb31 := bytes.Clone(vec["log-40"])
	binary.LittleEndian.PutUint32(feb31[27:], EncodeTime(Stamp{2026, 2, 31, 8, 0, 0}))
	noPIN := bytes.Clone(vec["log-40"])
	clear(noPIN[2:26])
	ctrl := bytes.Clone(vec["log-40"])
	ctrl[3] = '\n'
	for name, b := range map[string][]byte{"feb 31": feb31, "empty PIN": noPIN, "control byte": ctrl, "39 bytes": vec["log-40"][:39]} {
		if _, err := DecodeAttRecord(b); !errors.Is(err, ErrRecord) {
			t.Errorf("%s: %v, want ErrRecord", name, err)
		}
	}
	if _, err := DecodeAttLog([]byte{41, 0, 0, 0}, 40); !errors.Is(err, ErrRecord) {
		t.Errorf("log with a lying length: %v", err)
	}
	if _, err := DecodeRealtime(make([]byte, 20)); !errors.Is(err, ErrRecord) {
		t.Errorf("20-byte real-time punch: %v", err)
	}
	badHour := bytes.Clone(vec["rt-12"])
	badHour[9] = 24
	if _, err := DecodeRealtime(badHour); !errors.Is(err, ErrRecord) {
		t.Errorf("hour 24: %v", err)
	}
}

func TestRecordSizeOf(t *testing.T) {
	for _, tc := range []struct{ body, count, want int }{{80, 2, 40}, {80, 5, 16}, {80, 10, 8}, {0, 0, 40}} {
		if got, err := RecordSizeOf(tc.body, tc.count); err != nil || got != tc.want {
			t.Errorf("RecordSizeOf(%d, %d) = %d, %v; want %d", tc.body, tc.count, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ body, count int }{{80, 3}, {80, 4}, {8, 0}, {120, 2}} {
		if _, err := RecordSizeOf(tc.body, tc.count); !errors.Is(err, ErrRecord) {
			t.Errorf("RecordSizeOf(%d, %d) = %v, want ErrRecord", tc.body, tc.count, err)
		}
	}
}

func TestTimeRoundTrip(t *testing.T) {
	for _, s := range []Stamp{{2000, 1, 1, 0, 0, 0}, {2026, 12, 31, 23, 59, 59}, {2024, 2, 29, 12, 0, 1}, {2099, 12, 31, 23, 59, 59}} {
		got, err := DecodeTime(EncodeTime(s))
		if err != nil || got != s {
			t.Errorf("%s: round trip %s, %v", s, got, err)
		}
	}
}

// TestCommKey: the scrambled key of the frame vector, recomputed from the
// steps in doc.go §2.1, and the check a terminal makes with any tick.
func TestCommKey(t *testing.T) {
	if got := CommKey(123456, 0x2c5e, 50); got != [4]byte{0x26, 0x7f, 0x32, 0xd5} {
		t.Errorf("CommKey = % x", got)
	}
	for tick := 0; tick < 256; tick += 17 {
		k := CommKey(123456, 7, byte(tick))
		// Sessions 7 and 0x107 differ in the byte the tick replaces' neighbour;
		// 7 and 8 would not differ at all: the tick overwrites the low byte.
		if !CheckCommKey(k[:], 123456, 7) || CheckCommKey(k[:], 123457, 7) || CheckCommKey(k[:], 123456, 0x107) {
			t.Errorf("tick %d: check accepts the wrong key or refuses the right one", tick)
		}
	}
	if CheckCommKey([]byte{1, 2, 3}, 0, 0) {
		t.Error("3 bytes accepted")
	}
}

func TestUserRoundTrip(t *testing.T) {
	u := User{SN: 3, Privilege: PrivAdmin, Name: "Li Wei", Card: 1234567, Group: "1", PIN: "10042"}
	b, err := AppendUser(nil, u)
	if err != nil || len(b) != UserRecordSize {
		t.Fatalf("AppendUser = %d bytes, %v", len(b), err)
	}
	if !bytes.Equal(b[3:11], make([]byte, 8)) {
		t.Errorf("password field % x, want zeros", b[3:11])
	}
	us, err := DecodeUsers(AppendTable(nil, b))
	if err != nil || len(us) != 1 || us[0] != u {
		t.Errorf("DecodeUsers = %+v, %v; want %+v", us, err, u)
	}
	if _, err := AppendUser(nil, User{SN: 1, PIN: "1", Name: strings.Repeat("x", 25)}); !errors.Is(err, ErrRecord) {
		t.Errorf("25-byte name: %v", err)
	}
}

func TestFreeSizesRoundTrip(t *testing.T) {
	s := FreeSizes{Users: 3, Records: 120, UserCap: 3000, RecordCap: 100000, RecordsFree: 99880}
	got, err := DecodeFreeSizes(AppendFreeSizes(nil, s))
	if err != nil || got != s {
		t.Errorf("got %+v, %v", got, err)
	}
	if _, err := DecodeFreeSizes(make([]byte, 79)); !errors.Is(err, ErrShort) {
		t.Errorf("79 bytes: %v", err)
	}
}

func TestParseOption(t *testing.T) {
	if v, err := ParseOption([]byte("~SerialNumber=BJ2C194960123\x00"), "~SerialNumber"); err != nil || v != "BJ2C194960123" {
		t.Errorf("got %q, %v", v, err)
	}
	if _, err := ParseOption([]byte("~DeviceName=x\x00"), "~SerialNumber"); err == nil {
		t.Error("wrong option accepted")
	}
}
