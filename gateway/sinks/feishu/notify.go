package feishu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/gateway/sinks/internal/cloud"
)

// codeNoAvailability is im/v1/messages' "the bot is not available to this
// user" (the receiver is outside the app's availability range).
const codeNoAvailability = 230013

// Notifier sends Feishu messages ("发送消息", im/v1/messages,
// https://open.feishu.cn/document/uAjLw4CM/ukTMukTMukTM/reference/im-v1/message/create)
// for visitor.checked_in (to the host) and room.release_suggested (to the
// booking's organizer): POST /open-apis/im/v1/messages?receive_id_type=…
// {"receive_id", "msg_type": "text", "content": "{\"text\":…}", "uuid"}.
// uuid is the event id: the page de-duplicates requests with the same
// uuid for an hour, so a retry sends one message. The app needs the bot
// ability and im:message (or im:message:send_as_bot), and the recipient
// must be within the app's availability; the page limits sending to one
// user to 5 a second.
type Notifier struct {
	// Immutable.
	s           *Sink
	receiveType string
	n           *cloud.Notifier
	people      cloud.Directory
}

var _ sinks.Sink = (*Notifier)(nil)

// NotifyOptions configure a Notifier.
type NotifyOptions struct {
	Options            // the app's credentials, Common and Now
	ReceiveType string // what the directory's feishu ids are: user_id (default), open_id, union_id
	Render      *cloud.Notifier
}

// NewNotifier returns a notifier.
func NewNotifier(o NotifyOptions) (*Notifier, error) {
	if o.ReceiveType == "" {
		o.ReceiveType = "user_id"
	}
	switch o.ReceiveType {
	case "user_id", "open_id", "union_id":
	default:
		return nil, fmt.Errorf("feishu: receive_id_type %q: want user_id, open_id or union_id", o.ReceiveType)
	}
	if o.Render == nil {
		return nil, errors.New("feishu: no message templates")
	}
	s, err := New(o.Options)
	if err != nil {
		return nil, err
	}
	return &Notifier{s: s, receiveType: o.ReceiveType, n: o.Render, people: o.People}, nil
}

var notifyKeys = append(append([]string{"app_id", "app_secret_file", "receive_id_type"}, cloud.CommonKeys...), cloud.NotifyKeys...)

// NotifierFromSettings builds a notifier from its configuration
// (CONFIG.md, kind feishu_notify).
func NotifierFromSettings(s sinks.Settings, people cloud.Directory) (*Notifier, error) {
	if err := s.Only(notifyKeys...); err != nil {
		return nil, err
	}
	var o NotifyOptions
	app, err := cloud.ParseApp(s, "app_id", "app_secret_file", DefaultBase)
	if err != nil {
		return nil, fmt.Errorf("feishu: %w", err)
	}
	o.AppID, o.AppSecret, o.Common = app.ID, app.Secret, app.Common
	o.ReceiveType = s["receive_id_type"]
	if o.Render, err = cloud.ParseNotify(s); err != nil {
		return nil, fmt.Errorf("feishu: %w", err)
	}
	o.People = people
	return NewNotifier(o)
}

type message struct {
	ReceiveID string `json:"receive_id"`
	MsgType   string `json:"msg_type"`
	Content   string `json:"content"`
	UUID      string `json:"uuid"`
}

// Deliver sends ev's message: nil once Feishu took it (or for an event
// that makes none), sinks.Unmapped for a recipient without a Feishu id
// (held), permanent for one Feishu refuses (outside the availability
// range, a field refused).
func (n *Notifier) Deliver(ctx context.Context, ev sinks.Event) error {
	m, skip, err := n.n.Render(ev, n.people, Platform)
	if skip || err != nil {
		return err
	}
	content, err := json.Marshal(map[string]string{"text": m.Text})
	if err != nil {
		return sinks.Permanent(err) // the dead letter names the event; the platform's code must fit the alarm
	}
	err = n.s.post(ctx, "/open-apis/im/v1/messages", url.Values{"receive_id_type": {n.receiveType}},
		message{ReceiveID: m.To.UserID, MsgType: "text", Content: string(content), UUID: ev.ID})
	var fe *Error
	if errors.As(err, &fe) && (fe.Code == codeNoAvailability || fe.Code == codeFieldValidation) {
		return sinks.Permanent(err) // the dead letter names the event; the platform's code must fit the alarm
	}
	return err
}
