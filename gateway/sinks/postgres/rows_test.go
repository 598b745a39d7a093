package postgres

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/internal/pgtest"
)

// goldenDir holds a journal body and the JSON envelope published for it,
// for every event type of the contract and for results (the envelope
// package's TestRenderGolden keeps them true).
const goldenDir = "../../envelope/testdata/render"

var goldenTopics = envelope.Topics{Root: "officegate", Gateway: "gw-3f"}

type golden struct {
	name, topic string
	body, json  []byte
}

func readGoldens(t *testing.T) []golden {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(goldenDir, "*.golden"))
	if err != nil || len(paths) < 20 {
		t.Fatalf("golden envelopes in %s: %d, %v", goldenDir, len(paths), err)
	}
	var gs []golden
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		g := golden{name: strings.TrimSuffix(filepath.Base(p), ".golden")}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			k, v, _ := strings.Cut(sc.Text(), " ")
			switch k {
			case "body":
				g.body, err = hex.DecodeString(v)
			case "json":
				g.json = []byte(v)
			case "topic":
				g.topic = v
			}
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
		}
		f.Close()
		if g.body == nil || g.json == nil || g.topic == "" {
			t.Fatalf("%s: want body, topic and json lines", p)
		}
		gs = append(gs, g)
	}
	return gs
}

// recordEvent is the event the runner hands a RecordSink for a journal body.
func recordEvent(t *testing.T, body []byte, seq uint64) sinks.Event {
	t.Helper()
	o, err := envelope.DecodeOutbound(body)
	if err != nil {
		t.Fatal(err)
	}
	ev := sinks.Event{Stream: "attendance", Seq: seq, Topic: o.Topic(goldenTopics), Record: o}
	if o.Event != nil {
		ev.ID, ev.Device, ev.Type = o.Event.ID, o.Event.Device, o.Event.Type
	} else {
		ev.ID, ev.Device, ev.Type = o.Result.ID, o.Result.Device, "result"
	}
	return ev
}

// row is one row of a batch by column name, times in UTC.
func row(r *rows, i int) map[string]any {
	ts := func(v pgtype.Timestamptz) any {
		if !v.Valid {
			return nil
		}
		return v.Time.UTC()
	}
	if k := r.idx[i]; k >= 0 {
		e := &r.e
		var off any
		if e.offset[k].Valid {
			off = e.offset[k].Int64
		}
		return map[string]any{"id": e.id[k], "type": e.typ[k], "gateway": e.gateway[k], "device": e.device[k],
			"boot": e.boot[k], "seq": e.seq[k], "time": ts(e.time[k]), "time_raw": e.timeRaw[k], "clock": e.clock[k],
			"clock_offset_ms": off, "received": ts(e.received[k]), "data": e.data[k], "topic": e.topic[k],
			"stream": e.stream[k], "journal_seq": e.jseq[k]}
	}
	k, x := -1-r.idx[i], &r.r
	return map[string]any{"result": true, "gateway": x.gateway[k], "id": x.id[k], "device": x.device[k],
		"command": x.command[k], "status": x.status[k], "error": x.err[k], "time": ts(x.time[k]), "data": x.data[k],
		"topic": x.topic[k], "stream": x.stream[k], "journal_seq": x.jseq[k]}
}

// fromEnvelope is the row the contract's JSON envelope describes, read
// here with no code of the sink's: every field as the envelope has it.
func fromEnvelope(t *testing.T, g golden, seq int64) map[string]any {
	t.Helper()
	var env map[string]json.RawMessage
	if err := json.Unmarshal(g.json, &env); err != nil {
		t.Fatalf("%s: %v", g.name, err)
	}
	str := func(k string) string {
		var s string
		if raw, ok := env[k]; ok {
			if err := json.Unmarshal(raw, &s); err != nil {
				t.Fatalf("%s: %s: %v", g.name, k, err)
			}
		}
		return s
	}
	num := func(k string) any {
		raw, ok := env[k]
		if !ok {
			return nil
		}
		var n int64
		if err := json.Unmarshal(raw, &n); err != nil {
			t.Fatalf("%s: %s: %v", g.name, k, err)
		}
		return n
	}
	at := func(k string) any {
		tm, err := time.Parse(time.RFC3339Nano, str(k))
		if err != nil {
			t.Fatalf("%s: %s: %v", g.name, k, err)
		}
		return tm.UTC()
	}
	var data bytes.Buffer
	if err := json.Compact(&data, env["data"]); err != nil {
		t.Fatal(err)
	}
	if _, ok := env["command"]; ok {
		return map[string]any{"result": true, "gateway": str("gateway"), "id": str("id"), "device": str("device"),
			"command": str("command"), "status": str("status"), "error": str("error"), "time": at("time"),
			"data": data.String(), "topic": g.topic, "stream": "attendance", "journal_seq": seq}
	}
	return map[string]any{"id": str("id"), "type": str("type"), "gateway": str("gateway"), "device": str("device"),
		"boot": num("boot"), "seq": num("seq"), "time": at("time"), "time_raw": str("time_raw"), "clock": str("clock"),
		"clock_offset_ms": num("clock_offset_ms"), "received": at("received"), "data": data.String(), "topic": g.topic,
		"stream": "attendance", "journal_seq": seq}
}

// TestRowsFromRecord: for the golden journal body of every event type of
// the contract (and of results), the row built from the decoded record is,
// column by column, what the contract's JSON envelope published for it
// says; and the same as the row read from that envelope, as the sink did
// before it took records.
func TestRowsFromRecord(t *testing.T) {
	gs := readGoldens(t)
	evs := make([]sinks.Event, len(gs))
	for i, g := range gs {
		evs[i] = recordEvent(t, g.body, uint64(i+1))
	}
	r := &rows{}
	if bad := r.make(evs); bad != nil {
		t.Fatalf("refused: %v", bad)
	}
	for i, g := range gs {
		if got, want := row(r, i), fromEnvelope(t, g, int64(i+1)); !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n row      %v\n envelope %v", g.name, got, want)
		}
	}
	compareWays(t, evs)
}

// compareWays checks that the rows of evs built from their records are the
// rows read from their JSON envelopes, as the runner renders them.
func compareWays(t *testing.T, evs []sinks.Event) {
	t.Helper()
	viaJSON := make([]sinks.Event, len(evs))
	for i, ev := range evs {
		_, payload, err := ev.Record.Message(goldenTopics, envelope.JSON)
		if err != nil {
			t.Fatal(err)
		}
		ev.Payload, ev.Record = payload, nil
		viaJSON[i] = ev
	}
	a, b := &rows{}, &rows{}
	badA, badB := a.make(evs), b.make(viaJSON)
	for i := range evs {
		if (badA == nil || badA[i] == nil) != (badB == nil || badB[i] == nil) {
			t.Errorf("event %d: from the record %v, from the envelope %v", i, badA, badB)
			continue
		}
		if badA != nil && badA[i] != nil {
			continue
		}
		if got, want := row(a, i), row(b, i); !reflect.DeepEqual(got, want) {
			t.Errorf("event %d (%s):\n from the record   %v\n from the envelope %v", i, evs[i].ID, got, want)
		}
	}
}

// TestRowsFromRecordEdges: what the golden envelopes do not show — a clear
// card number (never written), strings that are not UTF-8, stamps at and
// past the years RFC 3339 writes, offsets of a day or more, an event
// without an id — give the same row (or the same refusal) both ways.
func TestRowsFromRecordEdges(t *testing.T) {
	base := func() *envelope.Event {
		data, err := envelope.EncodeData(map[string]any{"person": "7", "card": "12:4660", "card_hash": "ab"})
		if err != nil {
			t.Fatal(err)
		}
		return &envelope.Event{V: 1, ID: "id-0", Type: "attendance.punch", Gateway: "gw", Device: "t1", Boot: math.MaxUint32,
			Seq: math.MaxUint64, Time: envelope.Stamp{UnixMs: 1700000000123, OffsetMin: 480}, TimeRaw: "raw",
			Clock: envelope.ClockSynced, Received: envelope.Stamp{UnixMs: 1700000000456}, Data: data}
	}
	var evs []sinks.Event
	add := func(o envelope.Outbound) {
		body, err := o.Encode()
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, recordEvent(t, body, uint64(len(evs)+1)))
	}
	add(envelope.Outbound{Event: base()})
	// Not UTF-8: the journal refuses to decode such a body, so it is handed
	// over as it is, as a caller holding a record might.
	bad := base()
	bad.ID, bad.Device, bad.TimeRaw, bad.Clock = "id-\xff\xfe", "t\xc3", "x\xed\xa0\x80y", "\x80"
	evs = append(evs, sinks.Event{ID: bad.ID, Device: bad.Device, Type: bad.Type, Stream: "attendance", Seq: 99,
		Topic: "x", Record: &envelope.Outbound{Event: bad}})
	evs = append(evs, sinks.Event{ID: "cmd-\xff", Type: "result", Stream: "attendance", Seq: 100, Topic: "y",
		Record: &envelope.Outbound{Result: &envelope.Result{V: 1, ID: "cmd-\xff", Gateway: "gw", Command: "door.open",
			Status: envelope.StatusError, Error: "jammed \xc0", Time: envelope.Stamp{UnixMs: -1}}}})
	for _, ms := range []int64{plainMinMs - 1, plainMinMs, plainMaxMs, plainMaxMs + 1, -62135596800000 - 1,
		253402300799999, 253402300800000, math.MinInt64, math.MaxInt64, 0} {
		for _, off := range []int16{0, 1439, -1439, 1440, -1440, math.MaxInt16, math.MinInt16} {
			e := base()
			e.ID = "id-t"
			e.Time, e.Received = envelope.Stamp{UnixMs: ms, OffsetMin: off}, envelope.Stamp{UnixMs: -ms, OffsetMin: -off}
			add(envelope.Outbound{Event: e})
		}
	}
	noID := base()
	noID.ID = ""
	add(envelope.Outbound{Event: noID})
	off := int64(-1500)
	drifted := base()
	drifted.ClockOffsetMS = &off
	add(envelope.Outbound{Event: drifted})
	add(envelope.Outbound{Result: &envelope.Result{V: 1, ID: "cmd-1", Gateway: "gw", Device: "t1", Command: "door.open",
		Status: envelope.StatusOK, Time: envelope.Stamp{UnixMs: -1}}})
	typedResult := base()
	typedResult.Type = "result"
	add(envelope.Outbound{Event: typedResult})
	compareWays(t, evs)

	r := &rows{}
	badRows := r.make(evs[:1])
	if badRows != nil || strings.Contains(r.e.data[0], "card\"") || !strings.Contains(r.e.data[0], `"card_hash":"ab"`) {
		t.Fatalf("a clear card number in a row: %q %v", r.e.data, badRows)
	}
}

// TestRowsSameInDatabase: the golden events of every type delivered from
// their records and, into another schema, from their JSON envelopes (as the
// sink read them before) leave the same rows in PostgreSQL, column for
// column as the database stores them (inserted_at aside).
func TestRowsSameInDatabase(t *testing.T) {
	c := pgtest.Start(t, nil)
	ctx := context.Background()
	var viaRecord, viaJSON []sinks.Event
	for i, g := range readGoldens(t) {
		ev := recordEvent(t, g.body, uint64(i+1))
		// The goldens share one id; one row each needs its own.
		if ev.Record.Event != nil {
			ev.Record.Event.ID = g.name
		} else {
			ev.Record.Result.ID = g.name
		}
		ev.ID = g.name
		viaRecord = append(viaRecord, ev)
		_, payload, err := ev.Record.Message(goldenTopics, envelope.JSON)
		if err != nil {
			t.Fatal(err)
		}
		ev.Record, ev.Payload = nil, payload
		viaJSON = append(viaJSON, ev)
	}
	for schema, evs := range map[string][]sinks.Event{"via_record": viaRecord, "via_json": viaJSON} {
		cfg, err := pgxpool.ParseConfig(c.URL())
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(cfg, Opts{Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := s.DeliverBatch(ctx, evs); n != len(evs) || err != nil {
			t.Fatalf("%s: delivered %d of %d: %v", schema, n, len(evs), err)
		}
		s.Close()
	}
	conn, err := pgx.Connect(ctx, c.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, table := range []string{"events", "results"} {
		var tables [2][]string
		for k, schema := range []string{"via_record", "via_json"} {
			rs, err := conn.Query(ctx, fmt.Sprintf("SELECT (to_jsonb(t) - 'inserted_at')::text FROM %s.%s t ORDER BY id", schema, table))
			if err != nil {
				t.Fatal(err)
			}
			tables[k], err = pgx.CollectRows(rs, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
		}
		if len(tables[0]) == 0 || !reflect.DeepEqual(tables[0], tables[1]) {
			t.Errorf("%s from records:\n%s\nfrom envelopes:\n%s", table, strings.Join(tables[0], "\n"), strings.Join(tables[1], "\n"))
		}
	}
}
