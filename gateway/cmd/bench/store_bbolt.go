package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

var boltBucket = []byte("q")

// boltQueue keeps one key per record, the big-endian sequence number the
// bucket hands out in commit order. Appends go through db.Batch, which groups
// concurrent callers into one transaction and returns to each once it
// committed; the reader reads in key order and deletes what it acknowledged
// in one transaction per read batch. Options are bbolt's defaults.
type boltQueue struct {
	db     *bolt.DB
	path   string
	notify chan struct{} // capacity 1: an append committed since the reader last looked

	// Owned by the reader goroutine.
	next, acked uint64 // next key to read; keys below acked are deleted

	mu sync.Mutex
	// Guarded by mu.
	lastTx   int // the last committed write transaction, counted once
	txs      uint64
	grows    uint64
	fileSize int64
}

var _ queue = (*boltQueue)(nil)

func openBolt(dir string) (*boltQueue, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "queue.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("bbolt: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(boltBucket)
		return err
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	q := &boltQueue{db: db, path: path, notify: make(chan struct{}, 1), next: 1, acked: 1}
	q.fileSize, _ = fileSize(path)
	return q, nil
}

func fileSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// counted registers tx to be counted once when it commits, however many
// batched calls share it.
func (q *boltQueue) counted(tx *bolt.Tx) {
	id := tx.ID()
	tx.OnCommit(func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		if id == q.lastTx {
			return
		}
		q.lastTx = id
		q.txs++
		// bbolt grows the file with truncate + fsync before writing pages.
		if size, err := fileSize(q.path); err == nil && size > q.fileSize {
			q.fileSize = size
			q.grows++
		}
	})
}

func (q *boltQueue) Append(bodies [][]byte) error {
	err := q.db.Batch(func(tx *bolt.Tx) error {
		q.counted(tx)
		b := tx.Bucket(boltBucket)
		for _, body := range bodies {
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			if err := b.Put(binary.BigEndian.AppendUint64(nil, seq), body); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	select {
	case q.notify <- struct{}{}:
	default:
	}
	return nil
}

func (q *boltQueue) Next(ctx context.Context, max int, fn func([]byte) error) (int, error) {
	for {
		n := 0
		err := q.db.View(func(tx *bolt.Tx) error {
			c := tx.Bucket(boltBucket).Cursor()
			for k, v := c.Seek(binary.BigEndian.AppendUint64(nil, q.next)); k != nil && n < max; k, v = c.Next() {
				if seq := binary.BigEndian.Uint64(k); seq != q.next {
					return fmt.Errorf("bbolt: key %d found, want %d", seq, q.next)
				}
				q.next++
				n++
				if err := fn(v); err != nil {
					return fmt.Errorf("bbolt key %d: %w", q.next-1, err)
				}
			}
			return nil
		})
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

func (q *boltQueue) Ack() error {
	err := q.db.Update(func(tx *bolt.Tx) error {
		q.counted(tx)
		b := tx.Bucket(boltBucket)
		for seq := q.acked; seq < q.next; seq++ {
			if err := b.Delete(binary.BigEndian.AppendUint64(nil, seq)); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		q.acked = q.next
	}
	return err
}

// Counters: bbolt's commit calls fdatasync twice, once after writing the dirty
// pages and once after writing the meta page (tx.go, write and writeMeta),
// and fsyncs once more whenever it grows the file (db.go, grow). We count
// committed write transactions (appends and deletes) and growths.
func (q *boltQueue) Counters() counters {
	q.mu.Lock()
	defer q.mu.Unlock()
	return counters{Commits: q.txs, Fsyncs: 2*q.txs + q.grows}
}

func (q *boltQueue) Close() error { return q.db.Close() }
