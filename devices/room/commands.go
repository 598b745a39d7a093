package room

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/officegate/officegate/devices"
)

// Command names Handle takes.
const (
	CmdScheduleSet = "room.schedule_set"
	CmdLEDSet      = "room.led_set"
	CmdCheckIn     = "room.checkin"
	CmdExtend      = "room.extend"
	CmdEnd         = "room.end"
	CmdBook        = "room.book"
)

// Commands lists the command names Handle takes, for devices.Description.
var Commands = []string{CmdScheduleSet, CmdLEDSet, CmdCheckIn, CmdExtend, CmdEnd, CmdBook}

// Handle does command c at now and answers it ("Commands" in the package
// documentation). Button outcomes are also emitted as events; the result
// carries the booking concerned.
func (r *Room) Handle(now time.Time, c devices.Command) devices.Result {
	var (
		b   Booking
		err error
	)
	switch c.Name {
	case CmdScheduleSet:
		var s Schedule
		if s, err = ParseSchedule(c.Args); err == nil {
			err = r.SetSchedule(now, s)
		}
		if err != nil {
			return devices.Failed(err)
		}
		return devices.OK(map[string]any{"version": s.Version, "bookings": len(s.Bookings)})
	case CmdLEDSet:
		state, _ := c.Args["state"].(string)
		var until time.Time
		if v, ok := c.Args["until"]; ok {
			if until, err = parseTime(v); err != nil {
				return devices.Failed(fmt.Errorf("%w: until: %w", ErrBadRequest, err))
			}
		}
		if err := r.SetLED(now, state, until); err != nil {
			return devices.Failed(err)
		}
		return devices.OK(map[string]any{"state": string(r.LED(now))})
	case CmdCheckIn:
		b, err = r.CheckIn(now, SourceCommand)
	case CmdExtend:
		var m int
		if m, err = minutesArg(c.Args); err == nil {
			b, err = r.Extend(now, m, SourceCommand)
		}
	case CmdEnd:
		b, err = r.End(now, SourceCommand)
	case CmdBook:
		var m int
		if m, err = minutesArg(c.Args); err == nil {
			org, _ := c.Args["organizer"].(string)
			title, _ := c.Args["title"].(string)
			b, err = r.BookNow(now, m, SourceCommand, org, title)
		}
	default:
		return devices.Unsupported(c)
	}
	if err != nil {
		return devices.Failed(err)
	}
	return devices.OK(bookingData(b, SourceCommand))
}

// number reads a JSON number however the gateway decoded it.
func number(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	}
	return 0, false
}

func minutesArg(args map[string]any) (int, error) {
	f, ok := number(args["minutes"])
	if !ok || f != math.Trunc(f) || f < 1 || f > MaxMinutes {
		return 0, fmt.Errorf("%w: minutes %v is not a whole number 1–%d", ErrBadRequest, args["minutes"], MaxMinutes)
	}
	return int(f), nil
}

// wireBooking is a booking as room.schedule_set carries it: times as RFC
// 3339 text or Unix seconds (the WeCom form).
type wireBooking struct {
	ID        string `json:"id"`
	Start     any    `json:"start"`
	End       any    `json:"end"`
	Organizer string `json:"organizer"`
	Title     string `json:"title"`
}

// ParseSchedule reads the args of room.schedule_set: {"version": n,
// "bookings": [{"id", "start", "end", "organizer"?, "title"?}]}, times as
// RFC 3339 text or Unix seconds. It does not Check the schedule.
func ParseSchedule(args map[string]any) (Schedule, error) {
	raw, err := json.Marshal(args)
	if err != nil {
		return Schedule{}, fmt.Errorf("%w: %v", ErrBadSchedule, err)
	}
	var w struct {
		Version  *float64      `json:"version"`
		Bookings []wireBooking `json:"bookings"`
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		return Schedule{}, fmt.Errorf("%w: %v", ErrBadSchedule, err)
	}
	if w.Version == nil || *w.Version < 1 || *w.Version != math.Trunc(*w.Version) || *w.Version > 1<<53 {
		return Schedule{}, fmt.Errorf("%w: version %v is not a whole number from 1", ErrBadSchedule, args["version"])
	}
	if w.Bookings == nil {
		return Schedule{}, fmt.Errorf("%w: no bookings list (send [] for none)", ErrBadSchedule)
	}
	if len(w.Bookings) > MaxBookings {
		return Schedule{}, fmt.Errorf("%w: %d bookings, at most %d", ErrBadSchedule, len(w.Bookings), MaxBookings)
	}
	s := Schedule{Version: uint64(*w.Version), Bookings: make([]Booking, 0, len(w.Bookings))}
	for _, wb := range w.Bookings {
		start, err := parseTime(wb.Start)
		if err != nil {
			return Schedule{}, fmt.Errorf("%w: booking %q: start: %w", ErrBadSchedule, wb.ID, err)
		}
		end, err := parseTime(wb.End)
		if err != nil {
			return Schedule{}, fmt.Errorf("%w: booking %q: end: %w", ErrBadSchedule, wb.ID, err)
		}
		s.Bookings = append(s.Bookings, Booking{ID: wb.ID, Start: start, End: end, Organizer: wb.Organizer, Title: wb.Title})
	}
	return s, nil
}

// parseTime reads RFC 3339 text or Unix seconds.
func parseTime(v any) (time.Time, error) {
	switch v := v.(type) {
	case string:
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", v)
		}
		return t, nil
	case float64, int, int64, json.Number:
		f, _ := number(v)
		// Unix seconds up to the year 9999; beyond is no booking.
		if f != math.Trunc(f) || f < 1 || f > 253402300799 {
			return time.Time{}, fmt.Errorf("%v is not whole Unix seconds", v)
		}
		return time.Unix(int64(f), 0).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%v is neither RFC 3339 text nor Unix seconds", v)
}
