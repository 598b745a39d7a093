// Package feishutest is a Feishu (飞书) open-platform server for tests, as Feishu documents it.
//
// Each behaviour names the page it comes from:
//   - tenant_access_token/internal (https://open.feishu.cn/document/ukTMukTMukTM/ukDNz4SO0MjL5QzM/auth-v3/auth/tenant_access_token_internal):
//     {"app_id", "app_secret"} → {"code": 0, "tenant_access_token",
//     "expire"}; a token lives at most 2 hours (TokenTTL); asked again
//     while 30 minutes or more remain, the same token comes back with
//     what remains, otherwise a new one (the old one still valid to its
//     end). A wrong secret is code 10014.
//   - a bad or expired token is HTTP 400 with code 99991663 (tenant access
//     token invalid), a missing one 99991661 (server error codes,
//     https://open.feishu.cn/document/server-docs/api-call-guide/generic-error-code).
//   - rate limits (https://open.feishu.cn/document/server-docs/api-call-guide/frequency-control):
//     HTTP 429, code 99991400, x-ogw-ratelimit-reset in seconds.
//   - user_flows/batch_create (https://open.feishu.cn/document/uAjLw4CM/ukTMukTMukTM/reference/attendance-v1/user_flow/batch_create):
//     employee_type employee_id or employee_no (required); each record's
//     user_id, creator_id, location_name, check_time (a string of
//     seconds) and comment are required; a field the user_flow pages do
//     not describe is refused (99992402, field validation) so that a test
//     sees anything the sink should not send; a user the tenant does not
//     have refuses the call (1220004). A call is taken or refused whole.
//   - im/v1/messages (https://open.feishu.cn/document/uAjLw4CM/ukTMukTMukTM/reference/im-v1/message/create):
//     receive_id_type, {"receive_id", "msg_type": "text", "content":
//     "{\"text\": …}", "uuid"}; requests with the same uuid within an hour
//     send at most one message; a user outside the bot's availability is
//     230013.
//
// Knobs a test turns: RateLimit, Down (HTTP 502), Malformed (HTML), Hang.
package feishutest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/officegate/officegate/gateway/sinks/internal/cloudtest"
)

// Flow is an imported punch flow.
type Flow struct {
	UserID       string `json:"user_id"`
	CreatorID    string `json:"creator_id"`
	LocationName string `json:"location_name"`
	CheckTime    string `json:"check_time"`
	Comment      string `json:"comment"`
	EmployeeType string `json:"-"`
}

// Message is a sent message.
type Message struct {
	ReceiveID string
	Text      string
	UUID      string
}

// Server is a fake Feishu.
type Server struct {
	*cloudtest.Double // Now, TokenTTL (default 2 hours), Users, Down, Malformed, Hang

	AppID, AppSecret string // immutable after NewServer

	// Guarded by the Double's lock; tests set the knobs with Set.
	RateLimit int // answer the next n calls 429/99991400
	Reset     int // x-ogw-ratelimit-reset, seconds; default 1
	current   string
	flows     []Flow
	messages  []Message
	uuids     map[string]time.Time
}

// NewServer starts a server for an app; Close stops it.
func NewServer(appID, appSecret string, users ...string) *Server {
	s := &Server{AppID: appID, AppSecret: appSecret, Reset: 1, uuids: map[string]time.Time{}}
	s.Double = cloudtest.NewDouble(cloudtest.DoubleOptions{TokenTTL: 2 * time.Hour, TokenPrefix: "t-",
		Page: "<html><body>gateway error</body></html>", Users: users}, s.serve)
	return s
}

// Set runs f with the server's lock held.
func (s *Server) Set(f func(s *Server)) { s.Locked(func() { f(s) }) }

// Flows returns the imported flows, in order.
func (s *Server) Flows() (out []Flow) {
	s.Locked(func() { out = append(out, s.flows...) })
	return out
}

// Messages returns the sent messages, in order.
func (s *Server) Messages() (out []Message) {
	s.Locked(func() { out = append(out, s.messages...) })
	return out
}

func reply(w http.ResponseWriter, status, code int, msg string, data any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	m := map[string]any{"code": code, "msg": msg}
	if data != nil {
		m["data"] = data
	}
	json.NewEncoder(w).Encode(m)
}

const (
	tokenPath = "/open-apis/auth/v3/tenant_access_token/internal"
	flowPath  = "/open-apis/attendance/v1/user_flows/batch_create"
	msgPath   = "/open-apis/im/v1/messages"
)

// serve answers a request the knobs of the Double left to it, with the
// lock held.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case s.RateLimit > 0:
		s.RateLimit--
		w.Header().Set("x-ogw-ratelimit-limit", "50")
		w.Header().Set("x-ogw-ratelimit-reset", strconv.Itoa(s.Reset))
		reply(w, http.StatusTooManyRequests, 99991400, "request trigger frequency limit", nil)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 2<<20))
	if r.URL.Path == tokenPath {
		s.token(w, body)
		return
	}
	if r.URL.Path != flowPath && r.URL.Path != msgPath {
		reply(w, http.StatusNotFound, 404, "not found", nil)
		return
	}
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "Bearer ") {
		reply(w, http.StatusBadRequest, 99991661, "Missing access token for authorization", nil)
		return
	}
	if exp, ok := s.Expiry(strings.TrimPrefix(auth, "Bearer ")); !ok || !s.Now().Before(exp) {
		reply(w, http.StatusBadRequest, 99991663, "Invalid access token for authorization", nil)
		return
	}
	if r.URL.Path == msgPath {
		s.message(w, r, body)
		return
	}
	s.batchCreate(w, r, body)
}

func (s *Server) token(w http.ResponseWriter, body []byte) {
	var req struct {
		AppID     string `json:"app_id"`
		AppSecret string `json:"app_secret"`
	}
	if json.Unmarshal(body, &req) != nil || req.AppID != s.AppID || req.AppSecret != s.AppSecret {
		reply(w, http.StatusOK, 10014, "app secret invalid", nil)
		return
	}
	now := s.Now()
	if exp, ok := s.Expiry(s.current); ok && exp.Sub(now) >= 30*time.Minute {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		json.NewEncoder(w).Encode(map[string]any{"code": 0, "msg": "ok", "tenant_access_token": s.current,
			"expire": int(exp.Sub(now) / time.Second)})
		return
	}
	s.current = s.Issue()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(map[string]any{"code": 0, "msg": "ok", "tenant_access_token": s.current,
		"expire": int(s.TokenTTL / time.Second)})
}

// flowFields are the user_flow fields the attendance pages describe.
var flowFields = map[string]bool{"user_id": true, "creator_id": true, "location_name": true, "check_time": true,
	"comment": true, "record_id": true, "longitude": true, "latitude": true, "ssid": true, "bssid": true,
	"is_field": true, "is_wifi": true, "type": true, "photo_urls": true, "device_id": true}

var digits = regexp.MustCompile(`^[0-9]{1,12}$`)

func (s *Server) batchCreate(w http.ResponseWriter, r *http.Request, body []byte) {
	et := r.URL.Query().Get("employee_type")
	if et != "employee_id" && et != "employee_no" {
		reply(w, http.StatusBadRequest, 99992402, "field validation failed: employee_type", nil)
		return
	}
	var req struct {
		FlowRecords []map[string]json.RawMessage `json:"flow_records"`
	}
	if json.Unmarshal(body, &req) != nil || len(req.FlowRecords) == 0 {
		reply(w, http.StatusBadRequest, 99992402, "field validation failed: flow_records", nil)
		return
	}
	var flows []Flow
	for i, raw := range req.FlowRecords {
		for k := range raw {
			if !flowFields[k] {
				reply(w, http.StatusBadRequest, 99992402, fmt.Sprintf("field validation failed: flow_records[%d].%s", i, k), nil)
				return
			}
		}
		b, _ := json.Marshal(raw)
		var f Flow
		if json.Unmarshal(b, &f) != nil || f.UserID == "" || f.CreatorID == "" || f.LocationName == "" ||
			!digits.MatchString(f.CheckTime) || f.Comment == "" {
			reply(w, http.StatusBadRequest, 99992402, fmt.Sprintf("field validation failed: flow_records[%d]", i), nil)
			return
		}
		if !s.Users[f.UserID] {
			reply(w, http.StatusBadRequest, 1220004, "user not exist: "+f.UserID, nil)
			return
		}
		f.EmployeeType = et
		flows = append(flows, f)
	}
	s.flows = append(s.flows, flows...)
	reply(w, http.StatusOK, 0, "success", map[string]any{"flow_records": req.FlowRecords})
}

func (s *Server) message(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.URL.Query().Get("receive_id_type") == "" {
		reply(w, http.StatusBadRequest, 99992402, "field validation failed: receive_id_type", nil)
		return
	}
	var req struct {
		ReceiveID string `json:"receive_id"`
		MsgType   string `json:"msg_type"`
		Content   string `json:"content"`
		UUID      string `json:"uuid"`
	}
	var text struct {
		Text string `json:"text"`
	}
	if json.Unmarshal(body, &req) != nil || req.MsgType != "text" || json.Unmarshal([]byte(req.Content), &text) != nil ||
		text.Text == "" || len(req.UUID) > 50 {
		reply(w, http.StatusBadRequest, 99992402, "field validation failed", nil)
		return
	}
	if !s.Users[req.ReceiveID] {
		reply(w, http.StatusBadRequest, 230013, "Bot has NO availability to this user.", nil)
		return
	}
	if req.UUID != "" {
		if at, ok := s.uuids[req.UUID]; ok && s.Now().Sub(at) < time.Hour {
			reply(w, http.StatusOK, 0, "success", map[string]any{"message_id": "om_dup"})
			return
		}
		s.uuids[req.UUID] = s.Now()
	}
	s.messages = append(s.messages, Message{ReceiveID: req.ReceiveID, Text: text.Text, UUID: req.UUID})
	reply(w, http.StatusOK, 0, "success", map[string]any{"message_id": fmt.Sprintf("om_%d", len(s.messages))})
}
