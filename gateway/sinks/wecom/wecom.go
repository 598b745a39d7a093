package wecom

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/gateway/sinks/internal/cloud"
)

// DefaultBase is WeCom's API root.
const DefaultBase = "https://qyapi.weixin.qq.com"

// MaxRecords is the most records one add_checkin_record call takes
// ("records 打卡记录，一批最多200个", document 99647).
const MaxRecords = 200

// Error codes the sink acts on (global error codes, document 90313).
const (
	codeOK           = 0
	codeBusy         = -1    // 系统繁忙
	codeBadUserID    = 40003 // 无效的UserID
	codeBadToken     = 40014 // 不合法的access_token
	codeBadParam     = 40058 // 不合法的参数
	codeNoToken      = 41001 // 缺少access_token参数
	codeTokenExpired = 42001 // access_token已过期
	codeRateLimit    = 45009 // 接口调用超过限制
	codeNoUser       = 60111 // UserID不存在
)

// Options configure a Sink.
type Options struct {
	CorpID string
	Secret string // corpsecret, read from its file by FromSettings
	cloud.Common

	DeviceType     int    // 1 door, 2 attendance machine (default), 3 other
	DeviceDetail   string // "device brand", ≤ 40 characters; default "officegate"
	LocationTitle  string // ≤ 1024 characters; default: the device id
	LocationDetail string // ≤ 1024 characters; default: the device id

	People cloud.Directory // who a punch's person id or card hash is on WeCom
	Now    func() time.Time
}

// Sink uploads punches to WeCom.
type Sink struct {
	// Immutable.
	o      Options
	client *http.Client
	token  *cloud.Token
}

var _ sinks.BatchSink = (*Sink)(nil)

// New returns a sink; o.CorpID and o.Secret are required.
func New(o Options) (*Sink, error) {
	if o.CorpID == "" || o.Secret == "" {
		return nil, errors.New("wecom: corpid and corpsecret are required")
	}
	o.Common.Defaults(DefaultBase)
	if o.DeviceType == 0 {
		o.DeviceType = 2
	}
	if o.DeviceType < 1 || o.DeviceType > 3 {
		return nil, fmt.Errorf("wecom: device_type %d: want 1 (door), 2 (attendance machine) or 3 (other)", o.DeviceType)
	}
	if o.DeviceDetail == "" {
		o.DeviceDetail = "officegate"
	}
	s := &Sink{o: o, client: o.Common.Client()}
	s.token = &cloud.Token{Fetch: s.fetchToken, Now: o.Now, Early: 5 * time.Minute}
	return s, nil
}

// settingKeys are the keys of a [[sinks]] entry of kind wecom.
var settingKeys = append([]string{"corpid", "corpsecret_file", "device_type", "device_detail",
	"location_title", "location_detail"}, cloud.CommonKeys...)

// FromSettings builds a sink from its configuration (CONFIG.md, kind
// wecom); people is the person directory.
func FromSettings(s sinks.Settings, people cloud.Directory) (*Sink, error) {
	if err := s.Only(settingKeys...); err != nil {
		return nil, err
	}
	var o Options
	app, err := cloud.ParseApp(s, "corpid", "corpsecret_file", DefaultBase)
	if err != nil {
		return nil, fmt.Errorf("wecom: %w", err)
	}
	o.CorpID, o.Secret, o.Common = app.ID, app.Secret, app.Common
	if o.DeviceType, err = cloud.Int(s, "device_type", 2, 1, 3); err != nil {
		return nil, fmt.Errorf("wecom: %w", err)
	}
	if o.DeviceDetail, err = cloud.Text(s, "device_detail", "officegate", 40); err != nil {
		return nil, fmt.Errorf("wecom: %w", err)
	}
	if o.LocationTitle, err = cloud.Text(s, "location_title", "", 1024); err != nil {
		return nil, fmt.Errorf("wecom: %w", err)
	}
	if o.LocationDetail, err = cloud.Text(s, "location_detail", "", 1024); err != nil {
		return nil, fmt.Errorf("wecom: %w", err)
	}
	o.People = people
	return New(o)
}

// reply is WeCom's answer to every call.
type reply struct {
	ErrCode     int    `json:"errcode"`
	ErrMsg      string `json:"errmsg"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
}

func (r *reply) PlatformCode() int { return r.ErrCode }

// Error is a call WeCom answered with a non-zero errcode.
type Error struct {
	Endpoint string
	Code     int
	Msg      string
}

func (e *Error) Error() string {
	return fmt.Sprintf("wecom: %s: errcode %d: %s", e.Endpoint, e.Code, e.Msg)
}

func (s *Sink) fetchToken(ctx context.Context) (string, time.Duration, error) {
	var r reply
	q := url.Values{"corpid": {s.o.CorpID}, "corpsecret": {s.o.Secret}}
	if err := cloud.Call(ctx, s.client, cloud.Request{Method: http.MethodGet, Base: s.o.Base, Path: "/cgi-bin/gettoken", Query: q}, &r); err != nil {
		return "", 0, err
	}
	if r.ErrCode != codeOK {
		return "", 0, &Error{Endpoint: "/cgi-bin/gettoken", Code: r.ErrCode, Msg: clean(r.ErrMsg)}
	}
	return r.AccessToken, time.Duration(r.ExpiresIn) * time.Second, nil
}

// post calls path with the cached token, and once more with a new one if
// WeCom refuses the token.
func (s *Sink) post(ctx context.Context, path string, body any) error {
	return s.token.Do(ctx, func(tok string) (bool, error) {
		var r reply
		err := cloud.Call(ctx, s.client, cloud.Request{Method: http.MethodPost, Base: s.o.Base, Path: path,
			Query: url.Values{"access_token": {tok}}, Body: body}, &r)
		if err != nil {
			return false, err
		}
		if r.ErrCode == codeOK {
			return false, nil
		}
		stale := r.ErrCode == codeBadToken || r.ErrCode == codeTokenExpired || r.ErrCode == codeNoToken
		return stale, &Error{Endpoint: path, Code: r.ErrCode, Msg: clean(r.ErrMsg)}
	})
}

// refused says whether err refuses the records themselves.
func refused(err error) bool {
	var we *Error
	return errors.As(err, &we) && slices.Contains([]int{codeBadUserID, codeBadParam, codeNoUser}, we.Code)
}

// clean keeps an errmsg from quoting anything but WeCom's own words: the
// message can echo a hint URL with the request's id, never a token, but
// a length cap keeps a log line a line.
func clean(msg string) string {
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return msg
}
