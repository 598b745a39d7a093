package main

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"modernc.org/sqlite"
)

// sqliteQueue is a table with an AUTOINCREMENT key (a plain rowid would be
// reused once the reader has deleted every row, and the reader would miss
// the new ones), in WAL mode with synchronous=FULL: each append is its own
// transaction, durable when COMMIT returns. Writers share one connection, as
// a Go program using SQLite should (64 connections fighting over the write
// lock only sleep in SQLite's busy handler); the reader reads on its own
// connection and deletes what it acknowledged in one transaction per read
// batch.
type sqliteQueue struct {
	// Immutable after openSQLite.
	w, r   *sql.DB
	insert *sql.Stmt
	shm    *os.File // the WAL index, read to know when to checkpoint
	wal    string
	notify chan struct{} // capacity 1: an append committed since the reader last looked
	begun  int64         // the WAL's checkpoint sequence when counting began

	// Owned by the reader goroutine.
	last int64 // the key of the last record delivered

	commits     atomic.Uint64
	ckptMu      sync.Mutex // one checkpoint at a time, so its count is exact
	checkpoints atomic.Uint64
}

var _ queue = (*sqliteQueue)(nil)

// walAutocheckpoint is SQLite's default checkpoint threshold in WAL frames.
const walAutocheckpoint = 1000

func openSQLite(dir string) (*sqliteQueue, error) {
	// SQLite's own Linux builds commit with fdatasync; this transpiled library
	// defaults to fsync (see sqlite.Fdatasync). Match the C library, and the
	// other two stores.
	if _, err := sqlite.Fdatasync(true); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "queue.db")
	// Automatic checkpoints are off so that we can run and count them; see
	// checkpoint.
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(FULL)&_pragma=wal_autocheckpoint(0)"
	q := &sqliteQueue{wal: path + "-wal", notify: make(chan struct{}, 1)}
	var err error
	fail := func(err error) (*sqliteQueue, error) {
		q.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if q.w, err = sql.Open("sqlite", dsn); err != nil {
		return fail(err)
	}
	q.w.SetMaxOpenConns(1)
	if _, err := q.w.Exec(`CREATE TABLE IF NOT EXISTS q (id INTEGER PRIMARY KEY AUTOINCREMENT, body BLOB NOT NULL)`); err != nil {
		return fail(err)
	}
	if q.insert, err = q.w.Prepare(`INSERT INTO q (body) VALUES (?)`); err != nil {
		return fail(err)
	}
	if q.r, err = sql.Open("sqlite", dsn); err != nil {
		return fail(err)
	}
	q.r.SetMaxOpenConns(1)
	if err := q.r.Ping(); err != nil {
		return fail(err)
	}
	if q.shm, err = os.Open(path + "-shm"); err != nil {
		return fail(err)
	}
	q.begun, _ = q.walCheckpointSeq()
	return q, nil
}

func (q *sqliteQueue) Append(bodies [][]byte) error {
	tx, err := q.w.Begin()
	if err != nil {
		return err
	}
	stmt := tx.Stmt(q.insert)
	for _, body := range bodies {
		if _, err := stmt.Exec(body); err != nil {
			tx.Rollback()
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	q.commits.Add(1)
	if err := q.checkpoint(); err != nil {
		return err
	}
	select {
	case q.notify <- struct{}{}:
	default:
	}
	return nil
}

func (q *sqliteQueue) Next(ctx context.Context, max int, fn func([]byte) error) (int, error) {
	for {
		n, err := q.read(max, fn)
		if n > 0 || err != nil {
			return n, err
		}
		select {
		case <-q.notify:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

func (q *sqliteQueue) read(max int, fn func([]byte) error) (int, error) {
	rows, err := q.r.Query(`SELECT id, body FROM q WHERE id > ? ORDER BY id LIMIT ?`, q.last, max)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id int64
		var body []byte
		if err := rows.Scan(&id, &body); err != nil {
			return n, err
		}
		q.last = id
		n++
		if err := fn(body); err != nil {
			return n, fmt.Errorf("sqlite row %d: %w", id, err)
		}
	}
	return n, rows.Err()
}

func (q *sqliteQueue) Ack() error {
	if _, err := q.w.Exec(`DELETE FROM q WHERE id <= ?`, q.last); err != nil {
		return err
	}
	q.commits.Add(1)
	return q.checkpoint()
}

// checkpoint does what SQLite's default WAL hook does after every commit: a
// PASSIVE checkpoint once the WAL holds walAutocheckpoint frames. We run it
// ourselves (same connection, same caller, same threshold) to count it: a
// checkpoint that copies frames back fdatasyncs the WAL and then the database
// (sqlite3.c, walCheckpoint).
func (q *sqliteQueue) checkpoint() error {
	// The WAL index header (https://sqlite.org/walformat.html §2.1) holds
	// mxFrame at byte 16, and the checkpoint info that follows the header's
	// two 48-byte copies starts with nBackfill; both native-endian.
	frames, err := q.shmWord(16)
	if err != nil || frames < walAutocheckpoint {
		return err
	}
	q.ckptMu.Lock()
	defer q.ckptMu.Unlock()
	backfilled, err := q.shmWord(96)
	if err != nil {
		return err
	}
	var busy, log, ckpt int64
	if err := q.w.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &log, &ckpt); err != nil {
		return fmt.Errorf("sqlite: checkpoint: %w", err)
	}
	if ckpt > int64(backfilled) {
		q.checkpoints.Add(1)
	}
	return nil
}

func (q *sqliteQueue) shmWord(off int64) (uint32, error) {
	var b [4]byte
	if _, err := q.shm.ReadAt(b[:], off); err != nil {
		return 0, fmt.Errorf("sqlite: read WAL index: %w", err)
	}
	return binary.NativeEndian.Uint32(b[:]), nil
}

// walCheckpointSeq reads the checkpoint sequence number from the WAL header
// (https://sqlite.org/fileformat.html §4.1, bytes 12..16, big-endian): it
// counts the times the WAL was restarted from its beginning.
func (q *sqliteQueue) walCheckpointSeq() (int64, error) {
	f, err := os.Open(q.wal)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var b [4]byte
	if _, err := f.ReadAt(b[:], 12); err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	return int64(binary.BigEndian.Uint32(b[:])), nil
}

// Counters: with synchronous=FULL, a commit fdatasyncs the WAL once; a
// checkpoint that copied frames fdatasyncs the WAL and the database; and the
// first commit after the WAL restarts from its beginning writes and
// fdatasyncs a new WAL header (sqlite3.c, sqlite3WalFrames: syncHeader). The
// last are counted from the WAL header's checkpoint sequence number.
func (q *sqliteQueue) Counters() counters {
	commits := q.commits.Load()
	restarts := int64(0)
	if seq, err := q.walCheckpointSeq(); err == nil {
		restarts = max(seq-q.begun, 0)
	}
	return counters{Commits: commits, Fsyncs: commits + 2*q.checkpoints.Load() + uint64(restarts)}
}

func (q *sqliteQueue) Close() error {
	var errs []error
	if q.insert != nil {
		errs = append(errs, q.insert.Close())
	}
	if q.shm != nil {
		errs = append(errs, q.shm.Close())
	}
	if q.r != nil {
		errs = append(errs, q.r.Close())
	}
	if q.w != nil {
		errs = append(errs, q.w.Close())
	}
	return errors.Join(errs...)
}
