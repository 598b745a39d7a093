package reader_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/reader"
	"github.com/officegate/officegate/devices/wiegand"
	"github.com/officegate/officegate/devices/wiegand/wiegandsim"
)

const allCards = `formats = ["h10301", "w34", "h10304", "keypad8"]` + "\n"

// TestCardFormats sends a card in each format and checks the card text and the shape
// of both kinds of event.
func TestCardFormats(t *testing.T) {
	cases := []struct {
		format         wiegand.Format
		formats        string
		facility, card uint64
		text, name     string
		bits           int
	}{
		{wiegand.H10301, `["h10301"]`, 12, 3456, "12:3456", "h10301", 26},
		{wiegand.H10301, `["h10301"]`, 255, 65535, "255:65535", "h10301", 26},
		{wiegand.W34, `["w34"]`, 1001, 60000, "1001:60000", "w34", 34},
		{wiegand.W34Number, `["w34number"]`, 0, 3000000000, "3000000000", "w34number", 34},
		{wiegand.H10304, `["h10304"]`, 65535, 524287, "65535:524287", "h10304", 37},
		{wiegand.H10304, `["h10304"]`, 0, 0, "0:0", "h10304", 37},
	}
	for _, c := range cases {
		for _, mode := range []string{reader.EmitRead, reader.EmitPunch} {
			t.Run(c.text+"/"+mode, func(t *testing.T) {
				d, src := newDriver(t, "formats = "+c.formats+"\nemit = \""+mode+"\"\n", nil, reader.With{})
				edges, err := wiegandsim.NewReader(1).Card(c.format, c.facility, c.card)
				if err != nil {
					t.Fatal(err)
				}
				var sink collector
				play(t, d, src, &sink, edges)
				got := sink.got()
				if len(got) != 1 {
					t.Fatalf("%d events, want 1", len(got))
				}
				e := got[0]
				if e.Device != "door-1" || e.Clock != devices.ClockSynced || !e.Source.IsZero() || e.TimeRaw != "" {
					t.Errorf("envelope %+v", e)
				}
				var raw map[string]any
				switch mode {
				case reader.EmitRead:
					if e.Type != reader.TypeRead {
						t.Errorf("type %q", e.Type)
					}
					raw = e.Data
				case reader.EmitPunch:
					if e.Type != reader.TypePunch || e.Data["credential"] != "card" || e.Data["state"] != "unknown" {
						t.Errorf("punch %q %v", e.Type, e.Data)
					}
					raw, _ = e.Data["raw"].(map[string]any)
				}
				if e.Data["card"] != c.text {
					t.Errorf("card %v, want %q", e.Data["card"], c.text)
				}
				if raw["format"] != c.name || raw["bits"] != c.bits {
					t.Errorf("format %v bits %v, want %s %d", raw["format"], raw["bits"], c.name, c.bits)
				}
				if _, ok := e.Data["card_hash"]; ok {
					t.Error("card_hash without a key")
				}
				if n := len(e.Data); (mode == reader.EmitRead && n != 3) || (mode == reader.EmitPunch && n != 4) {
					t.Errorf("unexpected keys in %v", e.Data)
				}
			})
		}
	}
}

// TestCardTextNumber sends the payload in decimal for every format.
func TestCardTextNumber(t *testing.T) {
	d, src := newDriver(t, "card_text = \"number\"\n", nil, reader.With{})
	edges, _ := wiegandsim.NewReader(2).Card(wiegand.H10301, 1, 2)
	var sink collector
	play(t, d, src, &sink, edges)
	if got := sink.got(); len(got) != 1 || got[0].Data["card"] != "65538" {
		t.Fatalf("events %v, want card 65538 (1<<16 | 2)", got)
	}
}

// TestHashedCard checks the HMAC against one computed here and that the clear card
// appears nowhere: not in the event, not in the log.
func TestHashedCard(t *testing.T) {
	const key = "0123456789abcdef0123456789abcdef"
	for _, keyFile := range []string{key, key + "\n", key + "\r\n"} {
		var log bytes.Buffer
		path := writeKey(t, keyFile)
		d, src := newDriver(t, "emit = \"punch\"\ncard_key_file = '"+path+"'\n", &log, reader.With{})
		edges, _ := wiegandsim.NewReader(3).Card(wiegand.H10301, 87, 51234)
		var sink collector
		play(t, d, src, &sink, edges)
		got := sink.got()
		if len(got) != 1 {
			t.Fatalf("%d events", len(got))
		}
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte("87:51234"))
		want := hex.EncodeToString(m.Sum(nil))
		if got[0].Data["card_hash"] != want {
			t.Errorf("card_hash %v, want %s", got[0].Data["card_hash"], want)
		}
		if _, ok := got[0].Data["card"]; ok {
			t.Error("clear card sent along with the hash")
		}
		for _, s := range append(strs(got[0]), log.String()) {
			for _, clear := range []string{"51234", "87:"} {
				if strings.Contains(s, clear) {
					t.Errorf("%q holds the clear card (%q)", s, clear)
				}
			}
		}
	}
}

// TestNoiseCounted feeds frames that are not cards: they are counted by reason, no
// event comes out, and the card after them still does.
func TestNoiseCounted(t *testing.T) {
	d, src := newDriver(t, allCards, nil, reader.With{})
	r := wiegandsim.NewReader(4)
	edges := r.AppendBits(nil, 0x1abc, 13) // fits no format
	good, _ := wiegand.Encode(wiegand.H10301, 3, 4)
	edges = r.AppendBits(edges, good^1<<5, 26) // one data bit flipped: parity
	edges = r.AppendBits(edges, 0x12, 8)       // a keypad burst whose nibbles disagree
	edges, _ = r.AppendCard(edges, wiegand.H10301, 3, 4)
	var sink collector
	play(t, d, src, &sink, edges)
	if got := sink.got(); len(got) != 1 || got[0].Data["card"] != "3:4" {
		t.Fatalf("events %v, want just card 3:4", got)
	}
	c := d.Status().Counters
	for k, want := range map[string]uint64{
		"rejected_bit_count": 1, "rejected_parity": 2, "frames_rejected": 3,
		"frames": 1, "events_emitted": 1, "events_lost": 0,
	} {
		if c[k] != want {
			t.Errorf("counter %s = %d, want %d (all: %v)", k, c[k], want, c)
		}
	}
}

// TestPINNeverLeaks types a PIN: the event says how many keys, and no string in it or
// in the log holds the digits.
func TestPINNeverLeaks(t *testing.T) {
	for _, mode := range []string{reader.EmitRead, reader.EmitPunch} {
		var log bytes.Buffer
		d, src := newDriver(t, allCards+"emit = \""+mode+"\"\n", &log, reader.With{})
		r := wiegandsim.NewReader(5)
		edges, _ := r.Keys("97531#")
		var sink collector
		play(t, d, src, &sink, edges)
		got := sink.got()
		if len(got) != 1 {
			t.Fatalf("%d events", len(got))
		}
		e := got[0]
		if e.Type != reader.TypeRead || e.Data["pin_entered"] != true || e.Data["keys"] != 5 || len(e.Data) != 2 {
			t.Errorf("PIN event %q %v", e.Type, e.Data)
		}
		for _, s := range append(strs(e), log.String()) {
			for _, digits := range []string{"97531", "9753", "7531"} {
				if strings.Contains(s, digits) {
					t.Errorf("%q holds the PIN", s)
				}
			}
		}
	}
}

// TestBusyRetried has the sink busy three times: the event arrives, once, and the
// retries are counted.
func TestBusyRetried(t *testing.T) {
	d, src := newDriver(t, "", nil, reader.With{})
	edges, _ := wiegandsim.NewReader(6).Card(wiegand.H10301, 1, 1)
	sink := collector{busy: 3}
	play(t, d, src, &sink, edges)
	if got := sink.got(); len(got) != 1 {
		t.Fatalf("%d events, want 1", len(got))
	}
	c := d.Status().Counters
	if c["busy_retries"] != 3 || c["events_lost"] != 0 || c["events_emitted"] != 1 {
		t.Errorf("counters %v", c)
	}
}

// TestBusyLost keeps the sink busy: the driver gives up after its retry window, counts
// the event lost and logs it, and goes on with the next card.
func TestBusyLost(t *testing.T) {
	var log bytes.Buffer
	d, src := newDriver(t, "", &log, reader.With{BusyRetry: 40 * time.Millisecond})
	r := wiegandsim.NewReader(7)
	edges, _ := r.Card(wiegand.H10301, 1, 1)
	edges, _ = r.AppendCard(edges, wiegand.H10301, 1, 2)
	sink := collector{busy: -1}
	src.Push(edges...)
	src.Close()
	if err := d.Run(context.Background(), &sink); err != nil {
		t.Fatal(err)
	}
	c := d.Status().Counters
	if c["events_lost"] != 2 || c["events_emitted"] != 0 || c["busy_retries"] == 0 {
		t.Errorf("counters %v", c)
	}
	// 10+20 ms of backoff then the last 10 ms: 4 attempts per event.
	if sink.calls != 8 {
		t.Errorf("%d attempts, want 8", sink.calls)
	}
	if n := strings.Count(log.String(), "event lost"); n != 2 {
		t.Errorf("%d loss lines in the log, want 2:\n%s", n, log.String())
	}
}

// TestRefusedLost counts an event the sink refuses (not busy) at once.
func TestRefusedLost(t *testing.T) {
	var log bytes.Buffer
	d, src := newDriver(t, "", &log, reader.With{})
	edges, _ := wiegandsim.NewReader(8).Card(wiegand.H10301, 1, 1)
	var calls int
	sink := devices.SinkFunc(func(context.Context, devices.Event) error {
		calls++
		return context.Canceled // stands for "gateway stopping"
	})
	play(t, d, src, sink, edges)
	if c := d.Status().Counters; c["events_lost"] != 1 || calls != 1 {
		t.Errorf("counters %v after %d calls", c, calls)
	}
	if !strings.Contains(log.String(), "refused") {
		t.Errorf("log %q", log.String())
	}
}

// TestWallTime checks the conversion of kernel timestamps: a frame's time is the wall
// clock at the read, back-dated by the kernel time from its first edge to the read's last.
func TestWallTime(t *testing.T) {
	d, src := newDriver(t, "", nil, reader.With{})
	r := wiegandsim.NewReader(9)
	edges, _ := r.Card(wiegand.H10301, 1, 1)
	edges, _ = r.AppendCard(edges, wiegand.H10301, 1, 2)
	last := edges[len(edges)-1].Time
	var sink collector
	play(t, d, src, &sink, edges) // one read: 52 edges
	got := sink.got()
	if len(got) != 2 {
		t.Fatalf("%d events", len(got))
	}
	first := []time.Duration{edges[0].Time, edges[26].Time}
	for i, e := range got {
		want := t0.Add(first[i] - last)
		if !e.Time.Equal(want) {
			t.Errorf("event %d at %v, want %v", i, e.Time, want)
		}
	}
	if st := d.Status(); !st.LastSeen.Equal(got[1].Time) || st.Clock != devices.ClockSynced || st.Online {
		t.Errorf("status %+v", st)
	}
}

// TestCancel stops a driver whose source stays open: Run returns nil.
func TestCancel(t *testing.T) {
	d, src := newDriver(t, "", nil, reader.With{})
	events := make(chan devices.Event, 1)
	sink := devices.SinkFunc(func(ctx context.Context, e devices.Event) error {
		select {
		case events <- e:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, sink) }()
	edges, _ := wiegandsim.NewReader(10).Card(wiegand.H10301, 5, 6)
	src.Push(edges...)
	select {
	case e := <-events:
		if e.Data["card"] != "5:6" {
			t.Errorf("event %v", e.Data)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
	}
	if !d.Status().Online {
		t.Error("not online while running")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run still running 10 s after cancel")
	}
	if d.Status().Online {
		t.Error("online after Run returned")
	}
	if err := d.Run(context.Background(), sink); err == nil {
		t.Error("second Run accepted")
	}
}

// TestRegistry builds the driver through a registry under its kind.
func TestRegistry(t *testing.T) {
	reg := devices.Registry{reader.Kind: reader.New}
	d, err := reg.New(reader.Kind, "gate-2", devices.Options{Config: tomlSection("d0 = 17\nd1 = 27\n")})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Describe(); got.ID != "gate-2" || got.Kind != "reader" {
		t.Errorf("describe %+v", got)
	}
	if _, ok := d.(devices.Statuser); !ok {
		t.Error("no Status")
	}
}
