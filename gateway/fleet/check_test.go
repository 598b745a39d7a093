package fleet_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/officegate/officegate/firmware-bridge/msg"
)

// row is an events row, as the check reads it.
type row struct {
	gateway, device, typ string
	boot                 uint32
	seq                  uint64
	insertSeq            int64
}

// readRows reads the events table in the order the sink inserted the rows.
func readRows(t *testing.T, db *pgx.Conn) []row {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rs, err := db.Query(ctx, `SELECT gateway, device, type, boot, seq, insert_seq FROM events ORDER BY insert_seq`)
	if err != nil {
		t.Fatalf("read the events table: %v", err)
	}
	out, err := pgx.CollectRows(rs, func(r pgx.CollectableRow) (row, error) {
		var x row
		var boot, seq int64
		err := r.Scan(&x.gateway, &x.device, &x.typ, &boot, &seq, &x.insertSeq)
		x.boot, x.seq = uint32(boot), uint64(seq)
		return x, err
	})
	if err != nil {
		t.Fatalf("read the events table: %v", err)
	}
	return out
}

// result is what the check found, per device and in total.
type result struct {
	recorded, rows int
	devices        []deviceResult
	problems       []string // not of one device's punches
}

type deviceResult struct {
	key                     string
	recorded                int
	missing, twice, foreign []msg.EventID
	missingFrom, missingTo  time.Duration // when the missing ones were recorded
	outOfOrder              int
	firstMisplaced          string
	lost                    uint64 // dropped by the device's full store
	logDiffers              string
}

func (d *deviceResult) bad() bool {
	return len(d.missing)+len(d.twice)+len(d.foreign)+d.outOfOrder > 0 || d.lost > 0 || d.logDiffers != ""
}

// check compares PostgreSQL's rows with what each terminal recorded in its
// own attendance log (doc.go).
func check(terms []*terminal, rows []row) result {
	r := result{rows: len(rows)}
	byDevice := map[string][]row{}
	for _, x := range rows {
		if x.typ != "attendance.punch" {
			r.problems = append(r.problems, fmt.Sprintf("a row of type %q (%s/%s boot %d seq %d): the terminals record punches only", x.typ, x.gateway, x.device, x.boot, x.seq))
			continue
		}
		k := x.gateway + "/" + x.device
		byDevice[k] = append(byDevice[k], x)
	}
	for _, d := range terms {
		dr := deviceResult{key: d.key(), lost: d.pty.Emu.Lost()}
		log := d.pty.Emu.AttendanceLog()
		dr.recorded = len(log)
		r.recorded += len(log)
		want := map[msg.EventID]bool{}
		for _, ev := range log {
			want[ev.ID] = true
			if _, ok := d.recordedAt(ev.ID); !ok && dr.logDiffers == "" {
				dr.logDiffers = fmt.Sprintf("its log has %v, which the test did not record", ev.ID)
			}
		}
		if n := d.count(); n != len(log) && dr.logDiffers == "" {
			dr.logDiffers = fmt.Sprintf("the test recorded %d punches, its log has %d", n, len(log))
		}
		got := map[msg.EventID]int{}
		var prev *row
		for i, x := range byDevice[d.key()] {
			id := msg.EventID{Boot: x.boot, Seq: uint32(x.seq)}
			got[id]++
			switch {
			case !want[id]:
				dr.foreign = append(dr.foreign, id)
			case got[id] == 2:
				dr.twice = append(dr.twice, id)
			}
			if prev != nil && cmp.Or(cmp.Compare(x.boot, prev.boot), cmp.Compare(x.seq, prev.seq)) <= 0 {
				dr.outOfOrder++
				if dr.firstMisplaced == "" {
					dr.firstMisplaced = fmt.Sprintf("row %d (insert_seq %d) is boot %d seq %d, after boot %d seq %d (insert_seq %d)",
						i, x.insertSeq, x.boot, x.seq, prev.boot, prev.seq, prev.insertSeq)
				}
			}
			prev = &byDevice[d.key()][i]
		}
		delete(byDevice, d.key())
		first := true
		for _, ev := range log {
			if got[ev.ID] > 0 {
				continue
			}
			dr.missing = append(dr.missing, ev.ID)
			at, _ := d.recordedAt(ev.ID)
			if first || at < dr.missingFrom {
				dr.missingFrom = at
			}
			if first || at > dr.missingTo {
				dr.missingTo = at
			}
			first = false
		}
		r.devices = append(r.devices, dr)
	}
	for k, xs := range byDevice {
		r.problems = append(r.problems, fmt.Sprintf("%d punch rows of %s, a device of no terminal", len(xs), k))
	}
	slices.Sort(r.problems)
	return r
}

// report logs the figures and fails the test for each broken guarantee,
// naming the devices and events.
func (r result) report(t *testing.T, steps []step) {
	t.Helper()
	var missing, twice, foreign, misplaced, lost uint64
	var devMissing, devMisplaced int
	for _, d := range r.devices {
		missing += uint64(len(d.missing))
		twice += uint64(len(d.twice))
		foreign += uint64(len(d.foreign))
		misplaced += uint64(d.outOfOrder)
		lost += d.lost
		if len(d.missing) > 0 {
			devMissing++
		}
		if d.outOfOrder > 0 {
			devMisplaced++
		}
	}
	t.Logf("terminals recorded %d punches; PostgreSQL has %d rows: %d missing (%d devices), %d twice, %d not recorded by a device, %d out of device order (%d devices); %d dropped by a full device store",
		r.recorded, r.rows, missing, devMissing, twice, foreign, misplaced, devMisplaced, lost)
	var tl strings.Builder
	for _, s := range steps {
		fmt.Fprintf(&tl, "\n\t%6.1fs  %s", s.at.Seconds(), s.what)
	}
	bad := false
	for _, d := range r.devices {
		if !d.bad() {
			continue
		}
		bad = true
		var b strings.Builder
		fmt.Fprintf(&b, "device %s (%d punches):", d.key, d.recorded)
		if len(d.missing) > 0 {
			fmt.Fprintf(&b, " %d missing (recorded %.1fs..%.1fs), first %v;", len(d.missing), d.missingFrom.Seconds(), d.missingTo.Seconds(), head(d.missing))
		}
		if len(d.twice) > 0 {
			fmt.Fprintf(&b, " %d twice, first %v;", len(d.twice), head(d.twice))
		}
		if len(d.foreign) > 0 {
			fmt.Fprintf(&b, " %d rows the device never recorded, first %v;", len(d.foreign), head(d.foreign))
		}
		if d.outOfOrder > 0 {
			fmt.Fprintf(&b, " %d rows out of device order, first: %s;", d.outOfOrder, d.firstMisplaced)
		}
		if d.lost > 0 {
			fmt.Fprintf(&b, " its store dropped %d;", d.lost)
		}
		if d.logDiffers != "" {
			fmt.Fprintf(&b, " %s;", d.logDiffers)
		}
		t.Error(strings.TrimSuffix(b.String(), ";"))
	}
	for _, p := range r.problems {
		bad = true
		t.Error(p)
	}
	if bad {
		t.Errorf("every punch every device recorded once in PostgreSQL, in device order: not so (%d missing, %d twice, %d foreign, %d out of order). The load's steps:%s",
			missing, twice, foreign, misplaced, tl.String())
	}
}

func head(ids []msg.EventID) []msg.EventID {
	return ids[:min(len(ids), 5)]
}
