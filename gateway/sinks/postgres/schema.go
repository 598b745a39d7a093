package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// migrations are the schema's versions, in order: migrations[i] takes the
// schema from version i to i+1. Append only; never edit a released one.
// "{s}" is the configured schema, quoted.
var migrations = []string{
	// 1: events, results, and the views of the main kinds.
	`CREATE TABLE {s}.events (
		id              text PRIMARY KEY,
		type            text NOT NULL,
		gateway         text NOT NULL,
		device          text NOT NULL,
		boot            bigint NOT NULL DEFAULT 0,
		seq             bigint NOT NULL DEFAULT 0,
		time            timestamptz,
		time_raw        text NOT NULL DEFAULT '',
		clock           text NOT NULL DEFAULT '',
		clock_offset_ms bigint,
		received        timestamptz,
		data            jsonb NOT NULL,
		topic           text NOT NULL,
		stream          text NOT NULL,
		journal_seq     bigint NOT NULL,
		inserted_at     timestamptz NOT NULL DEFAULT now()
	);
	CREATE INDEX events_type_time ON {s}.events (type, time);
	CREATE INDEX events_device_time ON {s}.events (device, time);
	CREATE TABLE {s}.results (
		gateway     text NOT NULL,
		id          text NOT NULL,
		device      text NOT NULL DEFAULT '',
		command     text NOT NULL,
		status      text NOT NULL,
		error       text NOT NULL DEFAULT '',
		time        timestamptz,
		data        jsonb NOT NULL,
		topic       text NOT NULL,
		stream      text NOT NULL,
		journal_seq bigint NOT NULL,
		inserted_at timestamptz NOT NULL DEFAULT now(),
		PRIMARY KEY (gateway, id)
	);
	CREATE VIEW {s}.punches AS
		SELECT id, gateway, device, time, received, clock,
			data->>'person' AS person, data->>'credential' AS credential, data->>'state' AS state,
			data->>'work_code' AS work_code, data->>'card_hash' AS card_hash
		FROM {s}.events WHERE type = 'attendance.punch';
	CREATE VIEW {s}.visitors AS
		SELECT id, type, gateway, device, time, received,
			data->>'invite_id' AS invite_id, data->>'name' AS name, data->>'host' AS host,
			data->>'company' AS company, data->>'method' AS method
		FROM {s}.events WHERE type LIKE 'visitor.%';
	CREATE VIEW {s}.rooms AS
		SELECT id, type, gateway, device, time, received,
			data->>'booking' AS booking, data->>'state' AS state, data
		FROM {s}.events WHERE type LIKE 'room.%';`,
	// 2: events.insert_seq, the order the sink inserted the rows in (doc.go,
	// "Insertion order"). A column with no default is added without
	// rewriting the table, then given its default: rows of version 1 keep
	// NULL, and the migration takes no longer on a year of punches than on
	// an empty table.
	`CREATE SEQUENCE {s}.events_insert_seq AS bigint;
	ALTER TABLE {s}.events ADD COLUMN insert_seq bigint;
	ALTER SEQUENCE {s}.events_insert_seq OWNED BY {s}.events.insert_seq;
	ALTER TABLE {s}.events ALTER COLUMN insert_seq SET DEFAULT nextval('{s}.events_insert_seq');`,
}

// Version is the schema version this gateway writes.
var Version = len(migrations)

// lockKey is the advisory lock migrations hold: gateways sharing a
// database migrate one at a time. The bytes of "ogschema".
const lockKey = 0x6f67736368656d61

// migrate brings the schema to Version, creating it if needed.
func migrate(ctx context.Context, conn *pgx.Conn, schema string) error {
	s := pgx.Identifier{schema}.Sanitize()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(lockKey)); err != nil {
		return err
	}
	if schema != "public" {
		if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+s); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+s+".officegate_schema (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"); err != nil {
		return err
	}
	var have int
	if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM "+s+".officegate_schema").Scan(&have); err != nil {
		return err
	}
	if have > Version {
		return fmt.Errorf("%w: the database's schema %s is at version %d, newer than this gateway's %d", errNewer, schema, have, Version)
	}
	for v := have; v < Version; v++ {
		if _, err := tx.Exec(ctx, strings.ReplaceAll(migrations[v], "{s}", s)); err != nil {
			return fmt.Errorf("migration to version %d: %w", v+1, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO "+s+".officegate_schema (version) VALUES ($1)", v+1); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}
