package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"

	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/gateway/sinks/filesink"
	"github.com/officegate/officegate/gateway/sinks/postgres"
	"github.com/officegate/officegate/gateway/sinks/sinkstest"
	"github.com/officegate/officegate/internal/pgtest"
)

func settings(t *testing.T, c *pgtest.Cluster, password string) sinks.Settings {
	t.Helper()
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return sinks.Settings{"host": "127.0.0.1", "port": strconv.Itoa(c.Port), "database": "postgres", "user": pgtest.User,
		"password_file": pw, "sslmode": "disable", "timeout": "5s"}
}

func newSink(t *testing.T, s sinks.Settings) sinks.Sink {
	t.Helper()
	sk, err := postgres.FromSettings(s)
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

func connect(t *testing.T, c *pgtest.Cluster) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func count(t *testing.T, conn *pgx.Conn, q string, args ...any) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// journalEvent journals an event of any type with data.
func journalEvent(t *testing.T, j *journal.Journal, stream, device, typ string, data map[string]any) string {
	t.Helper()
	o := sinkstest.Outbound(device, 0)
	o.Event.Type = typ
	d, err := envelope.EncodeData(data)
	if err != nil {
		t.Fatal(err)
	}
	o.Event.Data = d
	body, err := o.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append(context.Background(), stream, body); err != nil {
		t.Fatal(err)
	}
	return o.Event.ID
}

// The sink creates its schema (tables, views, version), writes each kind
// of event where its view finds it, never a clear card number, and an
// event inserted twice is one row.
func TestSchemaAndRows(t *testing.T) {
	c := pgtest.Start(t, nil)
	db := connect(t, c)
	j := sinkstest.OpenJournal(t, journal.Consumer{Name: "db", Streams: []string{"attendance", "rooms"}})
	punch := journalEvent(t, j, "attendance", "t1", "attendance.punch",
		map[string]any{"person": "0042", "credential": "card", "state": "in", "card": "12:4660", "card_hash": strings.Repeat("ab", 32)})
	visitor := journalEvent(t, j, "attendance", "k1", "visitor.checked_in",
		map[string]any{"invite_id": "inv-7", "name": "Li Wei", "host": "0042", "method": "qr", "token_hash": "x"})
	room := journalEvent(t, j, "rooms", "r1", "room.checkin", map[string]any{"booking": "b-1", "source": "panel"})
	s := settings(t, c, pgtest.Password)
	s["schema"] = "hr"
	m := &sinkstest.Counts{}
	sinkstest.StartRunner(t, j, newSink(t, s), sinks.Options{Name: "db", Streams: []string{"attendance", "rooms"}, Metrics: m})
	sinkstest.WaitFor(t, "three delivered", func() bool { d, _, _ := m.Get(); return d == 3 })

	var person, state, cardHash string
	var at time.Time
	if err := db.QueryRow(context.Background(), "SELECT person, state, card_hash, time FROM hr.punches WHERE id = $1", punch).
		Scan(&person, &state, &cardHash, &at); err != nil {
		t.Fatal(err)
	}
	if person != "0042" || state != "in" || cardHash != strings.Repeat("ab", 32) || !at.Equal(sinkstest.Base) {
		t.Fatalf("punch row: %q %q %q %v", person, state, cardHash, at)
	}
	if n := count(t, db, "SELECT count(*) FROM hr.events WHERE data ? 'card'"); n != 0 {
		t.Fatalf("%d rows hold a clear card number", n)
	}
	var name, host string
	if err := db.QueryRow(context.Background(), "SELECT name, host FROM hr.visitors WHERE id = $1", visitor).Scan(&name, &host); err != nil || name != "Li Wei" || host != "0042" {
		t.Fatalf("visitor row: %q %q %v", name, host, err)
	}
	var booking string
	if err := db.QueryRow(context.Background(), "SELECT booking FROM hr.rooms WHERE id = $1", room).Scan(&booking); err != nil || booking != "b-1" {
		t.Fatalf("room row: %q %v", booking, err)
	}
	if v := count(t, db, "SELECT max(version) FROM hr.officegate_schema"); v != postgres.Version {
		t.Fatalf("schema version %d, want %d", v, postgres.Version)
	}

	// Delivered again (a gateway killed before its ack): still one row each.
	again := newSink(t, s).(sinks.BatchSink)
	defer again.(sinks.Closer).Close()
	o := sinkstest.Outbound("t1", 0)
	o.Event.ID = punch
	topic, payload, err := o.Message(sinkstest.Topics, envelope.JSON)
	if err != nil {
		t.Fatal(err)
	}
	ev := sinks.Event{ID: punch, Device: "t1", Type: "attendance.punch", Stream: "attendance", Seq: 1, Topic: topic, Payload: payload}
	if n, err := again.DeliverBatch(context.Background(), []sinks.Event{ev, ev}); n != 2 || err != nil {
		t.Fatalf("redelivery: %d, %v", n, err)
	}
	if n := count(t, db, "SELECT count(*) FROM hr.events"); n != 3 {
		t.Fatalf("%d rows after a redelivery, want 3", n)
	}
	if n := count(t, db, "SELECT count(*) FROM hr.officegate_schema"); n != postgres.Version {
		t.Fatalf("%d migrations recorded, want each of %d once", n, postgres.Version)
	}

	// A database migrated by a newer gateway is left alone, and said so.
	if _, err := db.Exec(context.Background(), "INSERT INTO hr.officegate_schema (version) VALUES (99)"); err != nil {
		t.Fatal(err)
	}
	newer := newSink(t, s).(sinks.BatchSink)
	defer newer.(sinks.Closer).Close()
	_, err = newer.DeliverBatch(context.Background(), []sinks.Event{ev})
	if err == nil || errors.Is(err, sinks.ErrPermanent) || !strings.Contains(err.Error(), fmt.Sprintf("version 99, newer than this gateway's %d", postgres.Version)) {
		t.Fatalf("newer schema: %v", err)
	}
}

// A row the database refuses (a NUL in a string, which jsonb cannot hold)
// goes to the dead letters with an alarm; the rest of its batch, and what
// follows, is written.
func TestPoisonRow(t *testing.T) {
	c := pgtest.Start(t, nil)
	db := connect(t, c)
	j := sinkstest.OpenJournal(t, journal.Consumer{Name: "db", Streams: []string{"attendance"}})
	var ids []string
	for i := range 5 {
		ids = append(ids, sinkstest.Punch(t, j, "t1", i))
	}
	poison := journalEvent(t, j, "attendance", "t1", "attendance.punch", map[string]any{"person": "a\x00b", "state": "in", "credential": "card"})
	for i := 5; i < 10; i++ {
		ids = append(ids, sinkstest.Punch(t, j, "t1", i))
	}
	m := &sinkstest.Counts{}
	var alarms []sinks.DeadLetter
	alarmed := make(chan struct{}, 1)
	sinkstest.StartRunner(t, j, newSink(t, settings(t, c, pgtest.Password)), sinks.Options{Name: "db", Streams: []string{"attendance"}, Metrics: m,
		Alarm: func(_ context.Context, dl sinks.DeadLetter) error {
			alarms = append(alarms, dl)
			alarmed <- struct{}{}
			return nil
		}})
	sinkstest.WaitFor(t, "ten delivered", func() bool { d, _, _ := m.Get(); return d == 10 })
	<-alarmed
	if len(alarms) != 1 || alarms[0].ID != poison || !strings.Contains(alarms[0].Error, "22P05") {
		t.Fatalf("alarms %+v, want the poison row with SQLSTATE 22P05", alarms)
	}
	if n := count(t, db, "SELECT count(*) FROM events WHERE id = ANY($1)", ids); n != 10 {
		t.Fatalf("%d of the 10 good rows written", n)
	}
	if dl := sinkstest.DeadLetters(t, j); len(dl) != 1 || dl[0].ID != poison {
		t.Fatalf("dead letters %+v", dl)
	}
}

// The database down for minutes while punches arrive: nothing is lost,
// each device's rows are committed in order, and a file sink on the same
// journal has everything meanwhile.
func TestDatabaseDown(t *testing.T) {
	c := pgtest.Start(t, nil)
	j := sinkstest.OpenJournal(t, journal.Consumer{Name: "db", Streams: []string{"attendance"}},
		journal.Consumer{Name: "archive", Streams: []string{"attendance"}})
	s := settings(t, c, pgtest.Password)
	s["batch"] = "40"
	clock := sinkstest.NewClock()
	m := &sinkstest.Counts{}
	log := zerolog.New(zerolog.NewTestWriter(t))
	sinkstest.StartRunner(t, j, newSink(t, s), sinks.Options{Name: "db", Streams: []string{"attendance"}, Metrics: m, Log: &log,
		BackoffMin: time.Second, BackoffMax: 30 * time.Second, Sleep: clock.Sleep})
	fs, err := filesink.New(filepath.Join(t.TempDir(), "archive.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	am := &sinkstest.Counts{}
	sinkstest.StartRunner(t, j, fs, sinks.Options{Name: "archive", Streams: []string{"attendance"}, Metrics: am})

	n := 0
	punch := func(k int) {
		for range k {
			sinkstest.Punch(t, j, fmt.Sprintf("t%d", n%3), n)
			n++
		}
	}
	punch(30)
	sinkstest.WaitFor(t, "the first punches in the database", func() bool { d, _, _ := m.Get(); return d == 30 })
	c.Stop()
	for retry := 1; clock.Total() < 4*time.Minute; retry++ {
		punch(25)
		clock.Await(t, retry)
		clock.Release()
	}
	sinkstest.WaitFor(t, "the archive has everything", func() bool { d, _, _ := am.Get(); return d == n })
	if d, _, _ := m.Get(); d != 30 {
		t.Fatalf("%d delivered with the database down", d)
	}
	c.Start()
	clock.Run()
	sinkstest.WaitFor(t, "the backlog in the database", func() bool { d, _, _ := m.Get(); return d == n })
	db := connect(t, c)
	if got := count(t, db, "SELECT count(DISTINCT id) FROM events"); got != n {
		t.Fatalf("%d rows, want %d", got, n)
	}
	// Per device, in journal order, no row committed before an earlier one.
	if bad := count(t, db, `SELECT count(*) FROM (SELECT inserted_at < lag(inserted_at) OVER (PARTITION BY device ORDER BY journal_seq) AS early FROM events) x WHERE early`); bad != 0 {
		t.Fatalf("%d rows committed before an earlier row of their device", bad)
	}
}

// The password is read from its file and shown nowhere: not in an error of
// a refused login, not in one of the settings.
func TestPasswordNeverShown(t *testing.T) {
	c := pgtest.Start(t, nil)
	const wrong = "wr0ng-Pa55word-x"
	sk := newSink(t, settings(t, c, wrong)).(sinks.BatchSink)
	defer sk.(sinks.Closer).Close()
	o := sinkstest.Outbound("t1", 0)
	topic, payload, _ := o.Message(sinkstest.Topics, envelope.JSON)
	_, err := sk.DeliverBatch(context.Background(), []sinks.Event{{ID: o.Event.ID, Type: o.Event.Type, Topic: topic, Payload: payload}})
	if err == nil || errors.Is(err, sinks.ErrPermanent) || sinks.ClassOf(err) != sinks.ClassAuth {
		t.Fatalf("a wrong password: %v (class %q), want an auth failure to retry", err, sinks.ClassOf(err))
	}
	msgs := []string{err.Error()}
	for _, s := range []sinks.Settings{
		{"host": "127.0.0.1", "database": "x", "user": "u", "password_file": filepath.Join(t.TempDir(), "none")},
	} {
		_, err := postgres.FromSettings(s)
		if err == nil {
			t.Fatalf("%v accepted", s)
		}
		msgs = append(msgs, err.Error())
	}
	// A runner retrying the refused login: /metrics shows the failures and
	// its error class, and nothing of the password.
	j := sinkstest.OpenJournal(t, journal.Consumer{Name: "hr", Streams: []string{"attendance"}})
	sc := sinkstest.NewScraped(t, j, "hr")
	clock := sinkstest.NewClock()
	sinkstest.StartRunner(t, j, newSink(t, settings(t, c, wrong)), sinks.Options{Name: "hr", Streams: []string{"attendance"}, Metrics: sc, Sleep: clock.Sleep})
	sinkstest.Punch(t, j, "t1", 0)
	clock.Await(t, 1)
	scrape := sc.Scrape(t)
	if !strings.Contains(scrape, `officegate_sink_last_error{sink="hr",class="auth"} 1`) {
		t.Fatalf("/metrics does not show the refused login:\n%s", scrape)
	}
	msgs = append(msgs, scrape)
	for _, m := range msgs {
		if strings.Contains(m, wrong) || strings.Contains(m, pgtest.Password) {
			t.Fatalf("a password shown: %s", m)
		}
	}
}

// Rows are numbered (insert_seq) in the order the sink inserted them: a
// batch's in the batch's order, whatever the order of their ids or seqs,
// and a later batch's after it; an event inserted again keeps its number.
func TestInsertOrder(t *testing.T) {
	c := pgtest.Start(t, nil)
	db := connect(t, c)
	sk := newSink(t, settings(t, c, pgtest.Password)).(sinks.BatchSink)
	defer sk.(sinks.Closer).Close()
	event := func(n int) sinks.Event {
		o := sinkstest.Outbound("t1", n)
		topic, payload, err := o.Message(sinkstest.Topics, envelope.JSON)
		if err != nil {
			t.Fatal(err)
		}
		return sinks.Event{ID: o.Event.ID, Device: "t1", Type: o.Event.Type, Stream: "attendance", Seq: uint64(n + 1), Topic: topic, Payload: payload}
	}
	// Neither the ids' order (made in n's order) nor the seqs'.
	first := []sinks.Event{event(7), event(2), event(9), event(0), event(5)}
	second := []sinks.Event{event(3), first[1], event(1)}
	for _, b := range [][]sinks.Event{first, second} {
		if n, err := sk.DeliverBatch(context.Background(), b); n != len(b) || err != nil {
			t.Fatalf("deliver: %d, %v", n, err)
		}
	}
	rows, err := db.Query(context.Background(), "SELECT id FROM events ORDER BY insert_seq")
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, ev := range append(first, second[0], second[2]) {
		want = append(want, ev.ID)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("rows by insert_seq:\n%v\nwant the batches' order:\n%v", got, want)
	}
	if n := count(t, db, "SELECT count(*) FROM events WHERE insert_seq IS NULL"); n != 0 {
		t.Fatalf("%d rows without insert_seq", n)
	}
}
