package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/officegate/officegate/internal/pgtest"
)

// A database a version-1 sink made is migrated in place: its rows stay,
// with no insert_seq (they were inserted before there was one), and rows
// inserted afterwards are numbered in order.
func TestMigrateFromVersion1(t *testing.T) {
	c := pgtest.Start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	s := pgx.Identifier{"public"}.Sanitize()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec("CREATE TABLE officegate_schema (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
	exec(strings.ReplaceAll(migrations[0], "{s}", s))
	exec("INSERT INTO officegate_schema (version) VALUES (1)")
	const row = `INSERT INTO events (id, type, gateway, device, data, topic, stream, journal_seq) VALUES ($1, 'attendance.punch', 'gw', 't1', '{}', 'x', 'attendance', 1)`
	exec(row, "old")

	if err := migrate(ctx, conn, "public"); err != nil {
		t.Fatal(err)
	}
	exec(row, "new-1")
	exec(row, "new-2")
	var version int
	if err := conn.QueryRow(ctx, "SELECT max(version) FROM officegate_schema").Scan(&version); err != nil || version != Version {
		t.Fatalf("schema version %d (%v), want %d", version, err, Version)
	}
	rows, err := conn.Query(ctx, "SELECT id, insert_seq FROM events ORDER BY insert_seq NULLS FIRST")
	if err != nil {
		t.Fatal(err)
	}
	type idSeq struct {
		ID  string
		Seq *int64
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[idSeq])
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].ID != "old" || got[0].Seq != nil || got[1].ID != "new-1" || got[2].ID != "new-2" ||
		got[1].Seq == nil || got[2].Seq == nil || *got[1].Seq >= *got[2].Seq {
		t.Fatalf("rows after the migration: %+v", got)
	}
	// Run again (another gateway starting): nothing to do.
	if err := migrate(ctx, conn, "public"); err != nil {
		t.Fatal(err)
	}
}
