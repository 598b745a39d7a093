// Package dingtalktest is a DingTalk (钉钉) API server for tests, as DingTalk documents it.
//
// It implements what DingTalk documents for the calls the dingtalk sinks make.
//
// Each behaviour names the page it comes from:
//   - gettoken (https://open.dingtalk.com/document/development/obtain-orgapp-token):
//     appkey + appsecret → {"access_token", "expires_in": 7200}; a token
//     lives TokenTTL by the server's clock. A wrong key or secret is
//     errcode 40089 (不合法的corpid或corpsecret, global error codes
//     https://open.dingtalk.com/document/orgapp/server-api-error-codes-1).
//   - the topapi calls answer a bad token the way the global error code
//     page describes errcode 88 ("需要关注下返回结果里的sub_code和sub_msg。
//     此类情况下，一般是用户的access_token不合法"): {"errcode": 88, "sub_code":
//     "40014"} for an unknown token, "42001" for an expired one.
//   - record/upload (https://open.dingtalk.com/document/development/upload-punch-records):
//     one record: userid, device_name, device_id (required), photo_url
//     (optional), user_check_time in milliseconds within 180 days of the
//     server's clock; any other field is refused (40035, 不合法的参数) so that
//     a test sees anything the sink should not send; an unknown userid is
//     33012 (无效的USERID). Success is {"errcode": 0, "success": true,
//     "request_id"}.
//   - asyncsend_v2 (https://open.dingtalk.com/document/orgapp/asynchronous-sending-of-enterprise-session-messages):
//     agent_id, userid_list, msg {msgtype "text", text {content}} →
//     {"errcode": 0, "task_id"}; the page's rule "给同一员工一天只能发送一条
//     内容相同的消息通知" is kept: the same content to the same user on the
//     same day (server clock, UTC+8) is accepted and not delivered again.
//
// Knobs a test turns: RateLimit (errcode 88, sub_code 90018: the app's
// per-second limit), Busy (-1, 系统繁忙), Down (HTTP 502), Malformed (an HTML
// page), Hang (never answers).
package dingtalktest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/officegate/officegate/gateway/sinks/internal/cloudtest"
)

// Record is an accepted punch record.
type Record struct {
	UserID        string `json:"userid"`
	DeviceName    string `json:"device_name"`
	DeviceID      string `json:"device_id"`
	PhotoURL      string `json:"photo_url,omitempty"`
	UserCheckTime int64  `json:"user_check_time"`
}

// Message is a delivered work notification.
type Message struct {
	AgentID int64
	UserID  string
	Content string
}

// Server is a fake DingTalk.
type Server struct {
	*cloudtest.Double // Now, TokenTTL (default 7200 s), Users, Down, Malformed, Hang

	AppKey, AppSecret string // immutable after NewServer

	// Guarded by the Double's lock; tests set the knobs with Set.
	RateLimit int // answer the next n calls 88/90018
	Busy      int // answer the next n calls -1
	records   []Record
	messages  []Message
	sentDay   map[string]bool // user + day + content
}

// NewServer starts a server for an app; Close stops it.
func NewServer(appKey, appSecret string, users ...string) *Server {
	s := &Server{AppKey: appKey, AppSecret: appSecret, sentDay: map[string]bool{}}
	s.Double = cloudtest.NewDouble(cloudtest.DoubleOptions{TokenTTL: 7200 * time.Second, TokenPrefix: "dt",
		Page: "<html><body>系统维护中</body></html>", Users: users}, s.serve)
	return s
}

// Set runs f with the server's lock held, to turn its knobs.
func (s *Server) Set(f func(s *Server)) { s.Locked(func() { f(s) }) }

// Records returns the accepted punch records, in order.
func (s *Server) Records() (out []Record) {
	s.Locked(func() { out = append(out, s.records...) })
	return out
}

// Messages returns the delivered notifications, in order.
func (s *Server) Messages() (out []Message) {
	s.Locked(func() { out = append(out, s.messages...) })
	return out
}

func reply(w http.ResponseWriter, m map[string]any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	json.NewEncoder(w).Encode(m)
}

func fail(w http.ResponseWriter, code int, msg string) {
	reply(w, map[string]any{"errcode": code, "errmsg": msg, "request_id": "req"})
}

func sub(w http.ResponseWriter, subCode, msg string) {
	reply(w, map[string]any{"errcode": 88, "sub_code": subCode, "sub_msg": msg,
		"errmsg": fmt.Sprintf("ding talk error[subcode=%s,submsg=%s]", subCode, msg), "request_id": "req"})
}

// serve answers a request the knobs of the Double left to it, with the
// lock held.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/gettoken" {
		s.gettoken(w, r)
		return
	}
	if r.URL.Path != "/topapi/attendance/record/upload" && r.URL.Path != "/topapi/message/corpconversation/asyncsend_v2" {
		fail(w, 404, "请求的URI地址不存在")
		return
	}
	tok := r.URL.Query().Get("access_token")
	exp, ok := s.Expiry(tok)
	switch {
	case !ok:
		sub(w, "40014", "不合法的access_token")
		return
	case !s.Now().Before(exp):
		sub(w, "42001", "access_token超时")
		return
	case s.RateLimit > 0:
		s.RateLimit--
		sub(w, "90018", "应用调用该接口的频率超过限制")
		return
	case s.Busy > 0:
		s.Busy--
		fail(w, -1, "系统繁忙")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 2<<20))
	if err != nil {
		fail(w, 40035, "不合法的参数")
		return
	}
	if strings.HasSuffix(r.URL.Path, "asyncsend_v2") {
		s.send(w, body)
		return
	}
	s.upload(w, body)
}

func (s *Server) gettoken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("appkey") != s.AppKey || q.Get("appsecret") != s.AppSecret {
		fail(w, 40089, "不合法的corpid或corpsecret")
		return
	}
	tok := s.Issue()
	reply(w, map[string]any{"errcode": 0, "errmsg": "ok", "access_token": tok, "expires_in": int(s.TokenTTL / time.Second)})
}

var uploadFields = map[string]bool{"userid": true, "device_name": true, "device_id": true, "photo_url": true, "user_check_time": true}

func (s *Server) upload(w http.ResponseWriter, body []byte) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		fail(w, 40035, "不合法的参数")
		return
	}
	for k := range raw {
		if !uploadFields[k] {
			fail(w, 40035, "不合法的参数: "+k)
			return
		}
	}
	var rec Record
	if err := json.Unmarshal(body, &rec); err != nil {
		fail(w, 40035, "不合法的参数")
		return
	}
	at := time.UnixMilli(rec.UserCheckTime)
	switch {
	case rec.UserID == "" || rec.DeviceName == "" || rec.DeviceID == "":
		fail(w, 40035, "不合法的参数: 缺少必填参数")
	case !s.Users[rec.UserID]:
		fail(w, 33012, "无效的USERID")
	case at.Before(s.Now().AddDate(0, 0, -180)) || at.After(s.Now().Add(24*time.Hour)):
		fail(w, 40035, "不合法的参数: user_check_time 需要传 180 天以内的日期")
	default:
		s.records = append(s.records, rec)
		reply(w, map[string]any{"errcode": 0, "success": true, "request_id": "req" + strconv.Itoa(len(s.records))})
	}
}

func (s *Server) send(w http.ResponseWriter, body []byte) {
	var req struct {
		AgentID    int64  `json:"agent_id"`
		UseridList string `json:"userid_list"`
		Msg        struct {
			MsgType string `json:"msgtype"`
			Text    struct {
				Content string `json:"content"`
			} `json:"text"`
		} `json:"msg"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.AgentID == 0 || req.UseridList == "" ||
		req.Msg.MsgType != "text" || req.Msg.Text.Content == "" {
		fail(w, 40035, "不合法的参数")
		return
	}
	day := s.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
	for _, u := range strings.Split(req.UseridList, ",") {
		if !s.Users[u] {
			continue // the page: invalid receivers are reported by getsendresult, not refused
		}
		key := u + "\x00" + day + "\x00" + req.Msg.Text.Content
		if s.sentDay[key] {
			continue
		}
		s.sentDay[key] = true
		s.messages = append(s.messages, Message{AgentID: req.AgentID, UserID: u, Content: req.Msg.Text.Content})
	}
	reply(w, map[string]any{"errcode": 0, "task_id": len(s.messages) + 1000, "request_id": "req"})
}
