package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/officegate/officegate/provisioning"
	"github.com/officegate/officegate/provisioning/admin"
	"github.com/officegate/officegate/provisioning/rollout"
)

type overviewData struct {
	Health                          Health
	HasHealth                       bool
	Online, Offline, Pending, Total int
	Today                           Today
	Window                          *admin.Window
	OldestAge                       string
}

func (s *Server) overview(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	d := overviewData{Today: s.o.Hub.Today()}
	if s.o.Health != nil {
		d.Health, d.HasHealth = s.o.Health(), true
	}
	list := s.o.Admin.Everything()
	d.Window = list.Window
	for _, dev := range list.Devices {
		switch {
		case dev.State == "pending":
			d.Pending++
		case dev.State == "retired":
			continue
		case dev.Online:
			d.Online++
		default:
			d.Offline++
		}
		d.Total++
	}
	s.render(w, r, rc, http.StatusOK, "overview", d, "")
}

// pageSize is the devices table's page: a phone scrolls 50 rows, and 500
// devices are ten pages, each rendered in well under a millisecond.
const pageSize = 50

type devicesData struct {
	Rows               []admin.Device
	Q, State, Kind     string
	Page, Pages, Total int
	Kinds              []string
	Prev, Next         string
}

func matches(d admin.Device, q, state, kind string) bool {
	switch state {
	case "":
	case "online":
		if !d.Online {
			return false
		}
	case "offline":
		if d.Online || d.State == "pending" || d.State == "retired" {
			return false
		}
	default:
		if d.State != state {
			return false
		}
	}
	if kind != "" && d.Kind != kind {
		return false
	}
	if q == "" {
		return true
	}
	q = strings.ToLower(q)
	for _, f := range []string{d.DeviceID, d.HardwareID, d.Name, d.Room, d.Model, d.Firmware} {
		if strings.Contains(strings.ToLower(f), q) {
			return true
		}
	}
	return false
}

func (s *Server) devices(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	q := r.URL.Query()
	d := devicesData{Q: strings.TrimSpace(q.Get("q")), State: q.Get("state"), Kind: q.Get("kind")}
	d.Page, _ = strconv.Atoi(q.Get("page"))
	var all []admin.Device
	for _, dev := range s.o.Admin.Everything().Devices {
		if !slices.Contains(d.Kinds, dev.Kind) {
			d.Kinds = append(d.Kinds, dev.Kind)
		}
		if matches(dev, d.Q, d.State, d.Kind) {
			all = append(all, dev)
		}
	}
	slices.Sort(d.Kinds)
	d.Total = len(all)
	d.Pages = max(1, (len(all)+pageSize-1)/pageSize)
	d.Page = min(max(d.Page, 1), d.Pages)
	d.Rows = all[(d.Page-1)*pageSize : min(len(all), d.Page*pageSize)]
	link := func(p int) string {
		v := q
		v.Set("page", strconv.Itoa(p))
		return "/devices?" + v.Encode()
	}
	if d.Page > 1 {
		d.Prev = link(d.Page - 1)
	}
	if d.Page < d.Pages {
		d.Next = link(d.Page + 1)
	}
	s.render(w, r, rc, http.StatusOK, "devices", d, "")
}

type deviceData struct {
	D       admin.Device
	Ref     string
	Events  []eventRow
	CanDoor bool // the device has a door to pulse
	CanTime bool // its clock is the gateway's to sync
}

// eventRow is an event for a table: its data as short text.
type eventRow struct {
	Event
	Text string
}

func rowsOf(es []Event) []eventRow {
	out := make([]eventRow, len(es))
	for i, e := range es {
		out[i] = eventRow{e, dataText(e.Data)}
	}
	return out
}

// dataText shows an event's data as key=value pairs, sorted, in JSON
// notation for anything not a string (never Go's map syntax).
func dataText(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		v := m[k]
		if sv, ok := v.(string); ok {
			fmt.Fprintf(&b, "%s=%s", k, sv)
			continue
		}
		j, _ := json.Marshal(v)
		fmt.Fprintf(&b, "%s=%s", k, j)
	}
	return b.String()
}

func (s *Server) device(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	ref := r.PathValue("id")
	dev, err := s.o.Admin.Show(ref)
	if err != nil {
		s.fail(w, r, rc, err, "")
		return
	}
	id := cmpOr(dev.DeviceID, dev.HardwareID)
	d := deviceData{D: dev, Ref: id, Events: rowsOf(s.o.Hub.DeviceRecent(dev.DeviceID))}
	d.CanDoor = dev.DeviceID != "" && (dev.Kind == "terminal" || dev.Kind == "attendance" || dev.Kind == "kiosk")
	d.CanTime = dev.DeviceID != "" && dev.Port != "" && dev.State != "retired"
	s.render(w, r, rc, http.StatusOK, "device", d, "")
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

type enrollmentData struct {
	Pending  []admin.Device
	Window   admin.Window
	Open     bool
	Problems []admin.Problem
}

func (s *Server) enrollmentData() enrollmentData {
	var d enrollmentData
	for _, dev := range s.o.Admin.List().Devices {
		if dev.State == "pending" {
			d.Pending = append(d.Pending, dev)
		}
	}
	d.Window = s.o.Admin.Enrollment()
	d.Open = !d.Window.Until.IsZero()
	return d
}

func (s *Server) enrollment(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.render(w, r, rc, http.StatusOK, "enrollment", s.enrollmentData(), "")
}

type firmwareData struct {
	Enabled  bool
	Rollouts []rollout.Record
	Active   []admin.Device // devices a rollout may take
}

func (s *Server) firmwareData() firmwareData {
	var d firmwareData
	rs, err := s.o.Admin.FirmwareRollouts()
	if err == nil {
		d.Enabled = true
		slices.Reverse(rs) // newest first
		d.Rollouts = rs
	}
	for _, dev := range s.o.Admin.Everything().Devices {
		if dev.DeviceID != "" && (dev.State == "active" || dev.State == admin.StateConfigured && dev.Port != "") {
			d.Active = append(d.Active, dev)
		}
	}
	return d
}

func (s *Server) firmware(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.render(w, r, rc, http.StatusOK, "firmware", s.firmwareData(), "")
}

type receptionData struct {
	Visitors []Visitor
	WalkIns  []WalkIn
	Printers map[string]string
	Window   time.Duration
}

func (s *Server) reception(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	vs, ws, ps := s.o.Hub.Reception(s.o.WalkInWindow)
	s.render(w, r, rc, http.StatusOK, "reception", receptionData{Visitors: vs, WalkIns: ws, Printers: ps, Window: s.o.WalkInWindow}, "")
}

func (s *Server) rooms(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.render(w, r, rc, http.StatusOK, "rooms", s.roomsData(), "")
}

// roomsData is the rooms board: each room's state from its events, and
// its current and next booking from its schedule where its driver keeps
// one — the schedule its panel shows — so a room appears before it has
// sent an event, and a booking pushed but not begun shows as next.
func (s *Server) roomsData() []Room {
	rooms := s.o.Hub.Rooms()
	if s.o.Schedules == nil {
		return rooms
	}
	for _, sc := range s.o.Schedules() {
		i := slices.IndexFunc(rooms, func(r Room) bool { return r.Device == sc.Device })
		if i < 0 {
			rooms = append(rooms, Room{Device: sc.Device})
			i = len(rooms) - 1
		}
		r := &rooms[i]
		r.Scheduled, r.Next = true, sc.Next
		r.Booking, r.BookingTitle, r.BookingStart, r.BookingEnd = "", "", time.Time{}, time.Time{}
		if c := sc.Current; c != nil {
			r.Booking, r.BookingTitle, r.BookingStart, r.BookingEnd = c.ID, c.Title, c.Start, c.End
		}
	}
	slices.SortFunc(rooms, func(a, b Room) int { return strings.Compare(a.Device, b.Device) })
	return rooms
}

type eventsData struct {
	Type, Device string
	Rows         []eventRow
}

func eventFilter(typ, device string) func(Event) bool {
	return func(e Event) bool {
		return (typ == "" || e.Type == typ || strings.HasSuffix(typ, ".") && strings.HasPrefix(e.Type, typ)) &&
			(device == "" || e.Device == device)
	}
}

func (s *Server) events(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	q := r.URL.Query()
	d := eventsData{Type: strings.TrimSpace(q.Get("type")), Device: strings.TrimSpace(q.Get("device"))}
	d.Rows = rowsOf(s.o.Hub.Recent(100, eventFilter(d.Type, d.Device)))
	s.render(w, r, rc, http.StatusOK, "events", d, "")
}

// stream is the live events as Server-Sent Events: one "data:" line of
// JSON per event ({id, type, device, time (in the gateway's zone), text}),
// filtered by type and device, until the page goes away. A page that fell
// so far behind that events were left out gets an "event: missed" whose
// data is how many.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	q := r.URL.Query()
	keep := eventFilter(strings.TrimSpace(q.Get("type")), strings.TrimSpace(q.Get("device")))
	sub := s.o.Hub.Subscribe(r.Context())
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": live\n\n")
	fl.Flush()
	tick := time.NewTicker(20 * time.Second) // a comment now and then keeps proxies and phones from closing it
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			fmt.Fprint(w, ": keepalive\n\n")
		case e := <-sub.C:
			if n := sub.Missed(); n > 0 {
				fmt.Fprintf(w, "event: missed\ndata: %d\n\n", n)
			}
			if !keep(e) {
				break
			}
			b, _ := json.Marshal(map[string]string{"id": e.ID, "type": e.Type, "device": e.Device,
				"time": e.Received.In(s.o.Location).Format("15:04:05"), "text": dataText(e.Data)})
			fmt.Fprintf(w, "data: %s\n\n", b)
		}
		fl.Flush()
	}
}

// fail shows err on page (or the error page) with the status its kind
// calls for and a message a person can act on.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, rc *reqCtx, err error, page string) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, provisioning.ErrNotFound), errors.Is(err, admin.ErrNoProfile):
		status = http.StatusNotFound
	case errors.Is(err, provisioning.ErrState), errors.Is(err, provisioning.ErrConflict), errors.Is(err, admin.ErrNoFirmware):
		status = http.StatusConflict
	case errors.Is(err, provisioning.ErrInvalid), errors.Is(err, provisioning.ErrManifest), errors.Is(err, errInput):
		status = http.StatusBadRequest
	}
	if st, ok := peopleStatus(err); ok {
		status = st
	}
	var data any
	switch page {
	case "enrollment":
		d := s.enrollmentData()
		var pe *problemsError
		if errors.As(err, &pe) {
			d.Problems = pe.problems
		}
		data = d
	case "firmware":
		data = s.firmwareData()
	case "people":
		d := s.peopleData(rc, "")
		var pe *problemsError
		if errors.As(err, &pe) {
			d.Problems = pe.problems
		}
		data = d
	case "sinks":
		data = s.sinksData(r)
	case "":
		page = "error"
	}
	s.render(w, r, rc, status, page, data, errText(rc.lang, err))
}

// errText is an error for the page: without the package prefixes.
func errText(lang string, err error) string {
	m := err.Error()
	for _, p := range []string{"admin: ", "provisioning: ", "rollout: ", "console: ", "people: ", "sinks: ", errInput.Error() + ": "} {
		m = strings.ReplaceAll(m, p, "")
	}
	return tr(lang, "Failed:") + " " + m
}

var errInput = errors.New("bad input")

type problemsError struct {
	err      error
	problems []admin.Problem
}

func (p *problemsError) Error() string { return p.err.Error() }
func (p *problemsError) Unwrap() error { return p.err }
