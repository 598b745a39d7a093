package daemon_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/internal/pgtest"
)

// TestPostgresSinkGatewayKilled: with the database down, the uplink
// delivers regardless; then, the database back, the gateway is SIGKILLed
// 20 times while terminals punch and the postgres sink writes. In the end
// the table holds every punch each device reported exactly once, and so
// does the broker's subscriber (at least once there, deduplicated by id).
func TestPostgresSinkGatewayKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	pg := pgtest.Start(t, nil)
	b := mqtttest.Start(t, nil)
	dir := t.TempDir()
	pw := filepath.Join(dir, "db.password")
	if err := os.WriteFile(pw, []byte(pgtest.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	set, _ := json.Marshal(map[string]string{"host": "127.0.0.1", "port": strconv.Itoa(pg.Port), "database": "postgres",
		"user": pgtest.User, "password_file": pw, "sslmode": "disable", "batch": "50"})
	t.Setenv(childPGEnv, string(set))
	ids := []string{"t-1", "t-2", "t-3"}
	devs, spec := startTerminals(t, dir, ids)
	sub := newCollector(t, b.URL, "officegate/gw-kill/devices/+/events/+")

	stopPunching := punchAlways(t, devs)
	// The database is down first: the uplink delivers regardless, and
	// the punches wait in the journal for the sink.
	pg.Stop()
	cmd := startChild(t, dir, b.URL, spec)
	waitUntil(t, 60*time.Second, "the uplink delivers while the database is down", func() bool {
		n := 0
		for _, e := range sub.events() {
			if e.Type == "attendance.punch" {
				n++
			}
		}
		return n >= 200
	})
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	pg.Start()

	const kills = 20
	for range kills {
		cmd := startChild(t, dir, b.URL, spec)
		time.Sleep(time.Duration(150+rand.IntN(1200)) * time.Millisecond) // a random moment to kill at, not a wait for a condition
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	emitted := stopPunching()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	db, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	type tally struct{ rows, seqs, min, max int }
	table := func() map[string]tally {
		out := map[string]tally{}
		rows, err := db.Query(ctx, `SELECT device, count(*), count(DISTINCT seq), min(seq), max(seq) FROM events
			WHERE type = 'attendance.punch' GROUP BY device`)
		if err != nil {
			return out // the table is created by the sink's first delivery
		}
		defer rows.Close()
		for rows.Next() {
			var dev string
			var c tally
			if err := rows.Scan(&dev, &c.rows, &c.seqs, &c.min, &c.max); err != nil {
				t.Fatal(err)
			}
			out[dev] = c
		}
		return out
	}
	complete := func() bool {
		got := table()
		for i, id := range ids {
			if got[id].seqs < emitted[i] {
				return false
			}
		}
		return true
	}
	cmd = startChild(t, dir, b.URL, spec)
	waitUntil(t, 90*time.Second, "every punch in the table and at the broker", func() bool {
		for _, d := range devs {
			if d.Emu.Held() > 0 {
				return false
			}
		}
		return complete() && sub.complete(ids, emitted)
	})
	stopChild(t, cmd)
	got := table()
	for i, id := range ids {
		if c := got[id]; c.rows != emitted[i] || c.seqs != emitted[i] || c.min != 1 || c.max != emitted[i] {
			t.Errorf("device %s: %d rows, %d distinct seqs %d..%d; want each of the %d punches exactly once", id, c.rows, c.seqs, c.min, c.max, emitted[i])
		}
	}
	t.Logf("%d kills; emitted %v; table %v", kills, emitted, got)
	sub.check(t, ids, emitted)
}
