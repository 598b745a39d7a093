package dingtalk

import (
	"context"
	"errors"
	"fmt"

	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/gateway/sinks/internal/cloud"
)

// Notifier sends DingTalk work notifications ("发送工作通知",
// topapi/message/corpconversation/asyncsend_v2,
// https://open.dingtalk.com/document/orgapp/asynchronous-sending-of-enterprise-session-messages)
// for visitor.checked_in (to the host) and room.release_suggested (to the
// booking's organizer): {"agent_id", "userid_list", "msg": {"msgtype":
// "text", "text": {"content"}}} → {"errcode", "task_id"}. The page's rule
// that one employee gets a given content at most once a day ("给同一员工一天
// 只能发送一条内容相同的消息通知") makes a retry after a lost reply
// harmless: the message is rendered the same, byte for byte, every time.
type Notifier struct {
	// Immutable.
	s       *Sink
	agentID int64
	n       *cloud.Notifier
	people  cloud.Directory
}

var _ sinks.Sink = (*Notifier)(nil)

// NotifyOptions configure a Notifier.
type NotifyOptions struct {
	Options       // the app's credentials, Common and Now
	AgentID int64 // the internal app's AgentId
	Render  *cloud.Notifier
}

// NewNotifier returns a notifier; o.AgentID is required.
func NewNotifier(o NotifyOptions) (*Notifier, error) {
	if o.AgentID <= 0 {
		return nil, errors.New("dingtalk: agent_id is required")
	}
	if o.Render == nil {
		return nil, errors.New("dingtalk: no message templates")
	}
	s, err := New(o.Options)
	if err != nil {
		return nil, err
	}
	return &Notifier{s: s, agentID: o.AgentID, n: o.Render, people: o.People}, nil
}

var notifyKeys = append(append([]string{"appkey", "appsecret_file", "agent_id"}, cloud.CommonKeys...), cloud.NotifyKeys...)

// NotifierFromSettings builds a notifier from its configuration
// (CONFIG.md, kind dingtalk_notify).
func NotifierFromSettings(s sinks.Settings, people cloud.Directory) (*Notifier, error) {
	if err := s.Only(notifyKeys...); err != nil {
		return nil, err
	}
	var o NotifyOptions
	app, err := cloud.ParseApp(s, "appkey", "appsecret_file", DefaultBase)
	if err != nil {
		return nil, fmt.Errorf("dingtalk: %w", err)
	}
	o.AppKey, o.AppSecret, o.Common = app.ID, app.Secret, app.Common
	agent, err := cloud.Int64(s, "agent_id", 0, 1, 1<<53)
	if err != nil || agent == 0 {
		return nil, fmt.Errorf("dingtalk: agent_id (the app's AgentId) is required: %v", err)
	}
	o.AgentID = agent
	if o.Render, err = cloud.ParseNotify(s); err != nil {
		return nil, fmt.Errorf("dingtalk: %w", err)
	}
	o.People = people
	return NewNotifier(o)
}

type workNotice struct {
	AgentID    int64  `json:"agent_id"`
	UseridList string `json:"userid_list"`
	Msg        struct {
		MsgType string `json:"msgtype"`
		Text    struct {
			Content string `json:"content"`
		} `json:"text"`
	} `json:"msg"`
}

// Deliver sends ev's notification: nil once DingTalk took it (or for an
// event that makes none), sinks.Unmapped for a recipient without a
// DingTalk userid (held), permanent for one DingTalk refuses.
func (n *Notifier) Deliver(ctx context.Context, ev sinks.Event) error {
	m, skip, err := n.n.Render(ev, n.people, Platform)
	if skip || err != nil {
		return err
	}
	var w workNotice
	w.AgentID, w.UseridList = n.agentID, m.To.UserID
	w.Msg.MsgType, w.Msg.Text.Content = "text", m.Text
	var r reply
	err = n.s.post(ctx, "/topapi/message/corpconversation/asyncsend_v2", w, &r)
	if refused(err) {
		return sinks.Permanent(err) // the dead letter names the event; the platform's code must fit the alarm
	}
	return err
}
