package wecom

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/gateway/sinks/internal/cloud"
)

// codeNoRecipient is message/send's "all receivers invalid" (document
// 90236: "如果全部接收人无权限或不存在，则本次调用返回失败，errcode为81013").
const codeNoRecipient = 81013

// duplicateCheck is message/send's duplicate_check_interval (seconds): with
// enable_duplicate_check, the same message (the same request JSON) is not
// delivered twice within it (document 90236; 1800 is its default). A
// retry after a reply lost in the network repeats the request byte for
// byte, so it is delivered once.
const duplicateCheck = 1800

// Notifier sends WeCom application messages (message/send, document
// 90236) for visitor.checked_in (to the host) and room.release_suggested
// (to the booking's organizer). The page limits an application to 30
// messages a minute to one member and drops the excess without an error:
// a host expecting more visitors than that in a minute misses some.
type Notifier struct {
	// Immutable.
	s       *Sink
	agentID int
	n       *cloud.Notifier
	people  cloud.Directory
}

var _ sinks.Sink = (*Notifier)(nil)

// NotifyOptions configure a Notifier.
type NotifyOptions struct {
	Options     // the app's credentials, Common and Now (the record fields are unused)
	AgentID int // the application sending the messages
	Render  *cloud.Notifier
}

// NewNotifier returns a notifier; o.AgentID is required.
func NewNotifier(o NotifyOptions) (*Notifier, error) {
	if o.AgentID <= 0 {
		return nil, errors.New("wecom: agentid is required")
	}
	if o.Render == nil {
		return nil, errors.New("wecom: no message templates")
	}
	s, err := New(o.Options)
	if err != nil {
		return nil, err
	}
	return &Notifier{s: s, agentID: o.AgentID, n: o.Render, people: o.People}, nil
}

var notifyKeys = append(append([]string{"corpid", "corpsecret_file", "agentid"}, cloud.CommonKeys...), cloud.NotifyKeys...)

// NotifierFromSettings builds a notifier from its configuration
// (CONFIG.md, kind wecom_notify).
func NotifierFromSettings(s sinks.Settings, people cloud.Directory) (*Notifier, error) {
	if err := s.Only(notifyKeys...); err != nil {
		return nil, err
	}
	var o NotifyOptions
	app, err := cloud.ParseApp(s, "corpid", "corpsecret_file", DefaultBase)
	if err != nil {
		return nil, fmt.Errorf("wecom: %w", err)
	}
	o.CorpID, o.Secret, o.Common = app.ID, app.Secret, app.Common
	if o.AgentID, err = cloud.Int(s, "agentid", 0, 1, 1<<31-1); err != nil || o.AgentID == 0 {
		return nil, fmt.Errorf("wecom: agentid (the sending application's AgentId) is required: %v", err)
	}
	if o.Render, err = cloud.ParseNotify(s); err != nil {
		return nil, fmt.Errorf("wecom: %w", err)
	}
	o.People = people
	return NewNotifier(o)
}

type textMessage struct {
	ToUser                 string `json:"touser"`
	MsgType                string `json:"msgtype"`
	AgentID                int    `json:"agentid"`
	Text                   text   `json:"text"`
	EnableDuplicateCheck   int    `json:"enable_duplicate_check"`
	DuplicateCheckInterval int    `json:"duplicate_check_interval"`
}

type text struct {
	Content string `json:"content"`
}

// Deliver sends ev's message: nil once WeCom accepted it (or for an event
// that makes none), sinks.Unmapped for a recipient without a WeCom userid
// (held), permanent for a recipient WeCom refuses (81013: not in the
// application's visible range) or an unreadable event.
func (n *Notifier) Deliver(ctx context.Context, ev sinks.Event) error {
	m, skip, err := n.n.Render(ev, n.people, Platform)
	if skip || err != nil {
		return err
	}
	err = n.s.post(ctx, "/cgi-bin/message/send", textMessage{ToUser: m.To.UserID, MsgType: "text", AgentID: n.agentID,
		Text: text{Content: m.Text}, EnableDuplicateCheck: 1, DuplicateCheckInterval: duplicateCheck})
	var we *Error
	if errors.As(err, &we) && slices.Contains([]int{codeNoRecipient, codeBadUserID, codeNoUser}, we.Code) {
		return sinks.Permanent(err) // the dead letter names the event; the platform's code must fit the alarm
	}
	return err
}
