package cloud

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/officegate/officegate/gateway/sinks"
)

// The events a notify sink turns into a message to a person.
const (
	VisitorCheckedIn     = "visitor.checked_in"     // to the invite's host
	RoomReleaseSuggested = "room.release_suggested" // to the booking's organizer
)

// Languages of messages (the person directory's lang).
const (
	LangChinese = "zh-CN"
	LangEnglish = "en"
)

// Visit is what a visitor.checked_in message may say: the invite's fields
// (MQTT.md §5.7) and when — nothing else (never the token hash, the scan
// id or the invite id).
type Visit struct {
	Name    string // the visitor's name, as the invite gave it
	Company string // "" if the invite gave none
	Host    string // the host as the invite named them
	Time    string // the check-in time, HH:MM in the site's zone
	Date    string // YYYY-MM-DD
}

// Release is what a room.release_suggested message may say (MQTT.md §5.6).
type Release struct {
	Room    string // the room's device id
	Booking string // the booking's id
	Title   string // "" if the booking has none
	Start   string // HH:MM in the site's zone
	End     string // HH:MM
	Date    string // YYYY-MM-DD
}

// DefaultTemplates are the messages when the sink's settings give none
// (text/template over Visit and Release).
var DefaultTemplates = map[string]map[string]string{
	VisitorCheckedIn: {
		LangChinese: `您的访客 {{.Name}}{{with .Company}}（{{.}}）{{end}} 已于 {{.Time}} 在前台签到。`,
		LangEnglish: `Your visitor {{.Name}}{{with .Company}} ({{.}}){{end}} checked in at reception at {{.Time}}.`,
	},
	RoomReleaseSuggested: {
		LangChinese: `您预订的会议室 {{.Room}}（{{.Start}}–{{.End}}{{with .Title}}，{{.}}{{end}}）签到时间已过且无人使用，建议释放。`,
		LangEnglish: `Nobody checked in to your booking of {{.Room}} ({{.Start}}–{{.End}}{{with .Title}}, {{.}}{{end}}); releasing the room is suggested.`,
	},
}

// TemplateKeys are the settings that override DefaultTemplates.
var TemplateKeys = map[string]map[string]string{
	VisitorCheckedIn:     {LangChinese: "visitor_template_zh", LangEnglish: "visitor_template_en"},
	RoomReleaseSuggested: {LangChinese: "release_template_zh", LangEnglish: "release_template_en"},
}

// NotifyKeys are the settings ParseNotify reads.
var NotifyKeys = []string{"lang", "visitor_template_zh", "visitor_template_en", "release_template_zh", "release_template_en"}

// Notifier renders the messages of a notify sink.
type Notifier struct {
	Lang      string                                   // the language of a person whose directory entry has none
	templates map[string]map[string]*template.Template // event type → lang → template
}

// ParseNotify reads lang (zh-CN, the default, or en) and the templates.
// Times are shown in the site's zone: the offset of the event's time.
func ParseNotify(s map[string]string) (*Notifier, error) {
	n := &Notifier{Lang: LangChinese, templates: map[string]map[string]*template.Template{}}
	if v, ok := s["lang"]; ok {
		if v != LangChinese && v != LangEnglish {
			return nil, fmt.Errorf("lang %q: want %s or %s", v, LangChinese, LangEnglish)
		}
		n.Lang = v
	}
	for typ, byLang := range DefaultTemplates {
		n.templates[typ] = map[string]*template.Template{}
		for lang, def := range byLang {
			key := TemplateKeys[typ][lang]
			text := def
			if v, ok := s[key]; ok {
				text = v
			}
			t, err := template.New(key).Option("missingkey=error").Parse(text)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", key, err)
			}
			// Render a sample now: a template naming a field that does
			// not exist fails at start, not on a visitor's arrival.
			if _, err := render(t, sample(typ)); err != nil {
				return nil, fmt.Errorf("%s: %v", key, err)
			}
			n.templates[typ][lang] = t
		}
	}
	return n, nil
}

func sample(typ string) any {
	if typ == VisitorCheckedIn {
		return Visit{Name: "n", Company: "c", Host: "h", Time: "09:00", Date: "2026-01-01"}
	}
	return Release{Room: "r", Booking: "b", Title: "t", Start: "09:00", End: "10:00", Date: "2026-01-01"}
}

// maxMessage bounds a rendered message: WeCom's text limit is 2048 bytes
// (message/send, document 90236), the smallest of the three platforms.
const maxMessage = 2048

func render(t *template.Template, data any) (string, error) {
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	out := strings.TrimSpace(b.String())
	if out == "" {
		return "", errors.New("the template renders an empty message")
	}
	if len(out) > maxMessage {
		return "", fmt.Errorf("the message is %d bytes, over %d", len(out), maxMessage)
	}
	return out, nil
}

// Message is one message to send.
type Message struct {
	To   Person // the recipient, mapped by the directory
	Text string
}

// Render turns ev into the message for its person on platform: skip is
// set for an event that makes no message (another type, a booking that
// names no organizer). An error is sinks.Unmapped for a person the
// directory does not map on the platform (held until it does), or
// permanent for an event that cannot be read.
func (n *Notifier) Render(ev sinks.Event, d Directory, platform string) (m Message, skip bool, err error) {
	if ev.Type != VisitorCheckedIn && ev.Type != RoomReleaseSuggested {
		return Message{}, true, nil
	}
	var e envelope
	if err := json.Unmarshal(ev.Payload, &e); err != nil {
		return Message{}, false, sinks.Permanent(fmt.Errorf("cloud: event %s: %v", ev.ID, err))
	}
	at, err := instant(e)
	if err != nil {
		return Message{}, false, sinks.Permanent(fmt.Errorf("cloud: event %s: %v", ev.ID, err))
	}
	zone := at.Location() // the site's: the event's time carries its offset
	var key string
	var data any
	switch ev.Type {
	case VisitorCheckedIn:
		var v struct{ Name, Company, Host string }
		if err := json.Unmarshal(e.Data, &v); err != nil || v.Host == "" || v.Name == "" {
			return Message{}, false, sinks.Permanent(fmt.Errorf("cloud: event %s: visitor.checked_in without name and host", ev.ID))
		}
		key = v.Host
		data = Visit{Name: v.Name, Company: v.Company, Host: v.Host, Time: at.Format("15:04"), Date: at.Format("2006-01-02")}
	case RoomReleaseSuggested:
		var r struct{ Booking, Organizer, Title, Start, End string }
		if err := json.Unmarshal(e.Data, &r); err != nil {
			return Message{}, false, sinks.Permanent(fmt.Errorf("cloud: event %s: %v", ev.ID, err))
		}
		if r.Organizer == "" {
			return Message{}, true, nil // nobody to tell
		}
		start, err1 := time.Parse(time.RFC3339Nano, r.Start)
		end, err2 := time.Parse(time.RFC3339Nano, r.End)
		if err1 != nil || err2 != nil {
			return Message{}, false, sinks.Permanent(fmt.Errorf("cloud: event %s: booking times %q, %q", ev.ID, r.Start, r.End))
		}
		key = r.Organizer
		data = Release{Room: e.Device, Booking: r.Booking, Title: r.Title, Start: start.In(zone).Format("15:04"),
			End: end.In(zone).Format("15:04"), Date: start.In(zone).Format("2006-01-02")}
	}
	who, err := UserID(d, platform, key)
	if err != nil {
		return Message{}, false, err
	}
	lang := who.Lang
	if lang != LangChinese && lang != LangEnglish {
		lang = n.Lang
	}
	text, err := render(n.templates[ev.Type][lang], data)
	if err != nil {
		return Message{}, false, sinks.Permanent(fmt.Errorf("cloud: event %s: %v", ev.ID, err))
	}
	return Message{To: who, Text: text}, false, nil
}
