package fwemu

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

func termOpts(dir string) Options {
	return Options{StatePath: filepath.Join(dir, "flash"), HardwareID: "TERM-0001", Kind: msg.KindAttendance, Seed: 7}
}

func newTerm(t *testing.T, o Options) *Emulator {
	t.Helper()
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// do runs one command as the link would hand it over: encoded and decoded,
// so args hold what CBOR gives (uint64, not int).
func do(t *testing.T, e *Emulator, name string, args map[string]any) *msg.Result {
	t.Helper()
	b, err := msg.Marshal(&msg.Command{ID: "c-" + name, Name: name, Args: args})
	if err != nil {
		t.Fatal(err)
	}
	m, err := msg.Unmarshal(frame.TypeCommand, b)
	if err != nil {
		t.Fatal(err)
	}
	return e.command(context.Background(), m.(*msg.Command))
}

func wantOK(t *testing.T, r *msg.Result, want string) {
	t.Helper()
	if r.Status != msg.StatusOK || fmt.Sprint(r.Data) != want {
		t.Fatalf("result %v %q %v, want ok %s", r.Status, r.Error, r.Data, want)
	}
}

func wantStatus(t *testing.T, r *msg.Result, st msg.Status, text string) {
	t.Helper()
	if r.Status != st || !strings.Contains(r.Error, text) {
		t.Fatalf("result %v %q %v, want status %v with %q", r.Status, r.Error, r.Data, st, text)
	}
}

func TestUsersPersistAcrossRestart(t *testing.T) {
	o := termOpts(t.TempDir())
	e := newTerm(t, o)
	wantOK(t, do(t, e, "user_upsert", map[string]any{"user": "10042", "name": "Li Wei", "card": "12:345", "role": "admin", "enabled": true}),
		"map[created:true user:10042]")
	wantOK(t, do(t, e, "user_upsert", map[string]any{"user": "10042", "name": "Li Wei", "enabled": false}),
		"map[created:false user:10042]") // replaced whole: card and role gone
	wantOK(t, do(t, e, "user_upsert", map[string]any{"user": "7"}), "map[created:true user:7]")
	wantOK(t, do(t, e, "user_upsert", map[string]any{"user": "8"}), "map[created:true user:8]")
	wantOK(t, do(t, e, "user_delete", map[string]any{"user": "8"}), "map[deleted:true user:8]")
	wantOK(t, do(t, e, "user_delete", map[string]any{"user": "9"}), "map[deleted:false user:9]")
	wantStatus(t, do(t, e, "user_delete", map[string]any{"user": "a b"}), msg.StatusError, "user")
	wantStatus(t, do(t, e, "user_upsert", map[string]any{"user": "1", "role": "root"}), msg.StatusError, "role")
	// No Close: every change is in the file when the command is answered.
	e2 := newTerm(t, o)
	want := map[string]User{"10042": {Name: "Li Wei", Role: "user"}, "7": {Role: "user", Enabled: true}}
	if got := e2.Users(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after restart users = %+v, want %+v", got, want)
	}
}

func TestUserBiometricRefused(t *testing.T) {
	e := newTerm(t, termOpts(t.TempDir()))
	for _, args := range []map[string]any{
		{"user": "1", "face_template": "AAAA"},
		{"user": "1", "fingerprint": []byte{1, 2, 3}},
		{"user": "1", "Photo": "x"},
		{"user": "1", "blob": make([]byte, 65)},
	} {
		r := do(t, e, "user_upsert", args)
		wantStatus(t, r, msg.StatusError, "biometric data refused")
	}
	if u := e.Users(); len(u) != 0 {
		t.Fatalf("users %v after refusals", u)
	}
}

func TestUserTableFull(t *testing.T) {
	e := newTerm(t, termOpts(t.TempDir()))
	e.mu.Lock()
	e.st.Users = map[string]User{}
	for i := range MaxUsers {
		e.st.Users[fmt.Sprint(i)] = User{Role: "user"}
	}
	e.mu.Unlock()
	wantStatus(t, do(t, e, "user_upsert", map[string]any{"user": "new"}), msg.StatusError, "user table full")
	wantOK(t, do(t, e, "user_upsert", map[string]any{"user": "5"}), "map[created:false user:5]")
}

func TestDoorPulse(t *testing.T) {
	dir := t.TempDir()
	unwired := newTerm(t, termOpts(dir))
	wantStatus(t, do(t, unwired, "door_pulse", nil), msg.StatusError, "no door relay wired")

	o := termOpts(t.TempDir())
	o.Door = true
	e := newTerm(t, o)
	wantOK(t, do(t, e, "door_pulse", map[string]any{"ms": 100}), "map[ms:100]")
	// The relay is released when the pulse ends; until then, busy.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		r := do(t, e, "door_pulse", nil)
		if r.Status == msg.StatusOK {
			wantOK(t, r, "map[ms:3000]")
			break
		}
		wantStatus(t, r, msg.StatusBusy, "")
		select {
		case <-ctx.Done():
			t.Fatal("the 100 ms pulse never ended")
		case <-time.After(5 * time.Millisecond):
		}
	}
	wantStatus(t, do(t, e, "door_pulse", map[string]any{"ms": 10000}), msg.StatusBusy, "")
	if got := e.DoorPulses(); !reflect.DeepEqual(got, []time.Duration{100 * time.Millisecond, 3 * time.Second}) {
		t.Fatalf("pulses %v", got)
	}
	for _, bad := range []any{99, 10001, "3000", -5} {
		e := newTerm(t, o) // a relay at rest, so that only the arg is wrong
		wantStatus(t, do(t, e, "door_pulse", map[string]any{"ms": bad}), msg.StatusError, "ms")
	}
}

// emitAt records punches with the device clock set to each time in turn.
func emitAt(t *testing.T, e *Emulator, times ...uint64) []msg.EventID {
	t.Helper()
	var ids []msg.EventID
	for i, at := range times {
		now, _ := e.clock.Now()
		e.clock.Adjust(int64(at) - int64(now))
		id, err := e.Emit("punch", map[string]any{"user": fmt.Sprint(100 + i), "verify": "card", "state": uint64(0)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

const minute = 60_000

func TestAttendanceFetch(t *testing.T) {
	o := termOpts(t.TempDir())
	e := newTerm(t, o)
	base := uint64(1795482000000) // 2026-11-24T01:00:00Z
	// Out of time order: the clock was stepped back before the last one.
	ids := emitAt(t, e, base, base+minute, base+2*minute, base+3*minute, base+4*minute, base+90_000)
	if _, err := e.Emit("occupancy", map[string]any{"occupied": true}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.AttendanceLog()); n != 6 {
		t.Fatalf("log holds %d, want the 6 punches", n)
	}
	e.store().Ack(ids[len(ids)-1]) // the gateway has them: the log keeps them
	held := e.Held()

	for _, tc := range []struct {
		args  map[string]any
		want  string
		users []string // replayed, in order
	}{
		{map[string]any{"since_ms": base + minute, "until_ms": base + 3*minute, "limit": 10},
			"map[count:3 more:false]", []string{"101", "105", "102"}},
		{map[string]any{"since_ms": base, "limit": 2},
			"map[count:2 more:true]", []string{"100", "101"}},
		{map[string]any{"since_ms": base + 4*minute}, "map[count:1 more:false]", []string{"104"}},
		{map[string]any{"since_ms": base + 5*minute}, "map[count:0 more:false]", nil},
		{map[string]any{"since_ms": 0, "until_ms": base}, "map[count:0 more:false]", nil},
	} {
		before := e.Held()
		wantOK(t, do(t, e, "attendance_fetch", tc.args), tc.want)
		evs := e.store().Next(msg.EventID{}, 1<<20)[before:]
		var users []string
		for _, ev := range evs {
			users = append(users, ev.Data["user"].(string))
		}
		if !reflect.DeepEqual(users, tc.users) {
			t.Fatalf("fetch %v replayed %v, want %v", tc.args, users, tc.users)
		}
	}
	if n := len(e.AttendanceLog()); n != 6 {
		t.Fatalf("log holds %d after fetches, want 6: replays are not logged again", n)
	}

	// Replays carry the original id and time, under new ids.
	log := e.AttendanceLog()
	orig := map[string]msg.Event{}
	for _, ev := range log {
		orig[ev.Data["user"].(string)] = ev
	}
	replays := e.store().Next(msg.EventID{}, 1<<20)[held:]
	last := ids[len(ids)-1]
	for _, ev := range replays {
		o := orig[ev.Data["user"].(string)]
		wantReplay := map[string]any{"boot": uint64(o.ID.Boot), "seq": uint64(o.ID.Seq)}
		if ev.Kind != "punch" || ev.Time != o.Time || ev.Clock != msg.ClockSet ||
			!reflect.DeepEqual(ev.Data["replay"], wantReplay) || ev.Data["verify"] != "card" {
			t.Fatalf("replay %+v of %+v", ev, o)
		}
		if ev.ID.Seq <= last.Seq || ev.ID.Boot != last.Boot {
			t.Fatalf("replay id %v not after %v", ev.ID, last)
		}
		last = ev.ID
	}
	if len(replays) != 6 {
		t.Fatalf("%d replays, want 6", len(replays))
	}

	for _, bad := range []map[string]any{
		{},
		{"since_ms": "0"},
		{"since_ms": base, "until_ms": base},
		{"since_ms": base, "limit": 0},
		{"since_ms": base, "limit": 5001},
	} {
		wantStatus(t, do(t, e, "attendance_fetch", bad), msg.StatusError, "")
	}
}

func TestAttendanceFetchStoreFull(t *testing.T) {
	o := termOpts(t.TempDir())
	o.Capacity = 3
	e := newTerm(t, o)
	emitAt(t, e, 1000, 2000)
	wantOK(t, do(t, e, "attendance_fetch", map[string]any{"since_ms": 0}), "map[count:1 more:true]")
	wantStatus(t, do(t, e, "attendance_fetch", map[string]any{"since_ms": 0}), msg.StatusBusy, "")
	if e.Lost() != 0 {
		t.Fatalf("%d lost: a fetch must not overflow the store", e.Lost())
	}
}

func TestAttendanceLogCapacity(t *testing.T) {
	o := termOpts(t.TempDir())
	o.LogCapacity = 3
	e := newTerm(t, o)
	ids := emitAt(t, e, 1000, 2000, 3000, 4000, 5000)
	check := func(e *Emulator) {
		t.Helper()
		var got []msg.EventID
		for _, ev := range e.AttendanceLog() {
			got = append(got, ev.ID)
		}
		if !reflect.DeepEqual(got, ids[2:]) {
			t.Fatalf("log %v, want the newest %v", got, ids[2:])
		}
	}
	check(e)
	check(newTerm(t, o))
	o.LogCapacity = 2 // a smaller log after an upgrade drops the oldest
	e = newTerm(t, o)
	ids = ids[1:]
	check(e)
}

func TestNotATerminal(t *testing.T) {
	o := termOpts(t.TempDir())
	o.Kind, o.Door = msg.KindRoomPanel, true
	e := newTerm(t, o)
	for _, name := range []string{"user_upsert", "door_pulse", "attendance_fetch"} {
		wantStatus(t, do(t, e, name, map[string]any{"user": "1"}), msg.StatusUnsupported, name)
	}
	if _, err := e.Emit("punch", map[string]any{"user": "1"}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.AttendanceLog()); n != 0 {
		t.Fatalf("a panel logged %d punches", n)
	}
}

// TestOldStateFile loads a state file written before the terminal
// application (keys 1–11 only), with a record waiting.
func TestOldStateFile(t *testing.T) {
	o := termOpts(t.TempDir())
	body, err := msg.Marshal(&msg.Event{ID: msg.EventID{Boot: 4, Seq: 9}, Kind: "punch", Time: 1000, Data: map[string]any{"user": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	old, err := cbor.Marshal(map[int]any{1: 4, 2: [][]byte{body}, 3: 0, 6: map[int]any{1: "1.0.0"}, 8: 0})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(o.StatePath, old, 0o600); err != nil {
		t.Fatal(err)
	}
	e := newTerm(t, o)
	if e.Boot() != 5 || e.Held() != 1 || len(e.Users()) != 0 || len(e.AttendanceLog()) != 0 {
		t.Fatalf("old state loaded as boot %d, %d held, users %v, log %v", e.Boot(), e.Held(), e.Users(), e.AttendanceLog())
	}
	wantOK(t, do(t, e, "user_upsert", map[string]any{"user": "1"}), "map[created:true user:1]")
	if got := newTerm(t, o).Users(); len(got) != 1 {
		t.Fatalf("users after upgrade and restart: %v", got)
	}
}

func (e *Emulator) store() *store { return (*store)(e) }
