package pushdrv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/zkpush"
	"github.com/officegate/officegate/devices/zkteco"
)

// attlog journals an ATTLOG upload (§11.2) and answers "OK: n" once it is
// durable, n counting every record taken: punches, and bad lines kept as
// alarms.
func (d *Driver) attlog(w http.ResponseWriter, ctx context.Context, body []byte, truncated bool) {
	var evs []devices.Event
	bad := 0
	err := zkpush.Lines(body, func(n int, line []byte) error {
		if len(evs) >= d.hub.opt.MaxLines {
			truncated = true
			return errStop
		}
		p, err := zkpush.ParseAttlogLine(line)
		if err != nil {
			bad++
			evs = append(evs, d.badLine("ATTLOG", n, line, err))
			return nil
		}
		evs = append(evs, d.punch(p))
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		d.reply(w, http.StatusBadRequest, err.Error())
		return
	}
	if truncated {
		d.count("uploads_truncated", 1)
	}
	if err := d.emit(ctx, evs); err != nil {
		d.refuse(w, err)
		return
	}
	d.count("punches", len(evs)-bad)
	d.count("lines_refused", bad)
	d.reply(w, http.StatusOK, fmt.Sprintf("OK: %d", len(evs)))
}

// operlog journals an OPERLOG upload (§11.4–§11.10) and answers "OK: n"
// once it is durable: operation records as device.operation, user records
// as attendance.user (oper.go), bad lines kept as alarms; templates and
// identity records are refused, counted and acknowledged.
func (d *Driver) operlog(w http.ResponseWriter, ctx context.Context, body []byte, truncated bool) {
	var evs []devices.Event
	taken, bio, recs, bad := 0, 0, 0, 0
	zkpush.Lines(body, func(n int, line []byte) error {
		if taken >= d.hub.opt.MaxLines {
			truncated = true
			return errStop
		}
		taken++
		r, err := zkpush.ParseOperLine(line)
		switch {
		case errors.Is(err, zkpush.ErrBiometric):
			bio++ // nothing of it is kept, not even in the alarm
		case err != nil:
			bad++
			evs = append(evs, d.badLine("OPERLOG", n, line, err))
		case r.OpLog != nil:
			recs++
			evs = append(evs, d.operation(r.OpLog))
		case r.User != nil:
			recs++
			evs = append(evs, d.user(r.User))
		}
		return nil
	})
	if truncated {
		d.count("uploads_truncated", 1)
	}
	if err := d.emit(ctx, evs); err != nil {
		d.refuse(w, err)
		return
	}
	d.count("templates_refused", bio)
	d.count("oper_records", recs)
	d.count("lines_refused", bad)
	d.reply(w, http.StatusOK, fmt.Sprintf("OK: %d", taken))
}

// refuse answers an upload that could not be made durable: not OK, so the
// terminal keeps the records and sends them again after ErrorDelay.
func (d *Driver) refuse(w http.ResponseWriter, err error) {
	d.count("uploads_refused", 1)
	if errors.Is(err, devices.ErrBusy) {
		d.reply(w, http.StatusServiceUnavailable, "gateway busy: keep your records")
		return
	}
	d.log.Error().Err(err).Msg("zkpush: upload not journaled; the terminal keeps it")
	d.reply(w, http.StatusServiceUnavailable, "gateway cannot store records now: keep your records")
}

// commitChunk is the most events emitted in one EmitBatch.
const commitChunk = 256

// emit makes evs durable, in order, in as few commits as the sink allows.
func (d *Driver) emit(ctx context.Context, evs []devices.Event) error {
	d.mu.Lock()
	sink := d.sink
	d.mu.Unlock()
	if sink == nil {
		return errNoSink
	}
	if len(evs) == 0 {
		return nil
	}
	if b, ok := sink.(devices.BatchSink); ok {
		// One commit per chunk, in order: a commit is bounded (the journal's
		// default batch cap is 1 MiB; a punch's record is under 1 KiB).
		for len(evs) > 0 {
			n := min(len(evs), commitChunk)
			if err := b.EmitBatch(ctx, evs[:n]); err != nil {
				return err
			}
			evs = evs[n:]
		}
		return nil
	}
	for _, ev := range evs {
		if err := sink.Emit(ctx, ev); err != nil {
			return err
		}
	}
	return nil
}

// punch is the attendance.punch of an ATTLOG record.
func (d *Driver) punch(p zkpush.Punch) devices.Event {
	t, _ := time.ParseInLocation(zkteco.TimeLayout, p.Time, d.set.loc)            // ParseAttlogLine checked it
	data := zkteco.PunchData(d.set.serial, p.PIN, p.Status, p.Verify, p.Workcode) // the same as through 4370
	clock := d.clockAt(t)
	return devices.Event{Device: d.id, Type: "attendance.punch", Time: t, TimeRaw: p.Time, Clock: clock,
		Data: data, Source: p.Key(d.set.serial)}
}

// badLine is the alarm that stands for a record line that cannot be parsed:
// its id derives from the line, so the terminal re-sending it does not make
// a second alarm.
//
// An ATTLOG line is quoted (PIN, time and codes: nothing secret). An OPERLOG
// line is not: a USER record carries the user's password and card number in
// clear, so only its record kind is named.
func (d *Driver) badLine(table string, n int, line []byte, err error) devices.Event {
	q := fmt.Sprintf("%q", line[:min(len(line), 96)])
	if table == "OPERLOG" {
		kind, _, _ := bytes.Cut(line, []byte(" "))
		kind, _, _ = bytes.Cut(kind, []byte("\t"))
		q = fmt.Sprintf("a %q record", kind[:min(len(kind), 16)])
	}
	detail := fmt.Sprintf("%s line %d refused (%v): %s", table, n, err, q)
	if len(detail) > 256 {
		detail = detail[:253] + "..."
	}
	return devices.Event{Device: d.id, Type: "device.alarm", Time: d.now(), Clock: devices.ClockSynced,
		Data:   map[string]any{"alarm": "other", "detail": strings.ToValidUTF8(detail, "?")},
		Source: devices.EventSource{HardwareID: d.set.serial, Key: "zkpush.bad-line " + table + " " + string(line)}}
}
