// Package postgres writes events into PostgreSQL tables, exactly once per event id.
//
// # Tables (schema version 2)
//
// The sink creates and migrates its schema itself (schema.go), in the
// configured schema (default public), under an advisory lock so gateways
// sharing a database migrate once. The version applied is a row of
// officegate_schema(version, applied_at); a database with a version newer
// than the gateway knows is not touched, and the sink stays down saying so.
//
//	events   id text PRIMARY KEY  the envelope's id (stable across retries)
//	         type, gateway, device, boot, seq, time (timestamptz, the device
//	         clock), time_raw, clock, clock_offset_ms, received (timestamptz,
//	         the gateway clock), data jsonb, topic, stream and journal_seq
//	         (where the gateway journaled it), inserted_at, insert_seq
//	         (below; version 2)
//	results  (gateway, id) PRIMARY KEY: command results: device, command,
//	         status, error, time, data jsonb, topic, stream, journal_seq,
//	         inserted_at
//
// and three views over events for the main kinds of event:
//
//	punches   type attendance.punch: id, gateway, device, time, received,
//	          clock, person, credential, state, work_code, card_hash
//	visitors  type visitor.*: id, type, gateway, device, time, received,
//	          invite_id, name, host, company, method
//	rooms     type room.*: id, type, gateway, device, time, received,
//	          booking, state, data
//
// # Rows
//
// A row holds what the contract's JSON envelope (gateway/MQTT.md) says
// of the event: the same strings, the times as instants, data as the
// envelope's data object. The sink is a sinks.RecordSink: it takes the
// columns from the decoded journal record in one pass (rows.go), the data
// body transcoded to JSON as the uplink renders it, rather than render each
// envelope as JSON and parse it back; an event handed over without its
// record is read from its JSON envelope. TestRowsFromRecord holds the two
// ways to the same row for every event type's golden envelope, and
// TestRowsSameInDatabase to the same stored rows.
//
// # Exactly once
//
// A batch (up to `batch` events, what the journal holds when the sink
// looks) is one INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING per
// table, sent as one pipeline and so one transaction: it commits whole or
// not at all. The journal is acknowledged only after the commit; a gateway
// killed between the two inserts the batch again after its restart, and
// the primary key makes the second insert a no-op. So each event is a row
// once, whatever is killed when.
//
// # Insertion order
//
// events.insert_seq numbers the rows in the order the sink inserted them:
// a batch's rows in the batch's order (the journal's), each batch after the
// ones before it: each device's rows in insert_seq order are in the order
// the sink delivered its events in. It is the order of insertion, not of
// commit: two sinks inserting at once
// (two gateways, or connect replicas that both deliver) interleave their
// numbers, and a transaction may commit after one that took later numbers,
// so a reader polling "insert_seq > last seen" can miss rows. Rows of
// version 1, inserted before the column existed, have NULL; the migration
// adds the column without rewriting the table, and makes no index.
//
// # Refused rows
//
// A batch the database refuses for its data (SQLSTATE classes 22 and 23,
// e.g. a string holding a NUL, which jsonb cannot store; 54, too large) is
// inserted again one event per statement, so that only the rows refused go
// to the dead letters. Any other failure (no connection, a timeout,
// authentication, a missing table) is retried: it is the database, not the
// event. A clear card number (data.card) is never written
// (sinks.WithoutCard).
package postgres
