package dingtalk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/gateway/sinks/internal/cloud"
)

// DefaultBase is DingTalk's API root.
const DefaultBase = "https://oapi.dingtalk.com"

// Platform is the sink's name for DingTalk in the person directory.
const Platform = "dingtalk"

// Error codes the sink acts on (global error codes, server-api-error-codes-1).
const (
	codeOK           = 0
	codeBusy         = -1    // 系统繁忙
	codeSubCode      = 88    // see sub_code
	codeBadUserID    = 33012 // 无效的USERID
	codeBadParam     = 40035 // 不合法的参数
	codeBadToken     = 40014 // 不合法的access_token
	codeTokenExpired = 42001 // access_token超时
	codeNoUser       = 60121 // 找不到该用户
	codeAllBlocked   = 90002 // 服务器调用所有接口的请求被暂时禁用
	codeCorpPerMin   = 90005 // 企业调用该接口的频率超过每分钟的限制
	codeAppPerMin    = 90006 // 应用调用该接口的频率超过每分钟的限制
	codeAppPerSec    = 90018 // 应用调用该接口的频率超过每秒的限制
)

// Options configure a Sink.
type Options struct {
	AppKey    string
	AppSecret string // read from its file by FromSettings
	cloud.Common

	DeviceName string // device_name; default: the device id

	People cloud.Directory // who a punch's person id or card hash is on DingTalk
	Now    func() time.Time
}

// Sink uploads punches to DingTalk.
type Sink struct {
	// Immutable.
	o      Options
	client *http.Client
	token  *cloud.Token
}

var _ sinks.Sink = (*Sink)(nil)

// New returns a sink; o.AppKey and o.AppSecret are required.
func New(o Options) (*Sink, error) {
	if o.AppKey == "" || o.AppSecret == "" {
		return nil, errors.New("dingtalk: appkey and appsecret are required")
	}
	o.Common.Defaults(DefaultBase)
	s := &Sink{o: o, client: o.Common.Client()}
	s.token = &cloud.Token{Fetch: s.fetchToken, Now: o.Now, Early: 5 * time.Minute}
	return s, nil
}

var settingKeys = append([]string{"appkey", "appsecret_file", "device_name"}, cloud.CommonKeys...)

// FromSettings builds a sink from its configuration (CONFIG.md, kind
// dingtalk); people is the person directory.
func FromSettings(s sinks.Settings, people cloud.Directory) (*Sink, error) {
	if err := s.Only(settingKeys...); err != nil {
		return nil, err
	}
	var o Options
	app, err := cloud.ParseApp(s, "appkey", "appsecret_file", DefaultBase)
	if err != nil {
		return nil, fmt.Errorf("dingtalk: %w", err)
	}
	o.AppKey, o.AppSecret, o.Common = app.ID, app.Secret, app.Common
	if o.DeviceName, err = cloud.Text(s, "device_name", "", 64); err != nil {
		return nil, fmt.Errorf("dingtalk: %w", err)
	}
	o.People = people
	return New(o)
}

// reply is DingTalk's answer: errcode, and for errcode 88 a sub_code (a
// string in the documented example).
type reply struct {
	ErrCode     int    `json:"errcode"`
	ErrMsg      string `json:"errmsg"`
	SubCode     string `json:"sub_code"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
}

func (r *reply) PlatformCode() int { return r.ErrCode }

// code is the error code that says what went wrong: sub_code for 88.
func (r *reply) code() int {
	if r.ErrCode == codeSubCode {
		if n, err := strconv.Atoi(r.SubCode); err == nil {
			return n
		}
	}
	return r.ErrCode
}

// Error is a call DingTalk answered with a non-zero errcode.
type Error struct {
	Endpoint string
	Code     int // errcode, or sub_code for errcode 88
	Msg      string
}

func (e *Error) Error() string {
	return fmt.Sprintf("dingtalk: %s: errcode %d: %s", e.Endpoint, e.Code, e.Msg)
}

func trim(msg string) string {
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return msg
}

func (s *Sink) fetchToken(ctx context.Context) (string, time.Duration, error) {
	var r reply
	q := url.Values{"appkey": {s.o.AppKey}, "appsecret": {s.o.AppSecret}}
	if err := cloud.Call(ctx, s.client, cloud.Request{Method: http.MethodGet, Base: s.o.Base, Path: "/gettoken", Query: q}, &r); err != nil {
		return "", 0, err
	}
	if r.ErrCode != codeOK {
		return "", 0, retryLater(&Error{Endpoint: "/gettoken", Code: r.code(), Msg: trim(r.ErrMsg)})
	}
	return r.AccessToken, time.Duration(r.ExpiresIn) * time.Second, nil
}

// Post calls a topapi endpoint with the cached token, once more with a new
// one if DingTalk refuses the token, and decodes the reply into out (which
// must embed errcode handling through reply).
func (s *Sink) post(ctx context.Context, path string, body any, out *reply) error {
	return s.token.Do(ctx, func(tok string) (bool, error) {
		*out = reply{}
		err := cloud.Call(ctx, s.client, cloud.Request{Method: http.MethodPost, Base: s.o.Base, Path: path,
			Query: url.Values{"access_token": {tok}}, Body: body}, out)
		if err != nil {
			return false, err
		}
		if out.ErrCode == codeOK {
			return false, nil
		}
		c := out.code()
		return c == codeBadToken || c == codeTokenExpired, retryLater(&Error{Endpoint: path, Code: c, Msg: trim(out.ErrMsg)})
	})
}

// retryLater puts the documented rate-limit window on a rate-limited
// call: the per-second limit (90018) reopens within a second, the
// per-minute ones (90005, 90006) and a temporary block (90002) within a
// minute.
func retryLater(e *Error) error {
	switch e.Code {
	case codeAppPerSec:
		return sinks.RetryAfter(e, time.Second)
	case codeCorpPerMin, codeAppPerMin, codeAllBlocked:
		return sinks.RetryAfter(e, time.Minute)
	}
	return e
}

// refused says whether err refuses the record itself.
func refused(err error) bool {
	var de *Error
	return errors.As(err, &de) && slices.Contains([]int{codeBadUserID, codeBadParam, codeNoUser}, de.Code)
}
