// Package wecomtest is a WeCom (企业微信) API server for tests, as WeCom documents it.
//
// It implements what WeCom documents for the calls the wecom sinks make.
//
// Each behaviour names the page it comes from:
//   - gettoken (https://developer.work.weixin.qq.com/document/path/91039):
//     corpid + corpsecret → {"access_token", "expires_in": 7200}; a wrong
//     secret is errcode 40001, a wrong corp id 40013 (global error codes,
//     https://developer.work.weixin.qq.com/document/path/90313). A token
//     lives TokenTTL by the server's clock; a call with an expired one is
//     42001, with an unknown one 40014, with none 41001 (90313). Revoke
//     invalidates the current tokens early, which 91039 warns WeCom may do.
//   - add_checkin_record (https://developer.work.weixin.qq.com/document/path/99647):
//     {"records": [...]}, at most 200 ("一批最多200个"); the fields and
//     limits of the page (location_title, location_detail and notes ≤ 1024
//     characters, device_type 1–3, device_detail ≤ 40 characters); a field
//     the page does not list is refused (40058, 参数不合法), so that a test
//     sees anything the sink should not send; a userid the corp does not
//     have refuses the whole call with 60111 (UserID不存在): the page
//     documents one errcode for the call and no per-record result.
//   - message/send (https://developer.work.weixin.qq.com/document/path/90236):
//     text messages to touser from agentid; with enable_duplicate_check the
//     same content to the same user within duplicate_check_interval seconds
//     (default 1800, at most 4 hours) is not sent again.
//
// Knobs a test turns: RateLimit (45009, 接口调用超过限制, 90313), Busy (-1,
// 系统繁忙), Down (HTTP 502 from a proxy), Malformed (an HTML page where
// JSON is documented), Hang (the server never answers).
package wecomtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/officegate/officegate/gateway/sinks/internal/cloudtest"
)

// Record is an accepted check-in record, as WeCom stored it.
type Record struct {
	UserID         string   `json:"userid"`
	CheckinTime    int64    `json:"checkin_time"`
	LocationTitle  string   `json:"location_title"`
	LocationDetail string   `json:"location_detail"`
	Notes          string   `json:"notes"`
	DeviceType     int      `json:"device_type"`
	DeviceDetail   string   `json:"device_detail"`
	Lat            *int64   `json:"lat,omitempty"`
	Lng            *int64   `json:"lng,omitempty"`
	WifiName       string   `json:"wifiname,omitempty"`
	WifiMac        string   `json:"wifimac,omitempty"`
	MediaIDs       []string `json:"mediaids,omitempty"`
}

// Message is a sent application message.
type Message struct {
	ToUser  string
	AgentID int
	Content string
}

// Server is a fake WeCom.
type Server struct {
	*cloudtest.Double // Now, TokenTTL (default 7200 s, 91039), Users, Down, Malformed, Hang

	// Immutable.
	CorpID, Secret string

	// Guarded by the Double's lock; tests set the knobs with Set.
	RateLimit int // answer the next n calls 45009
	Busy      int // answer the next n calls -1
	records   []Record
	messages  []Message
	sentAt    map[string]time.Time // duplicate check: touser+content → last sent
}

// NewServer starts a server for corp id and secret; Close stops it.
func NewServer(corpID, secret string, users ...string) *Server {
	s := &Server{CorpID: corpID, Secret: secret, sentAt: map[string]time.Time{}}
	s.Double = cloudtest.NewDouble(cloudtest.DoubleOptions{TokenTTL: 7200 * time.Second, TokenPrefix: "tok",
		Page: "<html><body>upstream error</body></html>", Users: users}, s.serve)
	return s
}

// Set runs f with the server's lock held, to turn its knobs.
func (s *Server) Set(f func(s *Server)) { s.Locked(func() { f(s) }) }

// Records returns the accepted check-in records, in the order accepted.
func (s *Server) Records() (out []Record) {
	s.Locked(func() { out = append(out, s.records...) })
	return out
}

// Messages returns the sent messages, in order.
func (s *Server) Messages() (out []Message) {
	s.Locked(func() { out = append(out, s.messages...) })
	return out
}

func reply(w http.ResponseWriter, code int, msg string, extra map[string]any) {
	m := map[string]any{"errcode": code, "errmsg": msg}
	for k, v := range extra {
		m[k] = v
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(m)
}

// serve answers a request the knobs of the Double left to it, with the
// lock held.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/cgi-bin/gettoken":
		s.gettoken(w, r)
		return
	case "/cgi-bin/checkin/add_checkin_record", "/cgi-bin/message/send":
	default:
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	if code, msg := s.checkToken(r.URL.Query().Get("access_token")); code != 0 {
		reply(w, code, msg, nil)
		return
	}
	switch {
	case s.RateLimit > 0:
		s.RateLimit--
		reply(w, 45009, "api freq out of limit", nil)
		return
	case s.Busy > 0:
		s.Busy--
		reply(w, -1, "system busy", nil)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 2<<20))
	if err != nil {
		reply(w, 47001, "data format error", nil)
		return
	}
	if r.URL.Path == "/cgi-bin/message/send" {
		s.send(w, body)
		return
	}
	s.addCheckin(w, body)
}

func (s *Server) gettoken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case q.Get("corpid") != s.CorpID:
		reply(w, 40013, "invalid corpid", nil)
	case q.Get("corpsecret") != s.Secret:
		reply(w, 40001, "invalid credential", nil)
	default:
		tok := s.Issue()
		reply(w, 0, "ok", map[string]any{"access_token": tok, "expires_in": int(s.TokenTTL / time.Second)})
	}
}

func (s *Server) checkToken(tok string) (int, string) {
	if tok == "" {
		return 41001, "access_token missing"
	}
	exp, ok := s.Expiry(tok)
	switch {
	case !ok:
		return 40014, "invalid access_token"
	case !s.Now().Before(exp):
		return 42001, "access_token expired"
	}
	return 0, ""
}

// known are the fields of a record on page 99647.
var known = map[string]bool{"userid": true, "checkin_time": true, "location_title": true, "location_detail": true,
	"mediaids": true, "notes": true, "device_type": true, "lat": true, "lng": true, "device_detail": true,
	"wifiname": true, "wifimac": true}

func (s *Server) addCheckin(w http.ResponseWriter, body []byte) {
	var req struct {
		Records []map[string]json.RawMessage `json:"records"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		reply(w, 47001, "data format error", nil)
		return
	}
	if len(req.Records) == 0 || len(req.Records) > 200 {
		reply(w, 40058, fmt.Sprintf("invalid parameter: %d records, want 1..200", len(req.Records)), nil)
		return
	}
	var recs []Record
	for i, raw := range req.Records {
		for k := range raw {
			if !known[k] {
				reply(w, 40058, fmt.Sprintf("invalid parameter: records[%d].%s", i, k), nil)
				return
			}
		}
		b, _ := json.Marshal(raw)
		var rec Record
		if err := json.Unmarshal(b, &rec); err != nil {
			reply(w, 40058, fmt.Sprintf("invalid parameter: records[%d]: %v", i, err), nil)
			return
		}
		switch {
		case rec.UserID == "" || rec.CheckinTime <= 0:
			reply(w, 40058, fmt.Sprintf("invalid parameter: records[%d]: userid and checkin_time required", i), nil)
			return
		case !s.Users[rec.UserID]:
			reply(w, 60111, "invalid userid "+rec.UserID, nil)
			return
		case rec.DeviceType < 1 || rec.DeviceType > 3,
			utf8.RuneCountInString(rec.DeviceDetail) > 40,
			utf8.RuneCountInString(rec.LocationTitle) > 1024,
			utf8.RuneCountInString(rec.LocationDetail) > 1024,
			utf8.RuneCountInString(rec.Notes) > 1024,
			len(rec.MediaIDs) > 1:
			reply(w, 40058, fmt.Sprintf("invalid parameter: records[%d]", i), nil)
			return
		}
		recs = append(recs, rec)
	}
	s.records = append(s.records, recs...)
	reply(w, 0, "ok", nil)
}

func (s *Server) send(w http.ResponseWriter, body []byte) {
	var req struct {
		ToUser  string `json:"touser"`
		MsgType string `json:"msgtype"`
		AgentID int    `json:"agentid"`
		Text    struct {
			Content string `json:"content"`
		} `json:"text"`
		EnableDuplicateCheck   int `json:"enable_duplicate_check"`
		DuplicateCheckInterval int `json:"duplicate_check_interval"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		reply(w, 47001, "data format error", nil)
		return
	}
	switch {
	case req.MsgType != "text" || req.Text.Content == "" || req.AgentID == 0:
		reply(w, 40058, "invalid parameter", nil)
		return
	case len(req.Text.Content) > 2048:
		reply(w, 45002, "content size out of limit", nil)
		return
	case !s.Users[req.ToUser]:
		reply(w, 81013, "user & party & tag all invalid", nil)
		return
	}
	if req.EnableDuplicateCheck == 1 {
		iv := time.Duration(req.DuplicateCheckInterval) * time.Second
		if iv == 0 {
			iv = 1800 * time.Second
		}
		key := req.ToUser + "\x00" + req.Text.Content
		if last, ok := s.sentAt[key]; ok && s.Now().Sub(last) < iv {
			reply(w, 0, "ok", map[string]any{"msgid": "dup"})
			return
		}
		s.sentAt[key] = s.Now()
	}
	s.messages = append(s.messages, Message{ToUser: req.ToUser, AgentID: req.AgentID, Content: req.Text.Content})
	reply(w, 0, "ok", map[string]any{"msgid": strconv.Itoa(len(s.messages))})
}
