package envelope

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/render from today's renderer")

// goldenCases are one journaled message per event type of the contract
// (MQTT.md §5), a result, and bodies with what JSON rendering treats
// specially (escapes, non-ASCII, floats, negative and large integers, nested
// maps whose keys sort differently by length and by bytes, byte strings).
func goldenCases() map[string]Outbound {
	at := time.Date(2026, 12, 6, 9, 30, 15, 123e6, time.FixedZone("", 8*3600))
	rcv := time.Date(2026, 12, 6, 1, 30, 15, 456e6, time.UTC)
	off := int64(-1500)
	ev := func(typ string, data map[string]any) Outbound {
		raw, err := EncodeData(data)
		if err != nil {
			panic(fmt.Sprintf("%s: %v", typ, err))
		}
		return Outbound{Event: &Event{V: Version, ID: "0b5e5c6a-1f0e-8d3a-9c1b-5a2e7f4d3c21", Type: typ, Gateway: "gw-3f",
			Device: "terminal-lobby", Boot: 7, Seq: 1042, Time: StampOf(at), TimeRaw: "2026-12-06T09:30:15.123",
			Clock: ClockSynced, Received: StampOf(rcv), Data: raw}}
	}
	cases := map[string]Outbound{
		"attendance.punch": ev("attendance.punch", map[string]any{"person": "10234", "credential": "card", "state": "in",
			"work_code": 0, "card_hash": "hmac-sha256:6f1c", "redacted": []string{"template"}}),
		"credential.read":       ev("credential.read", map[string]any{"card_hash": "hmac-sha256:aa01", "format": "wiegand26", "bits": 26}),
		"device.alarm":          ev("device.alarm", map[string]any{"alarm": "clock_drift", "detail": "clock off by 95 s: stepped", "clock_offset_ms": -95000}),
		"device.events_lost":    ev("device.events_lost", map[string]any{"boot": 7, "lost": 12, "before_seq": 1030, "reason": "store_full"}),
		"device.firmware":       ev("device.firmware", map[string]any{"state": "confirmed", "version": "2.4.1", "previous": "2.4.0"}),
		"device.status":         ev("device.status", map[string]any{"state": "online", "firmware": "2.4.1", "clock": "synced", "clock_offset_ms": 12}),
		"door.state":            ev("door.state", map[string]any{"state": "held_open"}),
		"printer.status":        ev("printer.status", map[string]any{"state": "paper_low", "online": true}),
		"badge.print_result":    ev("badge.print_result", map[string]any{"status": "ok", "invite_id": "inv-77", "pages": 1}),
		"room.booked":           ev("room.booked", map[string]any{"booking": "b-1", "start": "2026-12-06T02:00:00.000Z", "end": "2026-12-06T03:00:00.000Z", "minutes": 60}),
		"room.booking_ended":    ev("room.booking_ended", map[string]any{"booking": "b-1", "reason": "released"}),
		"room.booking_extended": ev("room.booking_extended", map[string]any{"booking": "b-1", "end": "2026-12-06T03:30:00.000Z", "minutes": 30}),
		"room.button":           ev("room.button", map[string]any{"button": "extend", "action": "press"}),
		"room.checkin":          ev("room.checkin", map[string]any{"booking": "b-1", "method": "button", "late_s": 240}),
		"room.led":              ev("room.led", map[string]any{"color": "red", "reason": "occupied"}),
		"room.occupancy":        ev("room.occupancy", map[string]any{"state": "occupied", "initial": false, "last_motion": "2026-12-06T01:29:58.000Z", "hold_s": 300}),
		"room.release_suggested": ev("room.release_suggested", map[string]any{"booking": "b-1", "reason": "no_show",
			"checkin_deadline": "2026-12-06T02:10:00.000Z"}),
		"visitor.checked_in": ev("visitor.checked_in", map[string]any{"invite_id": "inv-77", "token_hash": "sha256:9a", "name": "张伟 <Zhang Wei>",
			"host": "o'brien & co", "company": "ACME\u2028Ltd", "method": "qr", "scan_id": "s-5"}),
		"visitor.checked_out":   ev("visitor.checked_out", map[string]any{"invite_id": "inv-77", "method": "kiosk"}),
		"visitor.scan_rejected": ev("visitor.scan_rejected", map[string]any{"reason": "expired", "scan_id": "s-6"}),
		"tricky":                ev("diag.sample", map[string]any{"zz": 1, "a": map[string]any{"bbb": -1, "cc": []any{1.5, 1e21, 1e-7, -0.0, 3.0}, "d": nil}, "big": uint64(1) << 63, "neg": int64(-1) << 62, "bytes": []byte{0, 1, 254, 255}, "t": true, "esc": "\"\\\x01\t/\u00e9\U0001F600"}),
	}
	drifted := ev("attendance.punch", map[string]any{"person": "7"})
	drifted.Event.Clock, drifted.Event.ClockOffsetMS = ClockDrifted, &off
	cases["attendance.punch-drifted"] = drifted
	nodata := ev("device.status", nil)
	cases["device.status-nodata"] = nodata
	res, err := EncodeData(map[string]any{"applied": 3, "skipped": []string{"u1"}})
	if err != nil {
		panic(err)
	}
	cases["result"] = Outbound{Result: &Result{V: Version, ID: "cmd-1", Gateway: "gw-3f", Device: "terminal-lobby",
		Command: "user.upsert", Status: StatusOK, Time: StampOf(rcv), Data: res}}
	cases["result-gateway-error"] = Outbound{Result: &Result{V: Version, ID: "cmd-2", Gateway: "gw-3f",
		Command: "device.approve", Status: StatusError, Error: "no such unit", Time: StampOf(rcv)}}
	return cases
}

// TestRenderGolden: the bytes published for every event type and for
// results, in JSON and in CBOR, from journal bodies as they are stored, are
// those in testdata/render — recorded from the renderer that decodes data
// into maps. A renderer that works from the journal body directly must
// produce them byte for byte (the contract must not change by accident);
// the stored bodies are kept too, so a change of how bodies are encoded is
// still checked against records journaled before it.
func TestRenderGolden(t *testing.T) {
	topics := Topics{Root: "officegate", Gateway: "gw-3f"}
	for name, o := range goldenCases() {
		path := filepath.Join("testdata", "render", name+".golden")
		body, err := o.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if *update {
			var b bytes.Buffer
			fmt.Fprintf(&b, "# %s: a journal body and what it publishes (TestRenderGolden)\n", name)
			fmt.Fprintf(&b, "body %x\n", body)
			topic, j, err := o.Message(topics, JSON)
			if err != nil {
				t.Fatal(err)
			}
			_, c, err := o.Message(topics, CBOR)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "topic %s\njson %s\ncbor %x\n", topic, j, c)
			if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		g := readGolden(t, path)
		if got := hex.EncodeToString(body); got != g["body"] {
			t.Errorf("%s: the journal body changed:\n got %s\nwant %s", name, got, g["body"])
		}
		for _, stored := range []string{g["body"], hex.EncodeToString(body)} {
			raw, _ := hex.DecodeString(stored)
			dec, err := DecodeOutbound(raw)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			topic, j, err := dec.Message(topics, JSON)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			_, c, err := dec.Message(topics, CBOR)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if topic != g["topic"] || string(j) != g["json"] || hex.EncodeToString(c) != g["cbor"] {
				t.Errorf("%s: published bytes changed:\n got %s %s\n     %x\nwant %s %s\n     %s", name, topic, j, c, g["topic"], g["json"], g["cbor"])
			}
		}
	}
}

func readGolden(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (go test -run TestRenderGolden -update writes it)", err)
	}
	defer f.Close()
	g := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), " "); ok && !strings.HasPrefix(k, "#") {
			g[k] = v
		}
	}
	return g
}
