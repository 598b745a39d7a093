package demo

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// view prints what HR and admin services receive, one line per message.
type view struct {
	out io.Writer
	c   paho.Client

	mu sync.Mutex
	// Guarded by mu.
	events  int
	unique  map[string]bool
	results int
}

func startView(broker, filter string, out io.Writer) (*view, error) {
	v := &view{out: out, unique: map[string]bool{}}
	o := paho.NewClientOptions().AddBroker(broker).SetClientID(fmt.Sprintf("officegate-demo-view-%d", time.Now().UnixNano())).
		SetCleanSession(true).SetAutoReconnect(true).SetOrderMatters(true)
	v.c = paho.NewClient(o)
	if tok := v.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return nil, fmt.Errorf("demo: view cannot connect to %s: %v", broker, tok.Error())
	}
	if tok := v.c.Subscribe(filter, 1, v.show); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return nil, fmt.Errorf("demo: view cannot subscribe: %v", tok.Error())
	}
	return v, nil
}

func (v *view) show(_ paho.Client, m paho.Message) {
	var p map[string]any
	if err := json.Unmarshal(m.Payload(), &p); err != nil {
		return
	}
	parts := strings.Split(m.Topic(), "/")
	now := time.Now().Format("15:04:05.000")
	v.mu.Lock()
	defer v.mu.Unlock()
	str := func(k string) string { s, _ := p[k].(string); return s }
	switch {
	case strings.Contains(m.Topic(), "/events/"):
		v.events++
		dup := ""
		if v.unique[str("id")] {
			dup = "  (duplicate: same id, dropped by a consumer)"
		}
		v.unique[str("id")] = true
		fmt.Fprintf(v.out, "%s  %-10s %-16s %-22s %-34s seq %-5v id %s…%s\n", now, audience(str("type")), str("device"), str("type"),
			describe(str("type"), p["data"]), p["seq"], short(str("id")), dup)
	case strings.HasSuffix(m.Topic(), "/results"):
		v.results++
		fmt.Fprintf(v.out, "%s  %-10s %-16s result of %-10s %-8s %s %s\n", now, "ADMIN", str("device"), str("command"),
			str("status"), str("error"), fields(p["data"]))
	case len(parts) >= 3 && parts[len(parts)-1] == "status":
		who := "gateway " + str("gateway")
		if d := str("device"); d != "" {
			who = d
		}
		fmt.Fprintf(v.out, "%s  %-10s %-16s status %-8s %s %s\n", now, "FACILITIES", who, str("state"), str("kind"), str("firmware"))
	}
}

func (v *view) counts() (events, unique, results int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.events, len(v.unique), v.results
}

func (v *view) close() { v.c.Disconnect(100) }

// describe says what an event's data mean in a few words, for the types
// whose raw fields read poorly (hashes, RFC 3339 times); other types show
// their fields.
func describe(typ string, d any) string {
	m, _ := d.(map[string]any)
	str := func(k string) string { s, _ := m[k].(string); return s }
	clock := func(k string) string {
		t, err := time.Parse(time.RFC3339, str(k))
		if err != nil {
			return str(k)
		}
		return t.Local().Format("15:04:05")
	}
	opt := func(k, format string) string {
		if v := str(k); v != "" {
			return fmt.Sprintf(format, v)
		}
		return ""
	}
	switch typ {
	case "visitor.checked_in":
		return fmt.Sprintf("%s%s checked in (%s), host %s, invite %s", str("name"), opt("company", " of %s"), str("method"), str("host"), str("invite_id"))
	case "visitor.checked_out":
		return fmt.Sprintf("%s checked out (%s), invite %s", str("name"), str("method"), str("invite_id"))
	case "visitor.scan_rejected":
		return fmt.Sprintf("scan rejected: %s, token %s…, scan_id %s awaiting approval", str("reason"), short(str("token_hash")), str("scan_id"))
	case "badge.print_result":
		return fmt.Sprintf("badge %s for invite %s%s", str("result"), str("invite_id"), opt("detail", ": %s"))
	case "door.state", "printer.status":
		return str("state")
	case "room.checkin":
		return fmt.Sprintf("checked in to %s %s–%s via %s", str("booking"), clock("start"), clock("end"), str("source"))
	case "room.release_suggested":
		return fmt.Sprintf("release %s %s–%s suggested: no check-in, no motion by %s", str("booking"), clock("start"), clock("end"), clock("window_end"))
	case "room.led":
		return fmt.Sprintf("LED %s (%s)%s", cmp.Or(str("color"), "dark"), str("state"), opt("previous", ", was %s"))
	case "room.occupancy":
		if str("last_motion") != "" {
			return str("state") + ", last motion " + clock("last_motion")
		}
		return str("state")
	case "room.button":
		return fmt.Sprintf("button %v pressed", m["button"])
	}
	return fields(d)
}

// audience is who receives an event type, the tag of its line: HR the
// attendance records, the front desk the visitors and the lobby's door and
// printer, facilities the devices, rooms and the console's audit trail.
func audience(typ string) string {
	class, _, _ := strings.Cut(typ, ".")
	switch class {
	case "attendance", "credential":
		return "HR"
	case "visitor", "badge", "printer", "door", "kiosk":
		return "FRONT DESK"
	}
	return "FACILITIES"
}

// fields shows d's fields as key=value, sorted; values that are not text
// in JSON (never Go's map syntax).
func fields(d any) string {
	m, ok := d.(map[string]any)
	if !ok || len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		if sv, ok := m[k].(string); ok {
			fmt.Fprintf(&b, "%s=%s", k, sv)
			continue
		}
		j, _ := json.Marshal(m[k])
		fmt.Fprintf(&b, "%s=%s", k, j)
	}
	return b.String()
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
